import Foundation
import GRDB
import VeilCore

extension Store {
    /// True when `email` is an alias, a reverse-alias, or a deleted address (which can never be reused).
    public func isAddressTaken(_ email: String) throws -> Bool {
        try hotRead { db in try Self.isAddressTaken(email, db) }
    }

    static func isAddressTaken(_ email: String, _ db: Database) throws -> Bool {
        try db.cachedValue(Bool.self, """
            SELECT EXISTS (SELECT 1 FROM aliases WHERE email = ?1)
                OR EXISTS (SELECT 1 FROM contacts WHERE reply_email = ?1)
                OR EXISTS (SELECT 1 FROM deleted_aliases WHERE email = ?1)
            """, [email]) ?? false
    }

    /// Inserts an alias with its primary mailbox and any extra ones, refusing addresses that exist
    /// or were ever deleted. Concurrent creations of one address never both succeed (UNIQUE).
    @discardableResult
    public func createAlias(userId: Int64, email: String, mailboxIds: [Int64], customDomainId: Int64? = nil,
                            name: String? = nil, note: String? = nil, now: Date = Date()) throws -> Alias {
        try pool.write { db in
            try Self.insertAlias(userId: userId, email: email, mailboxIds: mailboxIds, customDomainId: customDomainId,
                                 name: name, note: note, now: now, db).alias
        }
    }

    /// `createAlias` for callers that create at the same moment (the API under load): their
    /// inserts share one transaction (`GroupCommit`), and the caller's thread never waits for
    /// SQLite's writer. Returns the new alias's view, read in that transaction.
    public func createAliasBatched(userId: Int64, email: String, mailboxIds: [Int64], customDomainId: Int64? = nil,
                                   name: String? = nil, note: String? = nil, now: Date = Date()) async throws -> AliasView {
        try await groupCommit.write { db in
            let (alias, mailboxes) = try Self.insertAlias(userId: userId, email: email, mailboxIds: mailboxIds,
                                                          customDomainId: customDomainId, name: name, note: note, now: now, db)
            return AliasView(created: alias, mailboxes: mailboxes)
        }
    }

    /// Every check throws before the first write, so a refused alias leaves nothing behind (what
    /// `GroupCommit` requires of its writes). Returns the alias and its mailboxes (read for the
    /// ownership check, in no particular order).
    static func insertAlias(userId: Int64, email: String, mailboxIds: [Int64], customDomainId: Int64?, name: String?,
                            note: String?, now: Date, _ db: Database) throws -> (alias: Alias, mailboxes: [Mailbox]) {
        guard let primary = mailboxIds.first else { throw StoreError.invalid("an alias needs a mailbox") }
        if try isAddressTaken(email, db) { throw StoreError.conflict("alias \(email) already exists") }
        let owned = try db.decodedRows("""
            SELECT \(Mailbox.columns.joined(separator: ", ")) FROM mailboxes
            WHERE user_id = ? AND id IN (\(Database.placeholders(mailboxIds.count)))
            """, StatementArguments(integers: [userId] + mailboxIds), Mailbox.init)
        guard owned.count == Set(mailboxIds).count else { throw StoreError.invalid("mailbox not owned by user") }
        var alias = Alias(userId: userId, email: email, mailboxId: primary, customDomainId: customDomainId,
                          name: name, note: note, createdAt: now)
        do {
            try alias.insert(cached: db)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw StoreError.conflict("alias \(email) already exists")
        }
        // Owned mailboxes of a new alias: these inserts cannot conflict.
        for extra in Set(mailboxIds.dropFirst()) where extra != primary {
            try db.cachedStatement(sql: "INSERT INTO alias_mailboxes (alias_id, mailbox_id) VALUES (?, ?)")
                .execute(arguments: [alias.id, extra])
        }
        return (alias, owned)
    }

    /// The alias with this address (case-insensitive), trashed ones included.
    public func alias(email: String) throws -> Alias? {
        try hotRead { db in try db.decodedRow(Alias.selectByEmail, [email], Alias.init) }
    }

    /// The user's alias, or nil when it does not exist or belongs to someone else.
    public func alias(id: Int64, userId: Int64) throws -> Alias? {
        try hotRead { db in try db.decodedRow(Alias.selectByIdAndUser, [id, userId], Alias.init) }
    }

    /// Non-trashed aliases of the user, the number the quota counts.
    public func aliasCount(userId: Int64) throws -> Int {
        try pool.read { db in
            try Alias.filter(Column("user_id") == userId && Column("trashed_at") == nil).fetchCount(db)
        }
    }

