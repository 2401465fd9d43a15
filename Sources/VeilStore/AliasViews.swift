import Foundation
import GRDB
import GRDBSQLite
import VeilCore

/// An alias with what its API object needs and nothing more: its mailboxes (primary first) and
/// its latest activity. The page decodes these few columns instead of whole mailbox, log and
/// contact rows (a mailbox's PGP key, a log's message ids).
public struct AliasView: Sendable, Equatable {
    /// A mailbox as the alias object shows it.
    public struct MailboxRef: Sendable, Equatable {
        public var id: Int64
        public var email: String
        public var hasPGPKey: Bool

        public init(id: Int64, email: String, hasPGPKey: Bool) {
            self.id = id
            self.email = email
            self.hasPGPKey = hasPGPKey
        }

        public init(_ mailbox: Mailbox) {
            self.init(id: mailbox.id ?? 0, email: mailbox.email, hasPGPKey: mailbox.pgpPublicKey != nil)
        }
    }

    /// The latest email log: when, what, and the contact it came from or went to.
    public struct Activity: Sendable, Equatable {
        public var createdAt: Date
        public var action: EmailAction
        public var contact: ContactRef?

        public init(createdAt: Date, action: EmailAction, contact: ContactRef?) {
            self.createdAt = createdAt
            self.action = action
            self.contact = contact
        }
    }

    public struct ContactRef: Sendable, Equatable {
        public var websiteEmail: String
        public var name: String?
        public var replyEmail: String

        public init(websiteEmail: String, name: String?, replyEmail: String) {
            self.websiteEmail = websiteEmail
            self.name = name
            self.replyEmail = replyEmail
        }
    }

    public var alias: Alias
    public var mailboxes: [MailboxRef]
    public var latestActivity: Activity?

    public init(alias: Alias, mailboxes: [MailboxRef], latestActivity: Activity?) {
        self.alias = alias
        self.mailboxes = mailboxes
        self.latestActivity = latestActivity
    }
}

extension AliasView {
    /// A just-created alias: no activity yet; its primary mailbox first, then its other verified
    /// mailboxes by address, as the page's joined query orders them.
    init(created alias: Alias, mailboxes: [Mailbox]) {
        let primary = mailboxes.filter { $0.id == alias.mailboxId }
        let others = mailboxes.filter { $0.id != alias.mailboxId && $0.verified }.sorted { $0.email < $1.email }
        self.init(alias: alias, mailboxes: (primary + others).map(MailboxRef.init), latestActivity: nil)
    }
}

public enum AliasFilter: Sendable {
    case all, pinned, disabled, enabled
}

/// The order of an alias list. `activity` (pinned first, then the latest activity) is the API's.
public enum AliasSort: String, Sendable, CaseIterable {
    case activity, newest, oldest, az = "a-z", za = "z-a"

    var orderBy: String {
        switch self {
        case .activity: return "a.pinned DESC, a.last_activity_at DESC, a.id DESC"
        case .newest: return "a.created_at DESC, a.id DESC"
        case .oldest: return "a.created_at ASC, a.id ASC"
        case .az: return "lower(a.email) ASC, a.id ASC"
        case .za: return "lower(a.email) DESC, a.id DESC"
        }
    }
}

extension Store {
    /// The first row of page `page` (0-based). A page past any table (a client's huge `page_id`)
    /// is an offset past the end, never an overflow trap.
    static func offset(page: Int, size: Int) -> Int {
        let (offset, overflow) = max(0, page).multipliedReportingOverflow(by: size)
        return overflow ? Int(Int64.max) : offset
    }
}

extension Store {
    public static let pageSize = 20

    /// One page of the user's non-trashed aliases in SimpleLogin's order: pinned first, then most
    /// recent activity (or creation). Cost depends on the page, not on the number of aliases or logs.
    public func aliasPage(userId: Int64, page: Int, filter: AliasFilter, query: String?, sort: AliasSort = .activity) throws -> [AliasView] {
        var conditions = "a.user_id = ? AND a.trashed_at IS NULL"
        var arguments: StatementArguments = [userId]
        switch filter {
        case .all: break
        case .pinned: conditions += " AND a.pinned = 1"
        case .disabled: conditions += " AND a.enabled = 0"
        case .enabled: conditions += " AND a.enabled = 1"
        }
        if let query, !query.isEmpty {
            let pattern = "%" + query.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            conditions += " AND (lower(a.email) LIKE ? ESCAPE '\\' OR lower(coalesce(a.note, '')) LIKE ? ESCAPE '\\' OR lower(coalesce(a.name, '')) LIKE ? ESCAPE '\\')"
            arguments += [pattern, pattern, pattern]
        }
        arguments += [Self.pageSize, Store.offset(page: page, size: Self.pageSize)]
        // A handful of distinct SQL texts (filter × search × sort), each compiled once per connection.
        let sql = Self.viewSelection + " WHERE \(conditions) ORDER BY \(sort.orderBy) LIMIT ? OFFSET ?"
        // One statement carries the page (its own snapshot); the extra mailboxes read after it need
        // no shared snapshot, so no BEGIN/COMMIT around them.
        return try hotRead { db in try Self.joinedViews(db, sql, arguments) }
    }

