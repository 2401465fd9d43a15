import Foundation
import GRDB
import VeilCore

/// What the admin pages show of the instance since a moment (today, by default).
public struct InstanceFigures: Sendable, Equatable {
    public var forwarded = 0
    public var replied = 0
    public var blocked = 0
    public var bounced = 0
    public var spam = 0
    /// Outbound copies waiting for the relay.
    public var queued = 0
    public var users = 0
    public var aliases = 0
}

extension Store {
    /// A page of users, newest first, optionally those whose address contains `query`.
    public func adminUsers(query: String?, page: Int, pageSize: Int = 20) throws -> (rows: [UserSummary], more: Bool) {
        try pool.read { db in
            let pattern = query.map { "%" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%" }
            let rows = try Row.fetchAll(db, sql: """
                SELECT u.*,
                       (SELECT COUNT(*) FROM aliases a WHERE a.user_id = u.id AND a.trashed_at IS NULL) AS alias_count,
                       (SELECT COUNT(*) FROM mailboxes m WHERE m.user_id = u.id) AS mailbox_count
                FROM users u WHERE ? IS NULL OR u.email LIKE ? ESCAPE '\\'
                ORDER BY u.id DESC LIMIT ? OFFSET ?
                """, arguments: [pattern, pattern, pageSize + 1, Store.offset(page: page, size: pageSize)])
            let summaries = try rows.prefix(pageSize).map { row in
                UserSummary(user: try User(row: row), aliasCount: row["alias_count"], mailboxCount: row["mailbox_count"])
            }
            return (summaries, rows.count > pageSize)
        }
    }

    public func instanceFigures(since: Date) throws -> InstanceFigures {
        try pool.read { db in
            var figures = InstanceFigures()
            if let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(is_reply = 0 AND blocked = 0 AND bounced = 0 AND is_spam = 0), 0) AS forwarded,
                       COALESCE(SUM(is_reply = 1), 0) AS replied,
                       COALESCE(SUM(is_reply = 0 AND blocked = 1), 0) AS blocked,
                       COALESCE(SUM(bounced = 1), 0) AS bounced,
                       COALESCE(SUM(is_spam = 1), 0) AS spam
                FROM email_logs WHERE created_at >= ?
                """, arguments: [since.unixSeconds]) {
                figures.forwarded = row["forwarded"]
                figures.replied = row["replied"]
                figures.blocked = row["blocked"]
                figures.bounced = row["bounced"]
                figures.spam = row["spam"]
            }
            figures.queued = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbound_queue") ?? 0
            figures.users = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users") ?? 0
            figures.aliases = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM aliases WHERE trashed_at IS NULL") ?? 0
            return figures
        }
    }

    /// Disables or re-enables an account; a disabled one loses its dashboard sessions.
    @discardableResult
    public func setUserDisabled(id: Int64, _ disabled: Bool) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET disabled = ? WHERE id = ?", arguments: [disabled, id])
            guard db.changesCount == 1 else { return false }
            if disabled { try db.execute(sql: "DELETE FROM web_sessions WHERE user_id = ?", arguments: [id]) }
            return true
        }
    }

    public func setAdmin(email: String, _ admin: Bool) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET is_admin = ? WHERE email = ?", arguments: [admin, email])
            return db.changesCount > 0
        }
    }
}
