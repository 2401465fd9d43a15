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

/// Filters of the admin listing of codes (the shape of `seeds/otp-authentications-list.txt`).
public struct CodeListFilter: Sendable {
    public enum Sort: String, Sendable, CaseIterable {
        case id, status, channel, recipient, createdAt = "created_at", finishedAt = "finished_at"
    }

    public var from: Date
    public var to: Date
    public var ids: [Int64] = []
    public var status: CodeStatus?
    public var channel: CodeChannel?
    public var recipient: String?
    public var offset = 0
    public var limit = 10
    public var sort: Sort = .createdAt
    public var ascending = true

    public init(from: Date, to: Date) {
        self.from = from
        self.to = to
    }
}

/// One code in the listing, with its status as of now (a pending code past its lifetime is expired).
public struct ListedCode: Sendable, Equatable {
    public var code: StoredCode
    public var effectiveStatus: CodeStatus
    public var finishedAt: Date?
}

extension Store {
    public func listCodes(_ filter: CodeListFilter, now: Date = Date()) throws -> (codes: [ListedCode], total: Int) {
        let status = "(CASE WHEN status = 'pending' AND expires_at IS NOT NULL AND expires_at <= \(now.unixSeconds) THEN 'expired' ELSE status END)"
        let finished = "coalesce(verified_at, CASE WHEN \(status) = 'expired' THEN expires_at END)"
        var conditions = ["created_at >= ?", "created_at <= ?"]
        var arguments: [any DatabaseValueConvertible] = [filter.from.unixSeconds, filter.to.unixSeconds]
        if !filter.ids.isEmpty {
            conditions.append("id IN (\(filter.ids.map { _ in "?" }.joined(separator: ",")))")
            arguments += filter.ids.map { $0 as any DatabaseValueConvertible }
        }
        if let wanted = filter.status { conditions.append("\(status) = ?"); arguments.append(wanted.rawValue) }
        if let channel = filter.channel { conditions.append("channel = ?"); arguments.append(channel.rawValue) }
        if let recipient = filter.recipient { conditions.append("recipient = ?"); arguments.append(recipient) }
        let whereClause = conditions.joined(separator: " AND ")
        let order: String
        switch filter.sort {
        case .status: order = status
        case .finishedAt: order = finished
        default: order = filter.sort.rawValue
        }
        let direction = filter.ascending ? "ASC" : "DESC"
        return try pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM one_time_codes WHERE \(whereClause)",
                                         arguments: StatementArguments(arguments)) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT *, \(status) AS effective_status, \(finished) AS finished_at FROM one_time_codes WHERE \(whereClause)
                ORDER BY \(order) \(direction), id \(direction) LIMIT ? OFFSET ?
                """, arguments: StatementArguments(arguments + [filter.limit, filter.offset]))
            let codes = try rows.map { row in
                ListedCode(code: try StoredCode(row: row),
                           effectiveStatus: CodeStatus(rawValue: row["effective_status"]) ?? .pending,
                           finishedAt: (row["finished_at"] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) })
            }
            return (codes, total)
        }
    }
}
