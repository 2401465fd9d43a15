/// The PostgreSQL migrations, in the order they must run: the same names as `SchemaMigrations.all`
/// (a test checks both define the same tables and columns).
public enum PostgresSchemaMigrations {
    public struct Migration: Sendable {
        public let name: String
        public let sql: String
    }

    public static let all: [Migration] = [
        Migration(name: "0001_initial", sql: text(PackageResources._001_initial_sql)),
        Migration(name: "0002_alias_counters", sql: text(PackageResources._002_alias_counters_sql)),
        Migration(name: "0003_mail_indexes", sql: text(PackageResources._003_mail_indexes_sql)),
        Migration(name: "0004_dkim_keys", sql: text(PackageResources._004_dkim_keys_sql)),
        Migration(name: "0005_log_retention_index", sql: text(PackageResources._005_log_retention_index_sql)),
        Migration(name: "0006_mailbox_recovery", sql: text(PackageResources._006_mailbox_recovery_sql)),
        Migration(name: "0007_web_sessions", sql: text(PackageResources._007_web_sessions_sql)),
        Migration(name: "0008_admins", sql: text(PackageResources._008_admins_sql)),
    ]

    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
