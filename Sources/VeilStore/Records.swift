import Foundation
import GRDB
import GRDBSQLite
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

// Hand-written row decoding for the records every alias page and every message reads: Codable
// decoding builds a keyed container per row and was most of a page's CPU time in profiles.
// Each decoder reads its columns in the order of the type's `columns`, so hot queries that select
// exactly those columns are decoded by position, without a name lookup per column.

/// Reads a record's columns from a GRDB row by name (any `SELECT *`), or straight from the SQLite
/// statement by position when the query selected the record's `columns` in order from `offset`.
/// The typed, non-generic reads matter: GRDB's generic decoding looked up Swift type metadata for
/// every value and was half of an alias page's CPU time in profiles.
struct ColumnReader {
    private enum Source {
        case row(Row)
        case statement(SQLiteStatement, offset: Int32)
    }

    private let source: Source
    private var position: Int32 = 0

    init(_ row: Row) {
        source = .row(row)
    }

    init(statement: SQLiteStatement, offset: Int) {
        source = .statement(statement, offset: Int32(offset))
    }

    /// The statement and column index of the next positional read; nil when reading by name.
    private mutating func next(_ name: String) -> (SQLiteStatement, Int32)? {
        defer { position += 1 }
        guard case .statement(let statement, let offset) = source else { return nil }
        let index = offset + position
        assert(sqlite3_column_name(statement, index).map { String(cString: $0) } == name, "column \(index) is not \(name)")
        return (statement, index)
    }

    private var row: Row {
        guard case .row(let row) = source else { preconditionFailure("positional reader has no row") }
        return row
    }

    mutating func int64(_ name: String) -> Int64 {
        guard let (statement, index) = next(name) else { return row[name] }
        return sqlite3_column_int64(statement, index)
    }

