import GRDB
import VeilCore

extension User: VeilRecord {
    public static let databaseTableName = "users"
}

extension ApiKey: VeilRecord {
    public static let databaseTableName = "api_keys"
}

extension Mailbox: VeilRecord {
    public static let databaseTableName = "mailboxes"
}

extension CustomDomain: VeilRecord {
    public static let databaseTableName = "custom_domains"
}

extension Alias: VeilRecord {
    public static let databaseTableName = "aliases"
}

extension Contact: VeilRecord {
    public static let databaseTableName = "contacts"
}

extension EmailLog: VeilRecord {
    public static let databaseTableName = "email_logs"
}

extension DeletedAlias: VeilRecord {
    public static let databaseTableName = "deleted_aliases"
}

extension Notification: VeilRecord {
    public static let databaseTableName = "notifications"
}
