import Foundation
import GRDB
import VeilCore

extension User: VeilRecord {
    public static let databaseTableName = "users"
}

extension ApiKey: VeilRecord {
    public static let databaseTableName = "api_keys"
}

extension Mailbox: VeilRecord {
    public static let databaseTableName = "mailboxes"
}

extension CustomDomain: VeilRecord {
    public static let databaseTableName = "custom_domains"
}

extension Alias: VeilRecord {
    public static let databaseTableName = "aliases"
}

extension Contact: VeilRecord {
    public static let databaseTableName = "contacts"
}

extension EmailLog: VeilRecord {
    public static let databaseTableName = "email_logs"
}

extension DeletedAlias: VeilRecord {
    public static let databaseTableName = "deleted_aliases"
}

extension UserNotification: VeilRecord {
    public static let databaseTableName = "notifications"
}

// Hand-written row decoding for the records every alias page reads many of: Codable decoding
// builds a keyed container per row and was most of a page's CPU time in profiles.

extension Row {
    fileprivate func date(_ column: String) -> Date? {
        (self[column] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    fileprivate func requiredDate(_ column: String) -> Date {
        Date(timeIntervalSince1970: TimeInterval(self[column] as Int64? ?? 0))
    }
}

extension Alias {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], email: row["email"], mailboxId: row["mailbox_id"],
                  customDomainId: row["custom_domain_id"], name: row["name"], note: row["note"],
                  createdAt: row.requiredDate("created_at"))
        id = row["id"]
        enabled = row["enabled"]
        pinned = row["pinned"]
        disablePgp = row["disable_pgp"]
        automaticCreation = row["automatic_creation"]
        cannotBeDisabled = row["cannot_be_disabled"]
        trashedAt = row.date("trashed_at")
        nbForward = row["nb_forward"]
        nbBlock = row["nb_block"]
        nbReply = row["nb_reply"]
        latestEmailLogId = row["latest_email_log_id"]
        lastActivityAt = row.date("last_activity_at")
    }
}

extension Mailbox {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], email: row["email"], verified: row["verified"], createdAt: row.requiredDate("created_at"))
        id = row["id"]
        disabled = row["disabled"]
        adminDisabled = row["admin_disabled"]
        newEmail = row["new_email"]
        pgpPublicKey = row["pgp_public_key"]
        genericSubject = row["generic_subject"]
    }
}

extension EmailLog {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], aliasId: row["alias_id"], contactId: row["contact_id"], mailboxId: row["mailbox_id"],
                  isReply: row["is_reply"], blocked: row["blocked"], messageId: row["message_id"],
                  createdAt: row.requiredDate("created_at"))
        id = row["id"]
        bouncedMailboxId = row["bounced_mailbox_id"]
        bounced = row["bounced"]
        autoReplied = row["auto_replied"]
        isSpam = row["is_spam"]
        bounceReason = row["bounce_reason"]
        veilMessageId = row["veil_message_id"]
    }
}

extension Contact {
    public init(row: Row) throws {
        self.init(userId: row["user_id"], aliasId: row["alias_id"], websiteEmail: row["website_email"], name: row["name"],
                  replyEmail: row["reply_email"], createdAt: row.requiredDate("created_at"))
        id = row["id"]
        mailFrom = row["mail_from"]
        blockForward = row["block_forward"]
        isCc = row["is_cc"]
        invalidEmail = row["invalid_email"]
        lastEmailSentAt = row.date("last_email_sent_at")
    }
}
