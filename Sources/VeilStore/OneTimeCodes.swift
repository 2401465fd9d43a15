import Foundation
import GRDB
import VeilCore

/// A stored one-time code as the admin listing shows it (never the code itself).
public struct StoredCode: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var userId: Int64?
    public var mailboxId: Int64?
    public var purpose: CodePurpose
    public var channel: CodeChannel
    public var recipient: String
    public var status: CodeStatus
    public var triesLeft: Int
    public var maxTries: Int
    public var expiresAt: Date?
    public var verifiedAt: Date?
    public var createdAt: Date

    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
}

extension Store {
    func codeHasher() throws -> CodeHasher {
        CodeHasher(secret: try secret(.codePepper))
    }

    /// Creates a code for (user, purpose), canceling any pending one for the same pair, and returns
    /// the code in clear text, to be sent and then forgotten.
    public func issueCode(purpose: CodePurpose, policy: CodePolicy, userId: Int64?, mailboxId: Int64? = nil,
                          channel: CodeChannel = .email, recipient: String, now: Date = Date()) throws -> String {
        let hasher = try codeHasher()
        let code = policy.generate()
        try pool.write { db in
            try db.execute(sql: """
                UPDATE one_time_codes SET status = 'canceled'
                WHERE status = 'pending' AND purpose = ? AND user_id IS ? AND mailbox_id IS ?
                """, arguments: [purpose.rawValue, userId, mailboxId])
            try db.execute(sql: """
                INSERT INTO one_time_codes
                    (user_id, mailbox_id, purpose, channel, recipient, code_hash, status, tries_left, max_tries, expires_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
                """, arguments: [userId, mailboxId, purpose.rawValue, channel.rawValue, recipient,
                                 hasher.hash(policy.normalize(code), purpose: purpose), policy.maxTries, policy.maxTries,
                                 policy.lifetime.map { now.addingTimeInterval($0).unixSeconds }, now.unixSeconds])
        }
        return code
    }

    /// One attempt at the pending code of (user, purpose). Nil when no code is pending.
    public func attemptCode(_ input: String, purpose: CodePurpose, policy: CodePolicy, userId: Int64?,
                            mailboxId: Int64? = nil, now: Date = Date()) throws -> OneTimeCodeState.Outcome? {
        let hasher = try codeHasher()
        return try pool.write { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, code_hash, tries_left, expires_at FROM one_time_codes
                WHERE status = 'pending' AND purpose = ? AND user_id IS ? AND mailbox_id IS ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [purpose.rawValue, userId, mailboxId])
            else { return nil }
            let id: Int64 = row["id"]
            let expiresAt = (row["expires_at"] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) }
            var state = OneTimeCodeState(status: .pending, triesLeft: row["tries_left"], expiresAt: expiresAt)
            let matches = hasher.matches(policy.normalize(input), purpose: purpose, storedHash: row["code_hash"])
            let outcome = state.attempt(matches: matches, now: now)
            try db.execute(sql: """
                UPDATE one_time_codes SET status = ?, tries_left = ?, verified_at = ? WHERE id = ?
                """, arguments: [state.status.rawValue, state.triesLeft, state.status == .verified ? now.unixSeconds : nil, id])
            return outcome
        }
    }

    /// Finds the pending link code equal to `token` (links carry no user id) and marks it verified.
    public func redeemLink(_ token: String, purpose: CodePurpose, now: Date = Date()) throws -> StoredCode? {
        let hasher = try codeHasher()
        let digest = hasher.hash(token, purpose: purpose)
        return try pool.write { db in
            guard var code = try StoredCode.fetchOne(db, sql: """
                SELECT * FROM one_time_codes WHERE code_hash = ? AND purpose = ? AND status = 'pending'
                """, arguments: [digest, purpose.rawValue])
            else { return nil }
            if let expiresAt = code.expiresAt, now >= expiresAt {
                try db.execute(sql: "UPDATE one_time_codes SET status = 'expired' WHERE id = ?", arguments: [code.id])
                return nil
            }
            try db.execute(sql: "UPDATE one_time_codes SET status = 'verified', verified_at = ? WHERE id = ?",
                           arguments: [now.unixSeconds, code.id])
            code.status = .verified
            code.verifiedAt = now
            return code
        }
    }

    /// Codes for the admin listing, newest first.
    public func codes(userId: Int64? = nil, purpose: CodePurpose? = nil, limit: Int = 100) throws -> [StoredCode] {
        try pool.read { db in
            var sql = "SELECT * FROM one_time_codes WHERE 1"
            var arguments: [any DatabaseValueConvertible] = []
            if let userId { sql += " AND user_id = ?"; arguments.append(userId) }
            if let purpose { sql += " AND purpose = ?"; arguments.append(purpose.rawValue) }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments.append(limit)
            return try StoredCode.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
        }
    }
}
