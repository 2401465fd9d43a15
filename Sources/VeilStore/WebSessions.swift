import Foundation
import GRDB
import VeilCore

/// A dashboard session as the pages see it: whose it is and the token its forms must echo.
public struct WebSession: Sendable, Equatable {
    public var id: Int64
    public var userId: Int64
    public var csrfToken: String
    public var createdAt: Date
    public var expiresAt: Date
    public var sudoUntil: Date?
}

/// An API key as its listing shows it (never the key itself).
public struct ApiKeySummary: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var createdAt: Date
    public var lastUsed: Date?
    public var times: Int
}

extension Store {
    /// Idle sessions end after this long; each use moves the end.
    public static let webSessionLifetime: TimeInterval = 14 * 86_400
    /// `GET /api/user/cookie_token` tokens are good for this long, once.
    public static let webLoginTokenLifetime: TimeInterval = 300

    private static func digest(_ token: String) -> String { ApiKeyRule.hash(token) }

    /// Opens a session and returns the cookie's token (kept only as a digest). Expired sessions of
    /// every user go at the same time: logins are rare enough to carry that cleanup.
    public func createWebSession(userId: Int64, userAgent: String?, now: Date = Date()) throws -> (token: String, session: WebSession) {
        let token = SecureRandom.string(length: 43, alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
        let csrf = SecureRandom.string(length: 32, alphabet: SecureRandom.lowercaseAlphanumerics)
        let expires = now.addingTimeInterval(Self.webSessionLifetime)
        let id = try pool.write { db -> Int64 in
            try db.execute(sql: "DELETE FROM web_sessions WHERE expires_at <= ?", arguments: [now.unixSeconds])
            try db.execute(sql: """
                INSERT INTO web_sessions (token_hash, user_id, csrf_token, user_agent, created_at, last_seen, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Self.digest(token), userId, csrf, userAgent.map { String($0.prefix(200)) },
                                 now.unixSeconds, now.unixSeconds, expires.unixSeconds])
            return db.lastInsertedRowID
        }
        return (token, WebSession(id: id, userId: userId, csrfToken: csrf, createdAt: now, expiresAt: expires, sudoUntil: nil))
    }

    /// The live session of a cookie's token. Moves its end forward when the last move is over a
    /// minute old, so a page view is a read, not a write.
    public func webSession(token: String, now: Date = Date()) throws -> WebSession? {
        guard !token.isEmpty, token.count <= 100 else { return nil }
        // Every page view asks: a point lookup through a cached statement, outside a transaction.
        let found = try hotRead { db in
            try db.cachedRows("""
                SELECT id, user_id, csrf_token, created_at, last_seen, expires_at, sudo_until
                FROM web_sessions WHERE token_hash = ? AND expires_at > ?
                """, [Self.digest(token), now.unixSeconds]).first
        }
        guard let row = found else { return nil }
        var session = WebSession(id: row["id"], userId: row["user_id"], csrfToken: row["csrf_token"],
                                 createdAt: Date(timeIntervalSince1970: TimeInterval(row["created_at"] as Int64)),
                                 expiresAt: Date(timeIntervalSince1970: TimeInterval(row["expires_at"] as Int64)),
                                 sudoUntil: (row["sudo_until"] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) })
        let lastSeen: Int64 = row["last_seen"]
        if now.unixSeconds - lastSeen >= 60 {
            let expires = now.addingTimeInterval(Self.webSessionLifetime)
            try pool.write { db in
                try db.execute(sql: "UPDATE web_sessions SET last_seen = ?, expires_at = ? WHERE id = ?",
                               arguments: [now.unixSeconds, expires.unixSeconds, session.id])
            }
            session.expiresAt = expires
        }
        return session
    }

    public func deleteWebSession(id: Int64) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM web_sessions WHERE id = ?", arguments: [id]) }
    }

    /// "Log out everywhere": every session of the user but `keeping`.
    public func deleteWebSessions(userId: Int64, keeping: Int64? = nil) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM web_sessions WHERE user_id = ? AND id IS NOT ?", arguments: [userId, keeping])
        }
    }

    public func setWebSudo(sessionId: Int64, until: Date) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE web_sessions SET sudo_until = ? WHERE id = ?", arguments: [until.unixSeconds, sessionId])
        }
    }

    /// A one-use token that opens a session for this user within `webLoginTokenLifetime`.
    public func createWebLoginToken(userId: Int64, now: Date = Date()) throws -> String {
        let token = SecureRandom.string(length: 32, alphabet: SecureRandom.lowercaseAlphanumerics)
        try pool.write { db in
            try db.execute(sql: "DELETE FROM web_login_tokens WHERE expires_at <= ?", arguments: [now.unixSeconds])
            try db.execute(sql: "INSERT INTO web_login_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                           arguments: [Self.digest(token), userId, now.addingTimeInterval(Self.webLoginTokenLifetime).unixSeconds])
        }
        return token
    }

    /// The user of a login token, which is used up by this call; nil when unknown or expired.
    public func redeemWebLoginToken(_ token: String, now: Date = Date()) throws -> Int64? {
        guard !token.isEmpty, token.count <= 100 else { return nil }
        return try pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, user_id, expires_at FROM web_login_tokens WHERE token_hash = ?",
                                             arguments: [Self.digest(token)])
            else { return nil }
            try db.execute(sql: "DELETE FROM web_login_tokens WHERE id = ?", arguments: [row["id"] as Int64])
            return (row["expires_at"] as Int64) > now.unixSeconds ? row["user_id"] : nil
        }
    }

    /// The user's API keys, newest first, without their digests.
    public func apiKeys(userId: Int64) throws -> [ApiKeySummary] {
        try flushKeyUsage()
        return try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, created_at, last_used, times FROM api_keys WHERE user_id = ? ORDER BY id DESC",
                             arguments: [userId]).map { row in
                ApiKeySummary(id: row["id"], name: row["name"],
                              createdAt: Date(timeIntervalSince1970: TimeInterval(row["created_at"] as Int64)),
                              lastUsed: (row["last_used"] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) },
                              times: row["times"])
            }
        }
    }

    /// Revokes one of the user's keys; false when it is not theirs.
    @discardableResult
    public func deleteApiKey(id: Int64, userId: Int64) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM api_keys WHERE id = ? AND user_id = ?", arguments: [id, userId])
            return db.changesCount > 0
        }
    }
}
