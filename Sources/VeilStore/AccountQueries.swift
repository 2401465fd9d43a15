import Foundation
import GRDB
import VeilCore

extension Store {
    public func updateUser(id: Int64, _ change: (inout User) -> Void) throws -> User? {
        try pool.write { db in
            guard var user = try User.fetchOne(db, key: id) else { return nil }
            change(&user)
            try user.update(db)
            return user
        }
    }

    /// Stores (or removes) the picture and moves `updated_at` forward, which versions its URL.
    public func setProfilePicture(userId: Int64, data: Data?, type: String?, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE users SET profile_picture = ?, profile_picture_type = ?,
                    updated_at = max(coalesce(updated_at, 0) + 1, ?) WHERE id = ?
                """, arguments: [data, type, now.unixSeconds, userId])
        }
    }

    /// The version of the user's picture, without reading the picture; nil when there is none.
    public func profilePictureVersion(userId: Int64) throws -> Int64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT coalesce(updated_at, 0) FROM users WHERE id = ? AND profile_picture IS NOT NULL",
                               arguments: [userId])
        }
    }

    public func profilePicture(userId: Int64) throws -> (data: Data, type: String)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT profile_picture, profile_picture_type FROM users WHERE id = ?",
                                             arguments: [userId]),
                  let data = row["profile_picture"] as Data?, let type = row["profile_picture_type"] as String?
            else { return nil }
            return (data, type)
        }
    }

    /// Marks the key as sudo until `until`.
    public func setSudo(keyId: Int64, until: Date) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE api_keys SET sudo_until = ? WHERE id = ?", arguments: [until.unixSeconds, keyId])
        }
    }

    public func scheduleDeletion(userId: Int64, at date: Date, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET delete_on = ? WHERE id = ?", arguments: [date.unixSeconds, userId])
            try db.execute(sql: "INSERT INTO jobs (name, payload, run_at, created_at) VALUES ('delete_account', ?, ?, ?)",
                           arguments: ["{\"user_id\": \(userId)}", date.unixSeconds, now.unixSeconds])
        }
    }

    public func pendingJobs(named name: String) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT payload FROM jobs WHERE name = ? AND state = 'ready'", arguments: [name])
        }
    }

    /// The key for (user, device) on login: a re-derivable key, so the same device gets the same
    /// string back on the next login while only its digest is stored.
    public func loginKey(userId: Int64, device: String, now: Date = Date()) throws -> String {
        let secret = try self.secret(.apiKeyDerivation)
        return try pool.write { db in
            if let existing = try ApiKey.filter(Column("user_id") == userId && Column("name") == device && Column("derivation_salt") != nil)
                .fetchOne(db), let salt = existing.derivationSalt {
                return ApiKeyRule.derive(secret: secret, salt: salt)
            }
            let salt = Data(SecureRandom.bytes(16))
            let key = ApiKeyRule.derive(secret: secret, salt: salt)
            var record = ApiKey(userId: userId, name: device, keyHash: ApiKeyRule.hash(key), derivationSalt: salt, createdAt: now)
            try record.insert(db)
            return key
        }
    }

    // MARK: Mailboxes

    public func mailbox(id: Int64, userId: Int64) throws -> Mailbox? {
        try pool.read { db in try Mailbox.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) }
    }

    /// True when any user has this address as account or mailbox (or pending mailbox change).
    public func isMailboxAddressUsed(_ email: String) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM mailboxes WHERE email = ?1 OR new_email = ?1)
                    OR EXISTS (SELECT 1 FROM users WHERE email = ?1)
                """, arguments: [email]) ?? false
        }
    }

    public func createMailbox(userId: Int64, email: String, verified: Bool, now: Date = Date()) throws -> Mailbox {
        try pool.write { db in
            var mailbox = Mailbox(userId: userId, email: email, verified: verified, createdAt: now)
            do {
                try mailbox.insert(db)
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StoreError.conflict("Email already used")
            }
            return mailbox
        }
    }

    public func updateMailbox(id: Int64, userId: Int64, _ change: (inout Mailbox) -> Void) throws -> Mailbox? {
        try pool.write { db in
            guard var mailbox = try Mailbox.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else {
                return nil
            }
            change(&mailbox)
            try mailbox.update(db)
            return mailbox
        }
    }

    public func setDefaultMailbox(userId: Int64, mailboxId: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET default_mailbox_id = ? WHERE id = ?", arguments: [mailboxId, userId])
        }
    }

    /// Deletes a mailbox. Aliases whose primary it is move to `transferTo`, or are trashed when nil;
    /// it is removed from the extra mailboxes of the others.
    public func deleteMailbox(id: Int64, userId: Int64, transferTo: Int64?, now: Date = Date()) throws {
        try pool.write { db in
            if let transferTo {
                try db.execute(sql: "UPDATE aliases SET mailbox_id = ? WHERE mailbox_id = ? AND user_id = ?",
                               arguments: [transferTo, id, userId])
                try db.execute(sql: "DELETE FROM alias_mailboxes WHERE mailbox_id = ? AND alias_id IN (SELECT id FROM aliases WHERE mailbox_id = ?)",
                               arguments: [id, transferTo])
            } else {
                // Aliases that keep another mailbox promote it; the others are deleted for good.
                let affected = try Alias.filter(Column("mailbox_id") == id && Column("user_id") == userId).fetchAll(db)
                for alias in affected {
                    if let next = try Int64.fetchOne(db, sql: "SELECT mailbox_id FROM alias_mailboxes WHERE alias_id = ? AND mailbox_id != ? LIMIT 1",
                                                     arguments: [alias.id, id]) {
                        try db.execute(sql: "UPDATE aliases SET mailbox_id = ? WHERE id = ?", arguments: [next, alias.id])
                        try db.execute(sql: "DELETE FROM alias_mailboxes WHERE alias_id = ? AND mailbox_id = ?", arguments: [alias.id, next])
                    } else {
                        try db.execute(sql: "INSERT OR IGNORE INTO deleted_aliases (email, user_id, reason, created_at) VALUES (?, ?, 'mailbox deleted', ?)",
                                       arguments: [alias.email, userId, now.unixSeconds])
                        try db.execute(sql: "DELETE FROM aliases WHERE id = ?", arguments: [alias.id])
                    }
                }
            }
            try db.execute(sql: "DELETE FROM mailboxes WHERE id = ? AND user_id = ?", arguments: [id, userId])
        }
    }
}