    /// An alias with its primary mailbox, latest log and that log's contact in one row — only the
    /// columns `AliasView` keeps — and whether it has other mailboxes. The page's conditions refer
    /// to the alias as `a`.
    private static let viewSelection = """
        SELECT \(columnList(Alias.columns, table: "a")),
               m.id, m.email, m.pgp_public_key IS NOT NULL AS has_pgp_key,
               l.created_at, l.is_reply, l.bounced, l.blocked,
               c.website_email, c.name, c.reply_email,
               EXISTS (SELECT 1 FROM alias_mailboxes am WHERE am.alias_id = a.id) AS has_extras
        FROM aliases a
        LEFT JOIN mailboxes m ON m.id = a.mailbox_id
        LEFT JOIN email_logs l ON l.id = a.latest_email_log_id
        LEFT JOIN contacts c ON c.id = l.contact_id
        """

    /// Decodes `viewSelection` rows by position; a second query reads the other mailboxes of the
    /// aliases that have some.
    private static func joinedViews(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> [AliasView] {
        let mailboxAt = Alias.columns.count
        let logAt = mailboxAt + 3
        let contactAt = logAt + 4
        let extrasAt = contactAt + 3
        var views: [AliasView] = []
        var withExtras: [Int64] = []
        try db.forEachStatementRow(sql, arguments) { statement in
            var read = ColumnReader(statement: statement, offset: 0)
            let alias = Alias(&read)
            var mailboxes: [AliasView.MailboxRef] = []
            if sqlite3_column_type(statement, Int32(mailboxAt)) != SQLITE_NULL {
                read = ColumnReader(statement: statement, offset: mailboxAt)
                mailboxes.append(AliasView.MailboxRef(id: read.int64("id"), email: read.string("email"), hasPGPKey: read.bool("has_pgp_key")))
            }
            var activity: AliasView.Activity?
            if sqlite3_column_type(statement, Int32(logAt)) != SQLITE_NULL {
                read = ColumnReader(statement: statement, offset: logAt)
                let createdAt = read.requiredDate("created_at")
                let action = EmailAction(isReply: read.bool("is_reply"), bounced: read.bool("bounced"), blocked: read.bool("blocked"))
                var contact: AliasView.ContactRef?
                if sqlite3_column_type(statement, Int32(contactAt)) != SQLITE_NULL {
                    contact = AliasView.ContactRef(websiteEmail: read.string("website_email"), name: read.optionalString("name"),
                                                   replyEmail: read.string("reply_email"))
                }
                activity = AliasView.Activity(createdAt: createdAt, action: action, contact: contact)
            }
            if sqlite3_column_int64(statement, Int32(extrasAt)) != 0, let id = alias.id { withExtras.append(id) }
            views.append(AliasView(alias: alias, mailboxes: mailboxes, latestActivity: activity))
        }
        guard !withExtras.isEmpty else { return views }
        let extras = try db.cachedRows("""
            SELECT am.alias_id AS owner, m.id, m.email, m.pgp_public_key IS NOT NULL AS has_pgp_key
            FROM alias_mailboxes am JOIN mailboxes m ON m.id = am.mailbox_id
            WHERE am.alias_id IN (\(Database.placeholders(withExtras.count))) AND m.verified = 1 ORDER BY m.email
            """, StatementArguments(integers: withExtras))
        var extrasByAlias: [Int64: [AliasView.MailboxRef]] = [:]
        for row in extras {
            extrasByAlias[row["owner"], default: []].append(AliasView.MailboxRef(id: row["id"], email: row["email"], hasPGPKey: row["has_pgp_key"]))
        }
        return views.map { view in
            guard let others = extrasByAlias[view.alias.id ?? 0] else { return view }
            var view = view
            view.mailboxes += others.filter { $0.id != view.alias.mailboxId }
            return view
        }
    }

    /// v1 listing: newest first, no pinning.
    public func aliasPageV1(userId: Int64, page: Int, query: String?) throws -> [Alias] {
        try pool.read { db in
            var request = Alias.filter(Column("user_id") == userId && Column("trashed_at") == nil)
            if let query, !query.isEmpty {
                request = request.filter(sql: "instr(lower(email), ?) > 0 OR instr(lower(coalesce(note, '')), ?) > 0",
                                         arguments: [query.lowercased(), query.lowercased()])
            }
            return try request.order(Column("created_at").desc, Column("id").desc)
                .limit(Self.pageSize, offset: Store.offset(page: page, size: Self.pageSize)).fetchAll(db)
        }
    }

    public func aliasView(id: Int64, userId: Int64) throws -> AliasView? {
        try hotRead { db in
            try Self.joinedViews(db, Self.viewSelection + " WHERE a.id = ? AND a.user_id = ? AND a.trashed_at IS NULL", [id, userId]).first
        }
    }

    /// True when an alias with this id exists and is not in its owner's trash.
    public func aliasExists(id: Int64) throws -> Bool {
        try pool.read { db in try Alias.filter(Column("id") == id && Column("trashed_at") == nil).fetchCount(db) > 0 }
    }

    /// Applies `change` to the user's alias; false when it is not theirs.
    @discardableResult
    public func updateAlias(id: Int64, userId: Int64, _ change: (inout Alias) -> Void) throws -> Alias? {
        try pool.write { db in
            guard var alias = try Alias.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else {
                return nil
            }
            change(&alias)
            try alias.update(db)
            return alias
        }
    }

    /// Replaces the alias's mailboxes: the first becomes primary. Every id must be a verified
    /// mailbox of the user.
    public func setAliasMailboxes(aliasId: Int64, userId: Int64, mailboxIds: [Int64]) throws -> Bool {
        guard let primary = mailboxIds.first else { return false }
        return try pool.write { db in
            guard try Alias.filter(Column("id") == aliasId && Column("user_id") == userId).fetchCount(db) == 1 else {
                return false
            }
            let unique = Array(Set(mailboxIds))
            let valid = try Mailbox.filter(unique.contains(Column("id")) && Column("user_id") == userId && Column("verified") == true)
                .fetchCount(db)
            guard valid == unique.count else { return false }
            try db.execute(sql: "UPDATE aliases SET mailbox_id = ? WHERE id = ?", arguments: [primary, aliasId])
            try db.execute(sql: "DELETE FROM alias_mailboxes WHERE alias_id = ?", arguments: [aliasId])
            for extra in unique where extra != primary {
                try db.execute(sql: "INSERT INTO alias_mailboxes (alias_id, mailbox_id) VALUES (?, ?)", arguments: [aliasId, extra])
            }
            return true
        }
    }

    /// A verified mailbox of the user.
    public func verifiedMailbox(id: Int64, userId: Int64) throws -> Mailbox? {
        try pool.read { db in
            try Mailbox.filter(Column("id") == id && Column("user_id") == userId && Column("verified") == true).fetchOne(db)
        }
    }

    /// The alias's logs with their contacts, newest first.
    public func activities(aliasId: Int64, page: Int) throws -> [(EmailLog, Contact?)] {
        // One statement with its contacts joined (it read each log's contact with its own query).
        let contactAt = EmailLog.columns.count
        let sql = """
            SELECT \(columnList(EmailLog.columns, table: "l")), \(columnList(Contact.columns, table: "c"))
            FROM email_logs l LEFT JOIN contacts c ON c.id = l.contact_id
            WHERE l.alias_id = ? ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?
            """
        return try hotRead { db in
            var rows: [(EmailLog, Contact?)] = []
            try db.forEachStatementRow(sql, [aliasId, Self.pageSize, Store.offset(page: page, size: Self.pageSize)]) { statement in
                var read = ColumnReader(statement: statement, offset: 0)
                let log = EmailLog(&read)
                var contact: Contact?
                if sqlite3_column_type(statement, Int32(contactAt)) != SQLITE_NULL {
                    read = ColumnReader(statement: statement, offset: contactAt)
                    contact = Contact(&read)
                }
                rows.append((log, contact))
            }
            return rows
        }
    }

    public func contactPage(aliasId: Int64, page: Int) throws -> [Contact] {
        try pool.read { db in
            try Contact.filter(Column("alias_id") == aliasId).order(Column("id").desc)
                .limit(Self.pageSize, offset: Store.offset(page: page, size: Self.pageSize)).fetchAll(db)
        }
    }

    /// The user's contact (through the alias it belongs to), or nil.
    public func contact(id: Int64, userId: Int64) throws -> Contact? {
        try pool.read { db in try Contact.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) }
    }