    /// Moves the alias to the trash: disabled, never re-creatable. Custom-domain aliases also enter
    /// that domain's trash list.
    @discardableResult
    public func trashAlias(id: Int64, userId: Int64, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            // An alias already in the trash keeps its date: the purge counts from the first deletion.
            guard var alias = try Alias.filter(Column("id") == id && Column("user_id") == userId && Column("trashed_at") == nil)
                .fetchOne(db) else { return false }
            alias.enabled = false
            alias.trashedAt = now
            try alias.update(db, columns: ["enabled", "trashed_at"])
            if let domainId = alias.customDomainId {
                var deleted = DeletedAlias(email: alias.email, userId: userId, customDomainId: domainId,
                                           reason: "trashed", createdAt: now)
                try deleted.insert(db, onConflict: .ignore)
            }
            return true
        }
    }

    /// The user's trash, most recently trashed first.
    public func trashedAliases(userId: Int64, page: Int, pageSize: Int = 20) throws -> [Alias] {
        try pool.read { db in
            try Alias.filter(Column("user_id") == userId && Column("trashed_at") != nil)
                .order(Column("trashed_at").desc, Column("id").desc)
                .limit(pageSize, offset: Store.offset(page: page, size: pageSize)).fetchAll(db)
        }
    }

    public enum RestoreResult: Sendable, Equatable {
        case restored
        case notFound
        case notInTrash
        /// The user's plan allows no more live aliases.
        case overQuota
    }

    /// Takes an alias out of the trash, enabled, with its contacts and logs as they were; it
    /// leaves its custom domain's trash list. `canHave(liveAliases)` is the quota check, made in
    /// the same transaction as the change.
    public func restoreAlias(id: Int64, userId: Int64, canHave: (Int) -> Bool) throws -> RestoreResult {
        try pool.write { db in
            guard var alias = try Alias.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else {
                return .notFound
            }
            guard alias.trashedAt != nil else { return .notInTrash }
            let live = try Alias.filter(Column("user_id") == userId && Column("trashed_at") == nil).fetchCount(db)
            guard canHave(live) else { return .overQuota }
            alias.trashedAt = nil
            alias.enabled = true
            try alias.update(db, columns: ["enabled", "trashed_at"])
            try db.execute(sql: "DELETE FROM deleted_aliases WHERE email = ? AND reason = 'trashed'", arguments: [alias.email])
            return .restored
        }
    }

    /// Deletes for good the aliases trashed before `cutoff` (their addresses stay on the deleted
    /// list), a hundred per transaction. Returns how many.
    @discardableResult
    public func purgeTrashedAliases(trashedBefore cutoff: Date, batch: Int = 100) throws -> Int {
        var total = 0
        while true {
            let purged = try pool.write { db -> Int in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, user_id, email, custom_domain_id FROM aliases WHERE trashed_at IS NOT NULL AND trashed_at < ? LIMIT ?
                    """, arguments: [cutoff.unixSeconds, batch])
                for row in rows {
                    try Self.deleteForGood(id: row["id"], userId: row["user_id"], email: row["email"],
                                           customDomainId: row["custom_domain_id"], now: Date(), db)
                }
                return rows.count
            }
            total += purged
            if purged < batch { return total }
        }
    }

    /// Removes an alias for good: its address joins the deleted list and can never be created
    /// again (catch-all included).
    @discardableResult
    public func deleteAliasPermanently(id: Int64, userId: Int64, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            guard let alias = try Alias.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else {
                return false
            }
            try Self.deleteForGood(id: id, userId: userId, email: alias.email, customDomainId: alias.customDomainId, now: now, db)
            return true
        }
    }

    /// The address joins the deleted list (if it is not there already), then the row goes.
    static func deleteForGood(id: Int64, userId: Int64?, email: String, customDomainId: Int64?, now: Date, _ db: Database) throws {
        var deleted = DeletedAlias(email: email, userId: userId, customDomainId: customDomainId, reason: "deleted", createdAt: now)
        try deleted.insert(db, onConflict: .ignore)
        try db.execute(sql: "DELETE FROM aliases WHERE id = ?", arguments: [id])
    }

    /// All mailboxes an alias forwards to, primary first.
    public func mailboxes(ofAlias alias: Alias) throws -> [Mailbox] {
        guard let aliasId = alias.id else { return [] }
        return try hotRead { db in try Self.mailboxes(ofAlias: aliasId, primary: alias.mailboxId, db) }
    }
}

// MARK: - Contacts and email logs

extension Store {
    /// The contact of `aliasId` for `websiteEmail` (case-insensitive), created with a fresh
    /// reverse-alias on `reverseAliasDomain` when missing. Returns whether it already existed.
    public func findOrCreateContact(alias: Alias, websiteEmail: String, name: String?, reverseAliasDomain: String,
                                    includeSender: Bool, now: Date = Date()) throws -> (contact: Contact, existed: Bool) {
        guard let aliasId = alias.id else { throw StoreError.invalid("alias id missing") }
        return try pool.write { db in
            if var existing = try Contact.filter(Column("alias_id") == aliasId && Column("website_email") == websiteEmail)
                .fetchOne(db) {
                if let name, !name.isEmpty, name != existing.name {
                    existing.name = name
                    try existing.update(db, columns: ["name"])
                }
                return (existing, true)
            }
            guard let reverseAlias = try ReverseAlias.unique(
                senderAddress: websiteEmail, includeSender: includeSender, domain: reverseAliasDomain,
                isTaken: { try Self.isAddressTaken($0, db) })
            else { throw StoreError.conflict("could not generate a unique reverse-alias") }
            var contact = Contact(userId: alias.userId, aliasId: aliasId, websiteEmail: websiteEmail, name: name,
                                  replyEmail: reverseAlias, createdAt: now)
            try contact.insert(db)
            return (contact, false)
        }
    }

    /// The contact whose reverse-alias is `address` (case-insensitive).
    public func contact(reverseAlias address: String) throws -> Contact? {
        try hotRead { db in try db.decodedRow(Contact.selectByReplyEmail, [address], Contact.init) }
    }

    public func contact(aliasId: Int64, websiteEmail: String) throws -> Contact? {
        try hotRead { db in try db.decodedRow(Contact.selectByAliasAndAddress, [aliasId, websiteEmail], Contact.init) }
    }

    @discardableResult
    public func insertEmailLog(_ log: EmailLog) throws -> EmailLog {
        try pool.write { db in
            var log = log
            try log.insert(cached: db)
            return log
        }
    }

    /// The alias's logs, newest first.
    public func emailLogs(aliasId: Int64, userId: Int64, limit: Int, offset: Int) throws -> [EmailLog] {
        try pool.read { db in
            try EmailLog.filter(Column("alias_id") == aliasId && Column("user_id") == userId)
                .order(Column("created_at").desc, Column("id").desc)
                .limit(limit, offset: offset).fetchAll(db)
        }
    }
}