    mutating func optionalInt64(_ name: String) -> Int64? {
        guard let (statement, index) = next(name) else { return row[name] }
        return sqlite3_column_type(statement, index) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, index)
    }

    mutating func int(_ name: String) -> Int { Int(int64(name)) }

    mutating func bool(_ name: String) -> Bool { int64(name) != 0 }

    mutating func string(_ name: String) -> String {
        optionalString(name) ?? ""
    }

    mutating func optionalString(_ name: String) -> String? {
        guard let (statement, index) = next(name) else { return row[name] }
        guard sqlite3_column_type(statement, index) != SQLITE_NULL, let text = sqlite3_column_text(statement, index) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    mutating func optionalData(_ name: String) -> Data? {
        guard let (statement, index) = next(name) else { return row[name] }
        guard sqlite3_column_type(statement, index) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    /// A setting stored as its raw value; the schema's CHECK constraints keep other values out.
    mutating func setting<Setting: RawRepresentable>(_ name: String) throws -> Setting where Setting.RawValue == String {
        let raw = string(name)
        guard let value = Setting(rawValue: raw) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(name) holds an unknown value \(raw)")
        }
        return value
    }

    mutating func date(_ name: String) -> Date? {
        optionalInt64(name).map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    mutating func requiredDate(_ name: String) -> Date {
        Date(timeIntervalSince1970: TimeInterval(optionalInt64(name) ?? 0))
    }
}

extension Database {
    /// Runs `body` on each result row of cached `sql`, positioned on the live statement, without
    /// building GRDB rows. The first selected column must never be NULL (an id): stepping uses
    /// GRDB's fast cursor over it.
    func forEachStatementRow(_ sql: String, _ arguments: StatementArguments, _ body: (SQLiteStatement) throws -> Void) throws {
        let statement = try cachedStatement(sql: sql)
        let cursor = try Int64.fetchCursor(statement, arguments: arguments)
        while try cursor.next() != nil {
            try body(statement.sqliteStatement)
        }
    }
}

/// `a.id, a.user_id, …` for a record's columns under a table alias.
func columnList(_ columns: [String], table: String) -> String {
    columns.map { table + "." + $0 }.joined(separator: ", ")
}

extension Alias {
    static let columns = ["id", "user_id", "email", "mailbox_id", "custom_domain_id", "name", "note", "created_at", "enabled",
                          "pinned", "disable_pgp", "automatic_creation", "cannot_be_disabled", "trashed_at", "nb_forward",
                          "nb_block", "nb_reply", "latest_email_log_id", "last_activity_at"]

    public init(row: Row) throws {
        var read = ColumnReader(row)
        self.init(&read)
    }

    init(_ read: inout ColumnReader) {
        let id = read.optionalInt64("id")
        self.init(userId: read.int64("user_id"), email: read.string("email"), mailboxId: read.int64("mailbox_id"),
                  customDomainId: read.optionalInt64("custom_domain_id"), name: read.optionalString("name"),
                  note: read.optionalString("note"), createdAt: read.requiredDate("created_at"))
        self.id = id
        enabled = read.bool("enabled")
        pinned = read.bool("pinned")
        disablePgp = read.bool("disable_pgp")
        automaticCreation = read.bool("automatic_creation")
        cannotBeDisabled = read.bool("cannot_be_disabled")
        trashedAt = read.date("trashed_at")
        nbForward = read.int("nb_forward")
        nbBlock = read.int("nb_block")
        nbReply = read.int("nb_reply")
        latestEmailLogId = read.optionalInt64("latest_email_log_id")
        lastActivityAt = read.date("last_activity_at")
    }
}

extension Mailbox {
    static let columns = ["id", "user_id", "email", "verified", "created_at", "disabled", "admin_disabled", "new_email",
                          "pgp_public_key", "generic_subject", "disabled_at", "bounces_counted_since"]

    public init(row: Row) throws {
        var read = ColumnReader(row)
        self.init(&read)
    }

    init(_ read: inout ColumnReader) {
        let id = read.optionalInt64("id")
        self.init(userId: read.int64("user_id"), email: read.string("email"), verified: read.bool("verified"),
                  createdAt: read.requiredDate("created_at"))
        self.id = id
        disabled = read.bool("disabled")
        adminDisabled = read.bool("admin_disabled")
        newEmail = read.optionalString("new_email")
        pgpPublicKey = read.optionalString("pgp_public_key")
        genericSubject = read.optionalString("generic_subject")
        disabledAt = read.date("disabled_at")
        bouncesCountedSince = read.date("bounces_counted_since")
    }
}

extension EmailLog {
    static let columns = ["id", "user_id", "alias_id", "contact_id", "mailbox_id", "is_reply", "blocked", "message_id", "created_at",
                          "bounced_mailbox_id", "bounced", "auto_replied", "is_spam", "bounce_reason", "veil_message_id"]

    public init(row: Row) throws {
        var read = ColumnReader(row)
        self.init(&read)
    }

    init(_ read: inout ColumnReader) {
        let id = read.optionalInt64("id")
        self.init(userId: read.int64("user_id"), aliasId: read.int64("alias_id"), contactId: read.optionalInt64("contact_id"),
                  mailboxId: read.optionalInt64("mailbox_id"), isReply: read.bool("is_reply"), blocked: read.bool("blocked"),
                  messageId: read.optionalString("message_id"), createdAt: read.requiredDate("created_at"))
        self.id = id
        bouncedMailboxId = read.optionalInt64("bounced_mailbox_id")
        bounced = read.bool("bounced")
        autoReplied = read.bool("auto_replied")
        isSpam = read.bool("is_spam")
        bounceReason = read.optionalString("bounce_reason")
        veilMessageId = read.optionalString("veil_message_id")
    }
}

extension Contact {
    static let columns = ["id", "user_id", "alias_id", "website_email", "name", "reply_email", "created_at", "mail_from",
                          "block_forward", "is_cc", "invalid_email", "last_email_sent_at"]

    public init(row: Row) throws {
        var read = ColumnReader(row)
        self.init(&read)
    }

    init(_ read: inout ColumnReader) {
        let id = read.optionalInt64("id")
        self.init(userId: read.int64("user_id"), aliasId: read.int64("alias_id"), websiteEmail: read.string("website_email"),
                  name: read.optionalString("name"), replyEmail: read.string("reply_email"), createdAt: read.requiredDate("created_at"))
        self.id = id
        mailFrom = read.optionalString("mail_from")
        blockForward = read.bool("block_forward")
        isCc = read.bool("is_cc")
        invalidEmail = read.bool("invalid_email")
        lastEmailSentAt = read.date("last_email_sent_at")
    }
}

extension User {
    /// Every column `init(_:)` reads, in order: hot queries name them so the picture blob stays on disk.
    static let columns = ["id", "email", "name", "password_hash", "activated", "disabled", "is_premium", "trial_end",
                          "old_free_limit", "cannot_create_contacts", "fido_enabled", "delete_on", "default_mailbox_id",
                          "default_custom_domain_id", "alias_generator", "notification", "random_alias_default_domain",
                          "sender_format", "random_alias_suffix", "include_sender_in_reverse_alias", "block_behaviour",
                          "include_website_in_one_click_alias", "is_admin", "created_at"]
    static let selectById = "SELECT \(columns.joined(separator: ", ")) FROM users WHERE id = ?"

    public init(row: Row) throws {
        var read = ColumnReader(row)
        try self.init(&read)
    }

    init(_ read: inout ColumnReader) throws {
        let id = read.optionalInt64("id")
        let email = read.string("email"), name = read.optionalString("name"), passwordHash = read.optionalString("password_hash")
        let activated = read.bool("activated"), disabled = read.bool("disabled"), isPremium = read.bool("is_premium")
        let trialEnd = read.date("trial_end")
        let oldFreeLimit = read.bool("old_free_limit"), cannotCreateContacts = read.bool("cannot_create_contacts")
        let fidoEnabled = read.bool("fido_enabled"), deleteOn = read.date("delete_on")
        let defaultMailboxId = read.optionalInt64("default_mailbox_id")
        let defaultCustomDomainId = read.optionalInt64("default_custom_domain_id")
        let aliasGenerator: AliasGenerator = try read.setting("alias_generator")
        let notification = read.bool("notification")
        let randomAliasDefaultDomain = read.optionalString("random_alias_default_domain")
        let senderFormat: SenderFormat = try read.setting("sender_format")
        let randomAliasSuffix: RandomAliasSuffix = try read.setting("random_alias_suffix")
        let includeSenderInReverseAlias = read.bool("include_sender_in_reverse_alias")
        let blockBehaviour: BlockBehaviour = try read.setting("block_behaviour")
        let includeWebsiteInOneClickAlias = read.bool("include_website_in_one_click_alias")
        let isAdmin = read.bool("is_admin")
        self.init(email: email, name: name, passwordHash: passwordHash, activated: activated, isPremium: isPremium,
                  trialEnd: trialEnd, createdAt: read.requiredDate("created_at"))
        self.id = id
        self.disabled = disabled
        self.oldFreeLimit = oldFreeLimit
        self.cannotCreateContacts = cannotCreateContacts
        self.fidoEnabled = fidoEnabled
        self.deleteOn = deleteOn
        self.defaultMailboxId = defaultMailboxId
        self.defaultCustomDomainId = defaultCustomDomainId
        self.aliasGenerator = aliasGenerator
        self.notification = notification
        self.randomAliasDefaultDomain = randomAliasDefaultDomain
        self.senderFormat = senderFormat
        self.randomAliasSuffix = randomAliasSuffix
        self.includeSenderInReverseAlias = includeSenderInReverseAlias
        self.blockBehaviour = blockBehaviour
        self.includeWebsiteInOneClickAlias = includeWebsiteInOneClickAlias
        self.isAdmin = isAdmin
    }
}

extension ApiKey {
    static let columns = ["id", "user_id", "name", "key_hash", "derivation_salt", "last_used", "times", "sudo_until", "created_at"]
    static let selectByHash = "SELECT \(columns.joined(separator: ", ")) FROM api_keys WHERE key_hash = ?"

    public init(row: Row) throws {
        var read = ColumnReader(row)
        self.init(&read)
    }

    init(_ read: inout ColumnReader) {
        let id = read.optionalInt64("id")
        let userId = read.int64("user_id"), name = read.string("name"), keyHash = read.string("key_hash")
        let salt = read.optionalData("derivation_salt")
        let lastUsed = read.date("last_used"), times = read.int("times"), sudoUntil = read.date("sudo_until")
        self.init(userId: userId, name: name, keyHash: keyHash, derivationSalt: salt, createdAt: read.requiredDate("created_at"))
        self.id = id
        self.lastUsed = lastUsed
        self.times = times
        self.sudoUntil = sudoUntil
    }
}

extension Database {
    /// Rows of raw SQL through the connection's statement cache: compiled (and authorised) once per
    /// connection, then reused. GRDB's query interface compiles a new statement on every call,
    /// which was the largest cost of the API's hot paths in profiles.
    func cachedRows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try Row.fetchAll(cachedStatement(sql: sql), arguments: arguments)
    }

    func cachedValue<Value: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: Value.Type, _ sql: String, _ arguments: StatementArguments = []) throws -> Value? {
        try Value.fetchOne(cachedStatement(sql: sql), arguments: arguments)
    }

    /// The rows of cached `sql` decoded by position from column 0 (the record's `columns`, in order).
    func decodedRows<Record>(_ sql: String, _ arguments: StatementArguments = [],
                             _ decode: (inout ColumnReader) throws -> Record) throws -> [Record] {
        var records: [Record] = []
        try forEachStatementRow(sql, arguments) { statement in
            var read = ColumnReader(statement: statement, offset: 0)
            records.append(try decode(&read))
        }
        return records
    }

    /// The first row of cached `sql` decoded by position; the query selects at most one row.
    func decodedRow<Record>(_ sql: String, _ arguments: StatementArguments = [],
                            _ decode: (inout ColumnReader) throws -> Record) throws -> Record? {
        try decodedRows(sql, arguments, decode).first
    }


    /// `?, ?, …` for an IN list of `count` values (at least one, so the SQL stays valid).
    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: max(count, 1)).joined(separator: ",")
    }
}

