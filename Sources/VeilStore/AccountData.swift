import Foundation
import GRDB
import VeilCore

/// One alias as the CSV export shows it.
public struct ExportedAlias: Sendable, Equatable {
    public var email: String
    public var note: String?
    public var enabled: Bool
    /// Mailbox addresses, the primary first.
    public var mailboxes: [String]
}

/// A message that was not delivered, as the dashboard lists it.
public struct RefusedMail: Sendable, Equatable {
    public var log: EmailLog
    public var aliasEmail: String
    public var sender: String?
}

extension Store {
    // MARK: Notifications

    /// A page of the user's notifications, unread first, newest first; `more` when another page exists.
    public func notificationPage(userId: Int64, page: Int, pageSize: Int = 20) throws -> (items: [UserNotification], more: Bool) {
        try pool.read { db in
            let rows = try UserNotification.fetchAll(db, sql: """
                SELECT * FROM notifications WHERE user_id = ? ORDER BY read ASC, created_at DESC, id DESC LIMIT ? OFFSET ?
                """, arguments: [userId, pageSize + 1, Store.offset(page: page, size: pageSize)])
            return (Array(rows.prefix(pageSize)), rows.count > pageSize)
        }
    }

    /// Marks the user's notification read; false when it is not theirs.
    public func markNotificationRead(id: Int64, userId: Int64) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE notifications SET read = 1 WHERE id = ? AND user_id = ?", arguments: [id, userId])
            return db.changesCount == 1
        }
    }

    // MARK: Refused mail

    /// Mail for the user's aliases that was not delivered — blocked, bounced by a mailbox, spam —
    /// newest first, with the alias and the sender.
    public func refusedMail(userId: Int64, page: Int, pageSize: Int = 20) throws -> (items: [RefusedMail], more: Bool) {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT l.*, a.email AS alias_email, c.website_email AS contact_email
                FROM email_logs l JOIN aliases a ON a.id = l.alias_id LEFT JOIN contacts c ON c.id = l.contact_id
                WHERE l.user_id = ? AND l.is_reply = 0 AND (l.blocked = 1 OR l.bounced = 1 OR l.is_spam = 1)
                ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?
                """, arguments: [userId, pageSize + 1, Store.offset(page: page, size: pageSize)])
            let items = try rows.prefix(pageSize).map { row in
                RefusedMail(log: try EmailLog(row: row), aliasEmail: row["alias_email"], sender: row["contact_email"])
            }
            return (items, rows.count > pageSize)
        }
    }

    // MARK: Export

    /// Every alias of the user that is not in the trash, oldest first, with its mailboxes.
    public func exportedAliases(userId: Int64) throws -> [ExportedAlias] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT a.id, a.email, a.note, a.enabled, m.email AS primary_email FROM aliases a JOIN mailboxes m ON m.id = a.mailbox_id
                WHERE a.user_id = ? AND a.trashed_at IS NULL ORDER BY a.created_at, a.id
                """, arguments: [userId])
            var extras: [Int64: [String]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT am.alias_id, m.email FROM alias_mailboxes am JOIN aliases a ON a.id = am.alias_id
                JOIN mailboxes m ON m.id = am.mailbox_id
                WHERE a.user_id = ? AND am.mailbox_id != a.mailbox_id ORDER BY m.email
                """, arguments: [userId]) {
                extras[row["alias_id"], default: []].append(row["email"])
            }
            return rows.map { row in
                ExportedAlias(email: row["email"], note: row["note"], enabled: row["enabled"],
                              mailboxes: [row["primary_email"] as String] + (extras[row["id"]] ?? []))
            }
        }
    }

    /// Names of the user's custom domains.
    public func customDomainNames(userId: Int64) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT domain FROM custom_domains WHERE user_id = ? ORDER BY id", arguments: [userId])
        }
    }

    // MARK: Phone webhook

    public func otpWebhookURL(userId: Int64) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT otp_webhook_url FROM users WHERE id = ?", arguments: [userId]) }
    }

    public func setOTPWebhookURL(userId: Int64, _ url: String?) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET otp_webhook_url = ? WHERE id = ?", arguments: [url, userId])
        }
    }
}

extension Store {
    /// A verified App Store subscription: kept, and the user becomes premium.
    public func recordAppleSubscription(userId: Int64, originalTransactionId: String?, expiresAt: Date, receipt: String, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO apple_subscriptions (user_id, original_transaction_id, expires_at, receipt, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [userId, originalTransactionId, expiresAt.unixSeconds, receipt, now.unixSeconds])
            try db.execute(sql: "UPDATE users SET is_premium = 1 WHERE id = ?", arguments: [userId])
        }
    }
}
