import Foundation
import GRDB
import VeilCore

/// A user's TOTP set-up.
public struct MFASecret: Sendable, Equatable {
    public var base32Secret: String
    public var enabled: Bool
    public var lastUsedStep: Int64?
}

extension Store {
    public func mfaSecret(userId: Int64) throws -> MFASecret? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT totp_secret, enabled, last_used_step FROM mfa_secrets WHERE user_id = ?",
                             arguments: [userId]).map {
                MFASecret(base32Secret: $0["totp_secret"], enabled: $0["enabled"], lastUsedStep: $0["last_used_step"])
            }
        }
    }

    public func enableMFA(userId: Int64, base32Secret: String, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO mfa_secrets (user_id, totp_secret, enabled, created_at) VALUES (?, ?, 1, ?)
                ON CONFLICT (user_id) DO UPDATE SET totp_secret = excluded.totp_secret, enabled = 1, last_used_step = NULL
                """, arguments: [userId, base32Secret, now.unixSeconds])
        }
    }

    /// Records the step of an accepted token, refusing one at or before the last accepted step
    /// (a replay). The check and the write are one transaction, so two logins cannot both win.
    public func acceptTOTPStep(userId: Int64, step: Int64) throws -> Bool {
        try pool.write { db in
            let last = try Int64.fetchOne(db, sql: "SELECT last_used_step FROM mfa_secrets WHERE user_id = ?", arguments: [userId])
            if let last, step <= last { return false }
            try db.execute(sql: "UPDATE mfa_secrets SET last_used_step = ? WHERE user_id = ?", arguments: [step, userId])
            return true
        }
    }

    /// Activates the account and verifies its default mailbox.
    public func activateUser(id: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET activated = 1 WHERE id = ?", arguments: [id])
            try db.execute(sql: "UPDATE mailboxes SET verified = 1 WHERE id = (SELECT default_mailbox_id FROM users WHERE id = ?)",
                           arguments: [id])
        }
    }

    /// Whoever knew the old password may hold a session: a new password ends them all, except
    /// `keepingSession` (the one the owner changed it from).
    public func setPassword(userId: Int64, hash: String, keepingSession: Int64? = nil) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, userId])
            try db.execute(sql: "DELETE FROM web_sessions WHERE user_id = ? AND id IS NOT ?", arguments: [userId, keepingSession])
        }
    }

    /// Applies a verified mailbox link: a pending address change takes effect, else the mailbox
    /// becomes verified. Returns the mailbox. When the default mailbox has the account's address,
    /// the account's address changes with it (the dashboard's "change e-mail").
    public func confirmMailbox(id: Int64, userId: Int64, address: String) throws -> Mailbox? {
        try pool.write { db in
            guard var mailbox = try Mailbox.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else { return nil }
            if let pending = mailbox.newEmail, pending.lowercased() == address.lowercased() {
                try db.execute(sql: """
                    UPDATE users SET email = ? WHERE id = ? AND default_mailbox_id = ? AND email = ?
                        AND NOT EXISTS (SELECT 1 FROM users other WHERE other.email = ? AND other.id <> ?)
                    """, arguments: [pending, userId, id, mailbox.email, pending, userId])
                mailbox.email = pending
                mailbox.newEmail = nil
            }
            mailbox.verified = true
            // Verifying again is one way back for a mailbox disabled after bounces.
            Self.reenable(&mailbox, now: Date())
            try mailbox.update(db)
            return mailbox
        }
    }

    /// Pending codes of a user for a purpose (for tests and the admin listing).
    public func pendingCodeTries(userId: Int64, purpose: CodePurpose) throws -> [Int] {
        try pool.read { db in
            try Int.fetchAll(db, sql: "SELECT tries_left FROM one_time_codes WHERE user_id = ? AND purpose = ? AND status = 'pending'",
                             arguments: [userId, purpose.rawValue])
        }
    }
}

// MARK: Setting up and removing MFA, recovery codes

extension Store {
    /// Keeps a secret the user has been shown but not yet confirmed with a code. An enabled
    /// set-up is never replaced this way.
    public func setPendingMFA(userId: Int64, base32Secret: String, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO mfa_secrets (user_id, totp_secret, enabled, created_at) VALUES (?, ?, 0, ?)
                ON CONFLICT (user_id) DO UPDATE SET totp_secret = excluded.totp_secret, created_at = excluded.created_at
                WHERE mfa_secrets.enabled = 0
                """, arguments: [userId, base32Secret, now.unixSeconds])
        }
    }

    /// Turns MFA off: the secret and every recovery code go.
    public func disableMFA(userId: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM mfa_secrets WHERE user_id = ?", arguments: [userId])
            try db.execute(sql: "DELETE FROM recovery_codes WHERE user_id = ?", arguments: [userId])
        }
    }

    /// Replaces the user's recovery codes with `count` new ones, returned once; only their hashes are kept.
    public func newRecoveryCodes(userId: Int64, count: Int = 8, now: Date = Date()) throws -> [String] {
        let codes = (0..<count).map { _ in RecoveryCode.generate() }
        try pool.write { db in
            try db.execute(sql: "DELETE FROM recovery_codes WHERE user_id = ?", arguments: [userId])
            for code in codes {
                try db.execute(sql: "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)",
                               arguments: [userId, RecoveryCode.hash(code), now.unixSeconds])
            }
        }
        return codes
    }

    /// Spends an unused recovery code of the user; false for a wrong or used one.
    public func useRecoveryCode(userId: Int64, code: String, now: Date = Date()) throws -> Bool {
        guard let normalized = RecoveryCode.normalize(code) else { return false }
        return try pool.write { db in
            try db.execute(sql: "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
                           arguments: [now.unixSeconds, userId, RecoveryCode.hash(normalized)])
            return db.changesCount == 1
        }
    }

    public func unusedRecoveryCodeCount(userId: Int64) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", arguments: [userId]) ?? 0
        }
    }
}