// MARK: - Hot statements of the mail path, decoded by position

extension Alias {
    static let selectByEmail = "SELECT \(columns.joined(separator: ", ")) FROM aliases WHERE email = ?"
    static let selectByIdAndUser = "SELECT \(columns.joined(separator: ", ")) FROM aliases WHERE id = ? AND user_id = ?"
    /// Everything but the id and the counters the email-log triggers keep.
    private static let insertedColumns = ["user_id", "email", "mailbox_id", "custom_domain_id", "name", "note", "created_at",
                                          "enabled", "pinned", "disable_pgp", "automatic_creation", "cannot_be_disabled",
                                          "trashed_at", "last_activity_at"]
    private static let insertSQL = """
        INSERT INTO aliases (\(insertedColumns.joined(separator: ", "))) VALUES (\(Database.placeholders(insertedColumns.count)))
        """

    /// Inserts through a cached statement and sets `id`. `last_activity_at` is written here so
    /// the insert trigger that would otherwise fill it has nothing to do.
    mutating func insert(cached db: Database) throws {
        let created = createdAt.unixSeconds, lastActivity = (lastActivityAt ?? createdAt).unixSeconds
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: [
            userId, email, mailboxId, customDomainId, name, note, created, enabled, pinned, disablePgp,
            automaticCreation, cannotBeDisabled, trashedAt?.unixSeconds, lastActivity,
        ])
        id = db.lastInsertedRowID
        // As stored: whole seconds.
        createdAt = Date(timeIntervalSince1970: TimeInterval(created))
        lastActivityAt = Date(timeIntervalSince1970: TimeInterval(lastActivity))
        trashedAt = trashedAt.map { Date(timeIntervalSince1970: TimeInterval($0.unixSeconds)) }
    }
}

