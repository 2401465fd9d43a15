import Foundation
import GRDB
import Synchronization
import VeilCore

/// A user with the numbers an admin listing shows.
public struct UserSummary: Sendable, Equatable {
    public var user: User
    public var aliasCount: Int
    public var mailboxCount: Int
}

extension Store {
    /// Creates a user and its default mailbox (the account address, verified when the account is
    /// activated) in one transaction.
    public func createUser(email: String, name: String?, passwordHash: String?, activated: Bool,
                           isPremium: Bool, trialEnd: Date? = nil, now: Date = Date()) throws -> User {
        try pool.write { db in
            if try User.filter(Column("email") == email).fetchCount(db) > 0 {
                throw StoreError.conflict("a user with email \(email) already exists")
            }
            var user = User(email: email, name: name, passwordHash: passwordHash, activated: activated,
                            isPremium: isPremium, trialEnd: trialEnd, createdAt: now)
            try user.insert(db)
            guard let userId = user.id else { throw StoreError.invalid("user id missing after insert") }
            var mailbox = Mailbox(userId: userId, email: email, verified: activated, createdAt: now)
            try mailbox.insert(db)
            user.defaultMailboxId = mailbox.id
            try user.update(db, columns: ["default_mailbox_id"])
            return user
        }
    }

    public func user(id: Int64) throws -> User? {
        try hotRead { db in try db.decodedRow(User.selectById, [id], User.init) }
    }

    public func user(email: String) throws -> User? {
        try pool.read { db in try User.filter(Column("email") == email).fetchOne(db) }
    }

    /// Every user with alias and mailbox counts, oldest first.
    public func listUsers() throws -> [UserSummary] {
        try pool.read { db in
            let users = try User.order(Column("id")).fetchAll(db)
            return try users.map { user in
                let aliases = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM aliases WHERE user_id = ? AND trashed_at IS NULL",
                    arguments: [user.id]) ?? 0
                let mailboxes = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM mailboxes WHERE user_id = ?", arguments: [user.id]) ?? 0
                return UserSummary(user: user, aliasCount: aliases, mailboxCount: mailboxes)
            }
        }
    }

    /// Deletes the user and everything they own. Their alias addresses go to the global
    /// deleted-alias list so nobody can ever take them over.
    @discardableResult
    public func deleteUser(email: String, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            guard let user = try User.filter(Column("email") == email).fetchOne(db), let userId = user.id else {
                return false
            }
            try db.execute(sql: """
                INSERT OR IGNORE INTO deleted_aliases (email, user_id, custom_domain_id, reason, created_at)
                SELECT email, NULL, NULL, 'account deleted', ? FROM aliases WHERE user_id = ?
                """, arguments: [now.unixSeconds, userId])
            // Aliases point at mailboxes without cascade: remove them first.
            try db.execute(sql: "DELETE FROM aliases WHERE user_id = ?", arguments: [userId])
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [userId])
            return true
        }
    }

    @discardableResult
    public func setPremium(email: String, _ premium: Bool) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET is_premium = ? WHERE email = ?", arguments: [premium, email])
            return db.changesCount > 0
        }
    }

    public func mailboxes(userId: Int64) throws -> [Mailbox] {
        try hotRead { db in
            try db.decodedRows("SELECT \(Mailbox.columns.joined(separator: ", ")) FROM mailboxes WHERE user_id = ? ORDER BY id",
                               [userId], Mailbox.init)
        }
    }
}

// MARK: - API keys

extension Store {
    /// Stores a new random key for the user and returns it; only its digest is kept.
    public func createApiKey(userId: Int64, name: String, now: Date = Date()) throws -> String {
        let key = ApiKeyRule.generate()
        try pool.write { db in
            var record = ApiKey(userId: userId, name: name, keyHash: ApiKeyRule.hash(key), createdAt: now)
            try record.insert(db)
        }
        return key
    }

    /// The key's user, counting the use. Nil for an unknown key.
    /// Only reads: the `last_used`/`times` bumps are gathered in memory and written together by
    /// `flushKeyUsage`, which `veil api` calls every second off the event loops (and at shutdown),
    /// so authenticating never waits for the writer. Past 10,000 keys waiting, this call writes them.
    public func authenticate(apiKey: String, now: Date = Date()) throws -> (user: User, key: ApiKey)? {
        let digest = ApiKeyRule.hash(apiKey)
        // Two point lookups that need no snapshot between them: no BEGIN/COMMIT around them.
        guard let (user, found) = try hotRead({ db -> (User, ApiKey)? in
            guard let key = try db.decodedRow(ApiKey.selectByHash, [digest], ApiKey.init),
                  let user = try db.decodedRow(User.selectById, [key.userId], User.init)
            else { return nil }
            return (user, key)
        }), let keyId = found.id else { return nil }
        let (pendingUses, due) = keyUsage.record(keyId: keyId, at: now.unixSeconds)
        if due { try flushKeyUsage() }
        var key = found
        key.lastUsed = now
        key.times += pendingUses
        return (user, key)
    }

    /// Writes the gathered key uses in one transaction.
    public func flushKeyUsage() throws {
        let pending = keyUsage.take()
        guard !pending.isEmpty else { return }
        try pool.write { db in
            for (id, use) in pending {
                try db.execute(sql: "UPDATE api_keys SET last_used = max(coalesce(last_used, 0), ?), times = times + ? WHERE id = ?",
                               arguments: [use.last, use.count, id])
            }
        }
    }
}

/// API key uses not yet written: key id → (latest use, uses).
final class KeyUsageBuffer: Sendable {
    private let state = Mutex<[Int64: (last: Int64, count: Int)]>([:])

    /// Records a use; returns the uses of that key not yet written (this one included) and whether
    /// so many keys wait that the caller should write them now.
    func record(keyId: Int64, at time: Int64) -> (pending: Int, due: Bool) {
        state.withLock { state in
            let current = state[keyId] ?? (0, 0)
            state[keyId] = (max(current.last, time), current.count + 1)
            return (current.count + 1, state.count > 10_000)
        }
    }

    func take() -> [Int64: (last: Int64, count: Int)] {
        state.withLock { state in
            defer { state = [:] }
            return state
        }
    }
}
