import Foundation
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

extension UserNotification: VeilRecord {
    public static let databaseTableName = "notifications"
}

// Hand-written row decoding for the records every alias page reads many of: Codable decoding
// builds a keyed container per row and was most of a page's CPU time in profiles.

extension Row {
    fileprivate func date(_ column: String) -> Date? {
        (self[column] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    fileprivate func requiredDate(_ column: String) -> Date {
        Date(timeIntervalSince1970: TimeInterval(self[column] as Int64? ?? 0))
    }
}

extension Alias {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], email: row["email"], mailboxId: row["mailbox_id"],
                  customDomainId: row["custom_domain_id"], name: row["name"], note: row["note"],
                  createdAt: row.requiredDate("created_at"))
        id = row["id"]
        enabled = row["enabled"]
        pinned = row["pinned"]
        disablePgp = row["disable_pgp"]
        automaticCreation = row["automatic_creation"]
        cannotBeDisabled = row["cannot_be_disabled"]
        trashedAt = row.date("trashed_at")
        nbForward = row["nb_forward"]
        nbBlock = row["nb_block"]
        nbReply = row["nb_reply"]
        latestEmailLogId = row["latest_email_log_id"]
        lastActivityAt = row.date("last_activity_at")
    }
}

extension Mailbox {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], email: row["email"], verified: row["verified"], createdAt: row.requiredDate("created_at"))
        id = row["id"]
        disabled = row["disabled"]
        adminDisabled = row["admin_disabled"]
        newEmail = row["new_email"]
        pgpPublicKey = row["pgp_public_key"]
        genericSubject = row["generic_subject"]
    }
}

extension EmailLog {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], aliasId: row["alias_id"], contactId: row["contact_id"], mailboxId: row["mailbox_id"],
                  isReply: row["is_reply"], blocked: row["blocked"], messageId: row["message_id"],
                  createdAt: row.requiredDate("created_at"))
        id = row["id"]
        bouncedMailboxId = row["bounced_mailbox_id"]
        bounced = row["bounced"]
        autoReplied = row["auto_replied"]
        isSpam = row["is_spam"]
        bounceReason = row["bounce_reason"]
        veilMessageId = row["veil_message_id"]
    }
}

extension Contact {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], aliasId: row["alias_id"], websiteEmail: row["website_email"], name: row["name"],
                  replyEmail: row["reply_email"], createdAt: row.requiredDate("created_at"))
        id = row["id"]
        mailFrom = row["mail_from"]
        blockForward = row["block_forward"]
        isCc = row["is_cc"]
        invalidEmail = row["invalid_email"]
        lastEmailSentAt = row.date("last_email_sent_at")
    }
}

extension User {
    /// Every column `init(row:)` reads: hot queries name them so the picture blob stays on disk.
    static let selection = """
        id, email, name, password_hash, activated, disabled, is_premium, trial_end, old_free_limit, cannot_create_contacts,
        fido_enabled, delete_on, default_mailbox_id, default_custom_domain_id, alias_generator, notification,
        random_alias_default_domain, sender_format, random_alias_suffix, include_sender_in_reverse_alias, block_behaviour,
        include_website_in_one_click_alias, created_at
        """
    static let selectById = "SELECT \(selection) FROM users WHERE id = ?"

    public init(row: Row) throws {
        self.init(email: row["email"], name: row["name"], passwordHash: row["password_hash"], activated: row["activated"],
                  isPremium: row["is_premium"], trialEnd: row.date("trial_end"), createdAt: row.requiredDate("created_at"))
        id = row["id"]
        disabled = row["disabled"]
        oldFreeLimit = row["old_free_limit"]
        cannotCreateContacts = row["cannot_create_contacts"]
        fidoEnabled = row["fido_enabled"]
        deleteOn = row.date("delete_on")
        defaultMailboxId = row["default_mailbox_id"]
        defaultCustomDomainId = row["default_custom_domain_id"]
        aliasGenerator = try row.setting("alias_generator")
        notification = row["notification"]
        randomAliasDefaultDomain = row["random_alias_default_domain"]
        senderFormat = try row.setting("sender_format")
        randomAliasSuffix = try row.setting("random_alias_suffix")
        includeSenderInReverseAlias = row["include_sender_in_reverse_alias"]
        blockBehaviour = try row.setting("block_behaviour")
        includeWebsiteInOneClickAlias = row["include_website_in_one_click_alias"]
    }
}

extension ApiKey {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], name: row["name"], keyHash: row["key_hash"], derivationSalt: row["derivation_salt"],
                  createdAt: row.requiredDate("created_at"))
        id = row["id"]
        lastUsed = row.date("last_used")
        times = row["times"]
        sudoUntil = row.date("sudo_until")
    }
}

extension Row {
    /// A setting stored as its raw value; the schema's CHECK constraints keep other values out.
    fileprivate func setting<Setting: RawRepresentable>(_ column: String) throws -> Setting where Setting.RawValue == String {
        let raw: String = self[column]
        guard let value = Setting(rawValue: raw) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(column) holds an unknown value \(raw)")
        }
        return value
    }
}

extension Database {
    /// Rows of raw SQL through the connection's statement cache: compiled (and authorised) once per
    /// connection, then reused. GRDB's query interface compiles a new statement on every call,
    /// which was the largest cost of the API's hot paths in profiles.
    func cachedRows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedRow(_ sql: String, _ arguments: StatementArguments = []) throws -> Row? {
        try Row.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedAll<Record: FetchableRecord>(_ type: Record.Type, _ sql: String, _ arguments: StatementArguments = []) throws -> [Record] {
        try Record.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedOne<Record: FetchableRecord>(_ type: Record.Type, _ sql: String, _ arguments: StatementArguments = []) throws -> Record? {
        try Record.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedValue<Value: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: Value.Type, _ sql: String, _ arguments: StatementArguments = []) throws -> Value? {
        try Value.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    /// `?, ?, …` for an IN list of `count` values (at least one, so the SQL stays valid).
    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: max(count, 1)).joined(separator: ",")
    }
}