extension Mailbox {
    static let selectById = "SELECT \(columns.joined(separator: ", ")) FROM mailboxes WHERE id = ?"
    /// An alias's mailboxes other than its primary one, by address.
    static let selectExtrasOfAlias = """
        SELECT \(columnList(columns, table: "m")) FROM mailboxes m JOIN alias_mailboxes am ON am.mailbox_id = m.id
        WHERE am.alias_id = ? AND m.id != ? ORDER BY m.email
        """
}

extension Contact {
    static let selectByReplyEmail = "SELECT \(columns.joined(separator: ", ")) FROM contacts WHERE reply_email = ?"
    static let selectByAliasAndAddress =
        "SELECT \(columns.joined(separator: ", ")) FROM contacts WHERE alias_id = ? AND website_email = ?"
    private static let insertSQL = """
        INSERT INTO contacts (\(columns.dropFirst().joined(separator: ", ")))
        VALUES (\(Database.placeholders(columns.count - 1)))
        """

    /// Inserts through a cached statement (GRDB's `insert` encodes through Codable and builds its
    /// statement per call) and sets `id`.
    mutating func insert(cached db: Database) throws {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: [
            userId, aliasId, websiteEmail, name, replyEmail, createdAt.unixSeconds, mailFrom, blockForward, isCc,
            invalidEmail, lastEmailSentAt?.unixSeconds,
        ])
        id = db.lastInsertedRowID
        createdAt = Date(timeIntervalSince1970: TimeInterval(createdAt.unixSeconds))  // as stored: whole seconds
    }
}

extension EmailLog {
    private static let insertSQL = """
        INSERT INTO email_logs (\(columns.dropFirst().joined(separator: ", ")))
        VALUES (\(Database.placeholders(columns.count - 1)))
        """

    mutating func insert(cached db: Database) throws {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: [
            userId, aliasId, contactId, mailboxId, isReply, blocked, messageId, createdAt.unixSeconds, bouncedMailboxId,
            bounced, autoReplied, isSpam, bounceReason, veilMessageId,
        ])
        id = db.lastInsertedRowID
        createdAt = Date(timeIntervalSince1970: TimeInterval(createdAt.unixSeconds))  // as stored: whole seconds
    }
}

extension StatementArguments {
    /// Integer arguments. GRDB's `init(_: some Sequence<some DatabaseValueConvertible>)` maps
    /// through a key path that the runtime instantiates (looking types up by mangled name) on
    /// every call: 2 % of an alias creation's CPU.
    init(integers: [Int64]) {
        self.init(integers.map { $0 as (any DatabaseValueConvertible)? })
    }
}