    @discardableResult
    public func deleteContact(id: Int64, userId: Int64) throws -> Bool {
        try pool.write { db in
            try Contact.filter(Column("id") == id && Column("user_id") == userId)
                .filter(sql: "alias_id IN (SELECT id FROM aliases WHERE trashed_at IS NULL)").deleteAll(db) > 0
        }
    }

    public func toggleContactBlock(id: Int64, userId: Int64) throws -> Bool? {
        try pool.write { db in
            guard var contact = try Contact.filter(Column("id") == id && Column("user_id") == userId)
                .filter(sql: "alias_id IN (SELECT id FROM aliases WHERE trashed_at IS NULL)").fetchOne(db) else {
                return nil
            }
            contact.blockForward.toggle()
            try contact.update(db, columns: ["block_forward"])
            return contact.blockForward
        }
    }

    // MARK: Hostnames

    public func recordHostname(_ hostname: String, aliasId: Int64, userId: Int64, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO alias_hostnames (user_id, alias_id, hostname, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (alias_id, hostname) DO UPDATE SET created_at = excluded.created_at
                """, arguments: [userId, aliasId, hostname, now.unixSeconds])
        }
    }

    /// The user's non-trashed alias most recently used on exactly this hostname.
    public func aliasUsed(onHostname hostname: String, userId: Int64) throws -> Alias? {
        try pool.read { db in
            try Alias.fetchOne(db, sql: """
                SELECT a.* FROM alias_hostnames h JOIN aliases a ON a.id = h.alias_id
                WHERE h.user_id = ? AND h.hostname = ? AND a.trashed_at IS NULL
                ORDER BY h.created_at DESC, h.id DESC LIMIT 1
                """, arguments: [userId, hostname])
        }
    }

    public func hostnames(aliasId: Int64) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT hostname FROM alias_hostnames WHERE alias_id = ? ORDER BY id", arguments: [aliasId])
        }
    }

    // MARK: Mailboxes and stats

    /// The user's mailboxes with how many aliases use each (primary or extra).
    public func mailboxesWithAliasCounts(userId: Int64, verifiedOnly: Bool) throws -> [(Mailbox, Int)] {
        try pool.read { db in
            var request = Mailbox.filter(Column("user_id") == userId)
            if verifiedOnly { request = request.filter(Column("verified") == true) }
            return try request.order(Column("id")).fetchAll(db).map { mailbox in
                let count = try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM aliases a WHERE a.trashed_at IS NULL AND (a.mailbox_id = ?1
                        OR EXISTS (SELECT 1 FROM alias_mailboxes am WHERE am.alias_id = a.id AND am.mailbox_id = ?1))
                    """, arguments: [mailbox.id]) ?? 0
                return (mailbox, count)
            }
        }
    }

    /// `nb_alias` and the user-wide forward/reply/block counts (bounces excluded).
    public func stats(userId: Int64) throws -> (aliases: Int, forward: Int, reply: Int, block: Int) {
        try pool.read { db in
            let aliases = try Alias.filter(Column("user_id") == userId && Column("trashed_at") == nil).fetchCount(db)
            let row = try Row.fetchOne(db, sql: """
                SELECT coalesce(sum(is_reply = 0 AND blocked = 0), 0) AS forward,
                       coalesce(sum(is_reply = 1 AND blocked = 0), 0) AS reply,
                       coalesce(sum(is_reply = 0 AND blocked = 1), 0) AS block
                FROM email_logs WHERE user_id = ? AND bounced = 0
                """, arguments: [userId])
            return (aliases, row?["forward"] ?? 0, row?["reply"] ?? 0, row?["block"] ?? 0)
        }
    }

    /// Verified custom domains of the user.
    public func verifiedCustomDomains(userId: Int64) throws -> [CustomDomain] {
        try hotRead { db in
            try CustomDomain.fetchAll(db.cachedStatement(sql: "SELECT * FROM custom_domains WHERE user_id = ? AND verified = 1 ORDER BY id"),
                                      arguments: [userId])
        }
    }

    public func customDomain(named domain: String) throws -> CustomDomain? {
        try pool.read { db in try CustomDomain.filter(Column("domain") == domain).fetchOne(db) }
    }

    public func customDomainMailboxIds(domainId: Int64) throws -> [Int64] {
        try pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT mailbox_id FROM custom_domain_mailboxes WHERE custom_domain_id = ? ORDER BY mailbox_id",
                               arguments: [domainId])
        }
    }

    @discardableResult
    public func insertCustomDomain(_ domain: CustomDomain) throws -> CustomDomain {
        try inserted(domain)
    }
}
