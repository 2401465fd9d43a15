import Foundation
import GRDB
import VeilCore

/// A copy Veil accepted but the relay did not: kept in `outbound_queue` and retried with backoff.
public struct OutboundMessage: Sendable, Equatable {
    public var id: Int64
    public var emailLogId: Int64?
    public var envelopeFrom: String
    public var envelopeTo: String
    public var data: [UInt8]
    public var attempts: Int
    public var createdAt: Date
}

/// Queries of the mail pipeline (VeilMailHandler).
extension Store {
    /// True when the address was an alias once and is in the trash list (never recreated).
    public func isDeletedAlias(_ email: String) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM deleted_aliases WHERE email = ?)", arguments: [email]) ?? false
        }
    }

    /// Extra sender addresses of these mailboxes: (mailbox id, address).
    public func authorizedAddresses(mailboxIds: [Int64]) throws -> [(mailboxId: Int64, email: String)] {
        guard !mailboxIds.isEmpty else { return [] }
        return try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT mailbox_id, email FROM authorized_addresses
                WHERE mailbox_id IN (\(mailboxIds.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(integers: mailboxIds))
                .map { (mailboxId: $0["mailbox_id"], email: $0["email"]) }
        }
    }

    public func addAuthorizedAddress(userId: Int64, mailboxId: Int64, email: String, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO authorized_addresses (user_id, mailbox_id, email, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, arguments: [userId, mailboxId, email, Int64(now.timeIntervalSince1970)])
        }
    }

    /// What identifies a contact to find or create: a forwarded message's sender, or a To/Cc/
    /// Reply-To address (spec/mail.md R-2.10, R-2.28).
    public struct ContactRequest: Sendable {
        public var alias: Alias
        public var websiteEmail: String
        public var name: String?
        public var mailFrom: String?
        public var isCc: Bool
        public var invalidEmail: Bool
        public var reverseAliasDomain: String
        public var includeSender: Bool

        public init(alias: Alias, websiteEmail: String, name: String?, mailFrom: String?, isCc: Bool = false,
                    invalidEmail: Bool = false, reverseAliasDomain: String, includeSender: Bool) {
            self.alias = alias
            self.websiteEmail = websiteEmail
            self.name = name
            self.mailFrom = mailFrom
            self.isCc = isCc
            self.invalidEmail = invalidEmail
            self.reverseAliasDomain = reverseAliasDomain
            self.includeSender = includeSender
        }

        /// True when `existing` already says everything this request would write.
        func isSatisfied(by existing: Contact) -> Bool {
            (name == nil || name?.isEmpty == true || name == existing.name)
                && (existing.mailFrom != nil || mailFrom == nil || mailFrom?.isEmpty == true)
        }
    }

    /// The contact of a forwarded message's sender (or of a To/Cc/Reply-To address), created when
    /// missing (spec/mail.md R-2.10): the name is updated when a different non-empty one arrives,
    /// `mail_from` filled when it was empty.
    public func upsertContact(alias: Alias, websiteEmail: String, name: String?, mailFrom: String?, isCc: Bool = false,
                              invalidEmail: Bool = false, reverseAliasDomain: String, includeSender: Bool,
                              now: Date = Date()) throws -> Contact {
        let request = ContactRequest(alias: alias, websiteEmail: websiteEmail, name: name, mailFrom: mailFrom, isCc: isCc,
                                     invalidEmail: invalidEmail, reverseAliasDomain: reverseAliasDomain,
                                     includeSender: includeSender)
        guard let aliasId = alias.id else { throw StoreError.invalid("alias id missing") }
        // The usual case, a known sender with nothing new, needs no write transaction.
        if let existing = try hotRead({ db in
            try db.decodedRow(Contact.selectByAliasAndAddress, [aliasId, websiteEmail], Contact.init)
        }), request.isSatisfied(by: existing) {
            return existing
        }
        return try pool.write { db in try Self.upsertContact(request, now: now, db) }
    }

    static func upsertContact(_ request: ContactRequest, now: Date, _ db: Database) throws -> Contact {
        guard let aliasId = request.alias.id else { throw StoreError.invalid("alias id missing") }
        let lookup = { try db.decodedRow(Contact.selectByAliasAndAddress, [aliasId, request.websiteEmail], Contact.init) }
        if var existing = try lookup() {
            guard !request.isSatisfied(by: existing) else { return existing }
            if let name = request.name, !name.isEmpty { existing.name = name }
            if existing.mailFrom == nil, let mailFrom = request.mailFrom, !mailFrom.isEmpty { existing.mailFrom = mailFrom }
            try db.cachedStatement(sql: "UPDATE contacts SET name = ?, mail_from = ? WHERE id = ?")
                .execute(arguments: [existing.name, existing.mailFrom, existing.id])
            return existing
        }
        guard let reverseAlias = try ReverseAlias.unique(
            senderAddress: request.websiteEmail, includeSender: request.includeSender, domain: request.reverseAliasDomain,
            isTaken: { try Self.isAddressTaken($0, db) })
        else { throw StoreError.conflict("could not generate a unique reverse-alias") }
        var contact = Contact(userId: request.alias.userId, aliasId: aliasId, websiteEmail: request.websiteEmail,
                              name: request.name, replyEmail: reverseAlias, createdAt: now)
        contact.mailFrom = request.mailFrom
        contact.isCc = request.isCc
        contact.invalidEmail = request.invalidEmail
        do {
            try contact.insert(cached: db)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            // Created meanwhile by another process (R-2.6): use that one.
            if let existing = try lookup() { return existing }
            throw error
        }
        return contact
    }

    /// What the forward phase reads about an alias before deciding (spec/mail.md §2), in one go.
    public struct ForwardContext: Sendable {
        public var user: User
        /// Primary first, then the others by address.
        public var mailboxes: [Mailbox]
        /// Lower-cased addresses of those mailboxes and of their authorized senders (R-2.8).
        public var ownAddresses: Set<String>
        /// Mailboxes whose address is itself an alias (R-2.21).
        public var mailboxIdsThatAreAliases: Set<Int64>
        /// False for an alias on a custom domain that is not (or no longer) verified (R-2.7).
        public var domainVerified: Bool
        /// The sender is one of Veil's reverse-aliases (R-2.11).
        public var senderIsReverseAlias: Bool
        /// The sender's contact on this alias, when it exists already.
        public var senderContact: Contact?
    }

    /// Everything `ForwardContext` holds, through cached statements and without a transaction:
    /// each lookup stands alone, and the write that follows re-checks the contact.
    public func forwardContext(alias: Alias, senderAddress: String) throws -> ForwardContext? {
        guard let aliasId = alias.id else { return nil }
        return try hotRead { db -> ForwardContext? in
            guard let user = try db.decodedRow(User.selectById, [alias.userId], User.init) else { return nil }
            let mailboxes = try Self.mailboxes(ofAlias: aliasId, primary: alias.mailboxId, db)
            var own = Set(mailboxes.map { $0.email.lowercased() })
            var aliasMailboxes = Set<Int64>()
            for mailbox in mailboxes {
                guard let id = mailbox.id else { continue }
                for email in try String.fetchAll(db.cachedStatement(
                    sql: "SELECT email FROM authorized_addresses WHERE mailbox_id = ?"), arguments: [id]) {
                    own.insert(email.lowercased())
                }
                if try db.cachedValue(Bool.self, "SELECT EXISTS (SELECT 1 FROM aliases WHERE email = ?)",
                                      [mailbox.email.lowercased()]) == true {
                    aliasMailboxes.insert(id)
                }
            }
            var verified = true
            if let domainId = alias.customDomainId {
                verified = try db.cachedValue(Bool.self, "SELECT verified FROM custom_domains WHERE id = ?", [domainId]) ?? false
            }
            let sender = senderAddress.lowercased()
            let isReverseAlias = sender.isEmpty ? false
                : try db.cachedValue(Bool.self, "SELECT EXISTS (SELECT 1 FROM contacts WHERE reply_email = ?)", [sender]) ?? false
            let contact = try db.decodedRow(Contact.selectByAliasAndAddress, [aliasId, senderAddress], Contact.init)
            return ForwardContext(user: user, mailboxes: mailboxes, ownAddresses: own, mailboxIdsThatAreAliases: aliasMailboxes,
                                  domainVerified: verified, senderIsReverseAlias: isReverseAlias, senderContact: contact)
        }
    }

    /// The sender's contact (found, updated or created) and the message's email logs, in one write
    /// transaction: each log gets the contact's id. Returns the contact and the logs with their ids.
    public func recordMessage(contact request: ContactRequest, logs: [EmailLog], now: Date = Date()) throws
        -> (contact: Contact, logs: [EmailLog])
    {
        try pool.write { db in
            let contact = try Self.upsertContact(request, now: now, db)
            var inserted: [EmailLog] = []
            for var log in logs {
                log.contactId = contact.id
                try log.insert(cached: db)
                inserted.append(log)
            }
            return (contact, inserted)
        }
    }

    static func mailboxes(ofAlias aliasId: Int64, primary: Int64, _ db: Database) throws -> [Mailbox] {
        let extras = try db.decodedRows(Mailbox.selectExtrasOfAlias, [aliasId, primary], Mailbox.init)
        let primary = try db.decodedRow(Mailbox.selectById, [primary], Mailbox.init)
        return (primary.map { [$0] } ?? []) + extras
    }

    public func customDomain(id: Int64) throws -> CustomDomain? {
        try pool.read { db in try CustomDomain.fetchOne(db, key: id) }
    }

    /// What an envelope address is, in one read: the alias with that address, the contact whose
    /// reverse-alias it is, and whether its domain is one of the custom domains.
    /// Synchronous on purpose: mixing GRDB's async reads with blocking ones on the two threads of
    /// the cooperative pool deadlocked under load (every thread waiting for a reader that an
    /// async read held while waiting for a thread).
    public func recipientLookup(_ address: String, domain: String) throws
        -> (alias: Alias?, contact: Contact?, isCustomDomain: Bool)
    {
        // Point lookups that need no common snapshot: no BEGIN/COMMIT around them.
        try hotRead { db in
            let alias = try db.decodedRow(Alias.selectByEmail, [address], Alias.init)
            let contact = alias == nil ? try db.decodedRow(Contact.selectByReplyEmail, [address], Contact.init) : nil
            let custom = try db.cachedValue(Bool.self, "SELECT EXISTS (SELECT 1 FROM custom_domains WHERE domain = ?)",
                                            [domain]) ?? false
            return (alias, contact, custom)
        }
    }

    public func deleteEmailLog(id: Int64) throws {
        _ = try pool.write { db in try EmailLog.deleteOne(db, key: id) }
    }

    public func emailLog(id: Int64) throws -> EmailLog? {
        try pool.read { db in try EmailLog.fetchOne(db, key: id) }
    }

    /// Marks a log bounced (spec/mail.md R-4.2/R-4.4). Only a `permanent` bounce counts towards
    /// disabling the mailbox.
    public func markBounced(logId: Int64, mailboxId: Int64?, reason: String?, permanent: Bool = true) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE email_logs SET bounced = 1, bounced_mailbox_id = ?, bounce_reason = ?, bounce_permanent = ? WHERE id = ?
                """, arguments: [mailboxId, reason, permanent, logId])
        }
    }

    public func markAutoReplied(logId: Int64) throws {
        try pool.write { db in try db.execute(sql: "UPDATE email_logs SET auto_replied = 1 WHERE id = ?", arguments: [logId]) }
    }

    /// Email logs of an alias created since `date` (rate limits, spec/mail.md R-5.1).
    public func emailLogCount(aliasId: Int64, since date: Date) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM email_logs WHERE alias_id = ? AND created_at >= ?",
                             arguments: [aliasId, Int64(date.timeIntervalSince1970)]) ?? 0
        }
    }

    /// Copies forwarded to (or replies sent from) `mailboxId` since `date`, whatever the alias.
    public func emailLogCount(mailboxId: Int64, since date: Date) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM email_logs WHERE mailbox_id = ? AND created_at >= ?",
                             arguments: [mailboxId, Int64(date.timeIntervalSince1970)]) ?? 0
        }
    }

    /// Permanent forward-phase bounces of copies sent to this mailbox since `date`, not counting
    /// copies sent before (or in the very second) the owner last re-enabled it.
    public func bounceCount(mailboxId: Int64, since date: Date) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM email_logs
                WHERE mailbox_id = ?1 AND bounced = 1 AND bounce_permanent = 1 AND is_reply = 0 AND created_at >= ?2
                  AND created_at > coalesce((SELECT bounces_counted_since FROM mailboxes WHERE id = ?1), 0)
                """, arguments: [mailboxId, Int64(date.timeIntervalSince1970)]) ?? 0
        }
    }

    /// Stops forwarding to a mailbox that keeps bouncing, until its owner re-enables it
    /// (`setMailboxEnabled`, or verifying it again).
    public func markMailboxBouncing(id: Int64, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE mailboxes SET disabled = 1, disabled_at = ? WHERE id = ?",
                           arguments: [Int64(now.timeIntervalSince1970), id])
        }
    }

    /// The owner's choice: a re-enabled mailbox receives again, and bounces of copies sent
    /// before now no longer count against it. Nil when the mailbox is not the user's.
    public func setMailboxEnabled(id: Int64, userId: Int64, _ enabled: Bool, now: Date = Date()) throws -> Mailbox? {
        try updateMailbox(id: id, userId: userId) { mailbox in
            if enabled { Self.reenable(&mailbox, now: now) } else { mailbox.disabled = true; mailbox.disabledAt = nil }
        }
    }

    static func reenable(_ mailbox: inout Mailbox, now: Date) {
        guard mailbox.disabled else { return }
        mailbox.disabled = false
        mailbox.disabledAt = nil
        mailbox.bouncesCountedSince = now
    }

    /// Marks a mailbox unverified (its address turned out to be an alias, R-2.21).
    public func markMailboxUnverified(id: Int64) throws {
        try pool.write { db in try db.execute(sql: "UPDATE mailboxes SET verified = 0 WHERE id = ?", arguments: [id]) }
    }

    // MARK: Message-ID matching (spec/mail.md R-2.31, R-3.13)

    /// The Veil id already given to `original`, or `proposed` after storing the pair.
    public func veilMessageId(forOriginal original: String, proposed: String, logId: Int64?, now: Date = Date()) throws -> String {
        try pool.write { db in
            if let existing = try String.fetchOne(db, sql: "SELECT veil_message_id FROM message_id_matches WHERE original_message_id = ?",
                                                  arguments: [original]) {
                return existing
            }
            try db.execute(sql: """
                INSERT INTO message_id_matches (veil_message_id, original_message_id, email_log_id, created_at)
                VALUES (?, ?, ?, ?)
                """, arguments: [proposed, original, logId, Int64(now.timeIntervalSince1970)])
            return proposed
        }
    }

    /// For each Veil-generated id among `ids`, the original id it stands for.
    public func originalMessageIds(forVeilIds ids: [String]) throws -> [String: String] {
        try messageIdMatches(ids, from: "veil_message_id", to: "original_message_id")
    }

    public func setVeilMessageId(logId: Int64, _ messageId: String) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE email_logs SET veil_message_id = ? WHERE id = ?", arguments: [messageId, logId])
        }
    }

    // MARK: Notifications

    @discardableResult
    public func insertNotification(userId: Int64, title: String?, message: String, now: Date = Date()) throws -> UserNotification {
        try inserted(UserNotification(userId: userId, title: title, message: message, createdAt: now))
    }

    // MARK: DKIM keys

    /// An instance key and its selector, nil before the first start. `slot` is `*` for the RSA
    /// key, `*ed25519` for the Ed25519 one.
    public func instanceDKIMKey(slot: String = "*") throws -> (selector: String, key: String)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT selector, private_key FROM dkim_keys WHERE domain = ?", arguments: [slot])
                .map { (selector: $0["selector"], key: $0["private_key"]) }
        }
    }

    /// Stores an instance key unless one exists already in that slot (two processes starting at
    /// once keep the first), and returns the one in the database.
    public func saveInstanceDKIMKey(slot: String = "*", algorithm: String = "rsa", selector: String, key: String,
                                    now: Date = Date()) throws -> (selector: String, key: String) {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (domain) DO NOTHING
                """, arguments: [slot, selector, algorithm, key, Int64(now.timeIntervalSince1970)])
            let row = try Row.fetchOne(db, sql: "SELECT selector, private_key FROM dkim_keys WHERE domain = ?", arguments: [slot])
            guard let row else { throw StoreError.invalid("instance DKIM key missing after insert") }
            return (selector: row["selector"], key: row["private_key"])
        }
    }

    /// Every custom domain of every user, by name.
    public func allCustomDomains() throws -> [CustomDomain] {
        try pool.read { db in try CustomDomain.order(Column("domain")).fetchAll(db) }
    }

    // MARK: Alerts (spec/mail.md R-5.3)

    public func alertCount(userId: Int64, kind: String, since date: Date) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sent_alerts WHERE user_id = ? AND alert_type = ? AND created_at >= ?",
                             arguments: [userId, kind, Int64(date.timeIntervalSince1970)]) ?? 0
        }
    }

    public func recordAlert(userId: Int64, kind: String, to email: String, now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO sent_alerts (user_id, alert_type, to_email, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [userId, kind, email, Int64(now.timeIntervalSince1970)])
        }
    }

    /// Veil ids already given to these original ids (R-3.13, `References` of a reply).
    public func veilMessageIds(forOriginals ids: [String]) throws -> [String: String] {
        try messageIdMatches(ids, from: "original_message_id", to: "veil_message_id")
    }

    /// `message_id_matches` read in one direction: `from` column value → `to` column value.
    private func messageIdMatches(_ ids: [String], from: String, to: String) throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        return try pool.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT \(from) AS key, \(to) AS value FROM message_id_matches
                WHERE \(from) IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(ids)) {
                result[row["key"]] = row["value"]
            }
            return result
        }
    }

    // MARK: Outbound queue (Appendix A: "Veil stores the copy durably and retries it itself")

    public func enqueueOutbound(logId: Int64?, from: String, to: String, data: [UInt8], now: Date = Date()) throws {
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO outbound_queue (email_log_id, envelope_from, envelope_to, data, attempts, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, 0, ?, ?)
                """, arguments: [logId, from, to, Data(data), Int64(now.timeIntervalSince1970), Int64(now.timeIntervalSince1970)])
        }
    }

    /// Takes up to `limit` copies that are due, for one sender of the queue: their next attempt
    /// moves `lease` ahead in the same transaction, so another worker (another process over the
    /// same database) does not send them too; the worker then removes or reschedules each.
    public func claimDueOutbound(now: Date = Date(), limit: Int = 50, lease: TimeInterval = 300) throws -> [OutboundMessage] {
        try pool.write { db in
            let messages = try Row.fetchAll(db, sql: """
                SELECT * FROM outbound_queue WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?
                """, arguments: [Int64(now.timeIntervalSince1970), limit]).map { row in
                let data: Data = row["data"]
                return OutboundMessage(id: row["id"], emailLogId: row["email_log_id"], envelopeFrom: row["envelope_from"],
                                       envelopeTo: row["envelope_to"], data: Array(data), attempts: row["attempts"],
                                       createdAt: Date(timeIntervalSince1970: TimeInterval(row["created_at"] as Int64)))
            }
            for message in messages {
                try db.execute(sql: "UPDATE outbound_queue SET next_attempt_at = ? WHERE id = ?",
                               arguments: [Int64(now.addingTimeInterval(lease).timeIntervalSince1970), message.id])
            }
            return messages
        }
    }

    public var outboundQueueLength: Int {
        get throws { try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM outbound_queue") ?? 0 } }
    }

    public func removeOutbound(id: Int64) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM outbound_queue WHERE id = ?", arguments: [id]) }
    }

    public func rescheduleOutbound(id: Int64, error: String, nextAttempt: Date) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE outbound_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?
                """, arguments: [error, Int64(nextAttempt.timeIntervalSince1970), id])
        }
    }
}
