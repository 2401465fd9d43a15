import Foundation
import GRDB
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
        try pool.read { db in try User.fetchOne(db, key: id) }
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
        try pool.read { db in
            try Mailbox.filter(Column("user_id") == userId).order(Column("id")).fetchAll(db)
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

    /// The key's user, bumping the key's last use and counter. Nil for an unknown key.
    /// The lookup runs on a reader; only the one-statement bump takes the writer.
    public func authenticate(apiKey: String, now: Date = Date()) throws -> (user: User, key: ApiKey)? {
        let digest = ApiKeyRule.hash(apiKey)
        guard let (user, found) = try pool.read({ db -> (User, ApiKey)? in
            guard let key = try ApiKey.filter(Column("key_hash") == digest).fetchOne(db),
                  let user = try User.fetchOne(db, key: key.userId) else { return nil }
            return (user, key)
        }) else { return nil }
        try pool.write { db in
            try db.execute(sql: "UPDATE api_keys SET last_used = ?, times = times + 1 WHERE id = ?", arguments: [now.unixSeconds, found.id])
        }
        var key = found
        key.lastUsed = now
        key.times += 1
        return (user, key)
    }
}
