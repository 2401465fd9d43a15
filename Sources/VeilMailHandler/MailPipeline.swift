import CoreMetrics
import Foundation
import Logging
import VeilCore
import VeilMail
import VeilSMTP
import VeilStore

/// The heart of `veil smtpd`: for each recipient of a message it decides forward, reply, bounce
/// or reject (spec/mail.md), rewrites, hands the copies to the relay, logs, and gives the SMTP
/// server its reply. 2xx only once every copy is relayed or held in the outbound queue.
public struct MailPipeline: SMTPServerDelegate {
    let store: Store
    let relay: any MailRelay
    let configuration: MailConfiguration
    let verp: VERPSigner
    let dkim: DKIMKeyring
    let logger: Logger
    /// One reply per recipient (LMTP) instead of one merged reply.
    let perRecipientReplies: Bool

    public init(store: Store, relay: any MailRelay, configuration: MailConfiguration, lmtp: Bool = false,
                logger: Logger = Logger(label: "veil.smtpd")) throws {
        self.store = store
        self.relay = relay
        self.configuration = configuration
        self.verp = VERPSigner(secret: try store.secret(.verp), prefix: configuration.verpPrefix,
                               lifetime: configuration.verpLifetime)
        self.dkim = try DKIMKeyring(store: store, ownDomains: configuration.aliasDomains + [configuration.emailDomain],
                                    ed25519: configuration.ed25519Signatures)
        self.logger = logger
        self.perRecipientReplies = lmtp
    }

    /// R-1.1: trimmed, no spaces, lower case, no U+200F.
    static func normalize(_ address: String) -> String {
        address.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: " ", with: "")
            .replacingOccurrences(of: "\u{200F}", with: "")
            .lowercased()
    }

    // MARK: RCPT TO (Appendix A: unknown recipients are refused here)

    enum Recipient {
        case alias(Alias)
        case reverseAlias(Contact)
        case verp(VERPSigner.Address)
        case noreply
        /// An unknown address on a verified custom domain with catch-all on (R-2.4).
        case catchAll(CustomDomain)
    }

    enum Classification {
        case success(Recipient)
        case failure(MailStatus)
    }

    public func verifyRecipient(_ recipient: String, envelope: SMTPEnvelope) async -> SMTPReply {
        do {
            switch try await classify(Self.normalize(recipient)) {
            case .success: return SMTPReply(250, "2.1.5", "Ok")
            case .failure(let status): return status.reply
            }
        } catch {
            logger.error("recipient lookup failed", metadata: ["rcpt": "\(recipient)", "error": "\(error)"])
            return MailStatus.unexpected.reply
        }
    }

    func classify(_ address: String) async throws -> Classification {
        guard let domain = EmailAddress.domain(of: address) else { return .failure(.unknownAlias) }
        if configuration.noreplyAddresses.contains(address) { return .success(.noreply) }
        let found = try store.recipientLookup(address, domain: domain)
        guard configuration.isOwnDomain(domain) || found.isCustomDomain else { return .failure(.domainNotServed) }
        // An alias or reverse-alias is what it is, whatever its local part looks like (an alias
        // may well start with `sl.`); only an address that is neither may be a VERP address.
        if let alias = found.alias { return .success(.alias(alias)) }
        if let contact = found.contact { return .success(.reverseAlias(contact)) }
        if verp.looksLikeVERP(address) {
            do {
                return .success(.verp(try verp.verify(address)))
            } catch {
                return .failure(.noSuchEmailLog)
            }
        }
        // R-2.3/R-2.4: catch-all creates the alias, never for an address that was ever deleted.
        if found.isCustomDomain, let custom = try store.customDomain(named: domain), custom.verified, custom.catchAll,
           address.allSatisfy(\.isASCII), EmailAddress.isValid(address), try !store.isDeletedAlias(address) {
            return .success(.catchAll(custom))
        }
        return .failure(.unknownAlias)
    }

    // MARK: End of DATA

    /// One outcome of a recipient or of one mailbox copy.
    struct Outcome {
        var delivered: Bool
        var status: MailStatus
        /// What the relay answered for this copy, or why it did not take it.
        var relayReply: String?
        /// A copy the relay refused for now: queued when the transaction succeeds elsewhere,
        /// otherwise its log row is removed and the sender retries.
        var pending: PendingCopy?

        static func done(_ status: MailStatus, delivered: Bool = false) -> Outcome {
            Outcome(delivered: delivered, status: status, relayReply: nil, pending: nil)
        }
    }

    struct PendingCopy {
        var logId: Int64?
        var sender: String
        var recipient: String
        var data: [UInt8]
        var error: String
    }

    static let relayTimer = Timer(label: "veil_relay_duration_seconds")
    static let receivedCounter = Counter(label: "veil_messages_received_total")

    public func deliver(_ envelope: SMTPEnvelope, message data: [UInt8]) async -> [SMTPReply] {
        let started = ContinuousClock.now
        Self.receivedCounter.increment()
        let mailFrom = Self.normalize(envelope.sender)
        var perRecipient: [[Outcome]] = []
        let message: Message
        do {
            message = try Message(parsing: data)
        } catch {
            // Bad input gets a permanent, clear answer rather than endless retries.
            logger.notice("malformed message", metadata: ["queue_id": "\(envelope.id)", "error": "\(error)"])
            let status = MailStatus.malformedHeader
            return perRecipientReplies ? envelope.recipients.map { _ in status.reply } : [status.reply]
        }
        // The same recipient given twice (in any spelling R-1.1 folds together) gets one copy;
        // in LMTP each of its RCPTs gets that copy's reply.
        let (unique, uniqueIndex) = Self.distinctRecipients(envelope.recipients)
        do {
            for recipient in unique {
                perRecipient.append(try await handle(recipient: recipient, mailFrom: mailFrom, message: message, envelope: envelope))
            }
        } catch {
            logger.error("message handling failed", metadata: ["queue_id": "\(envelope.id)", "error": "\(error)"])
            let replies = envelope.recipients.map { _ in MailStatus.unexpected.reply }
            return perRecipientReplies ? replies : [MailStatus.unexpected.reply]
        }
        let statuses: [MailStatus]
        if perRecipientReplies {
            let settled = perRecipient.map { settle($0, envelope: envelope) }
            statuses = uniqueIndex.map { settled[$0] }
        } else {
            statuses = [settle(perRecipient.flatMap { $0 }, envelope: envelope)]
        }
        logger.info("message", metadata: [
            "queue_id": "\(envelope.id)", "from": "\(mailFrom.isEmpty ? "<>" : mailFrom)",
            "rcpts": "\(envelope.recipients.joined(separator: ","))", "size": "\(data.count)",
            "outcome": "\(statuses.map(\.token).joined(separator: ","))",
            "reply": "\(statuses.first.map { "\($0.code) \($0.enhancedCode)" } ?? "")",
            "relay": "\(perRecipient.flatMap { $0 }.compactMap(\.relayReply).joined(separator: "; "))", "duration_ms": "\(TextFormat.milliseconds(ContinuousClock.now - started))",
        ])
        return statuses.map(\.reply)
    }

    /// The normalized recipients without repeats, in order, and for each given recipient the
    /// index of its normalized form.
    static func distinctRecipients(_ recipients: [String]) -> (unique: [String], index: [Int]) {
        var unique: [String] = [], positions: [String: Int] = [:], index: [Int] = []
        for recipient in recipients {
            let normalized = normalize(recipient)
            if let known = positions[normalized] {
                index.append(known)
            } else {
                positions[normalized] = unique.count
                index.append(unique.count)
                unique.append(normalized)
            }
        }
        return (unique, index)
    }

    /// R-1.14 with Appendix A: if anything was delivered, the first delivered status, and every
    /// copy the relay refused for now is queued; if nothing was and a copy failed for now, 451 so
    /// the sender retries; otherwise the first status.
    func settle(_ outcomes: [Outcome], envelope: SMTPEnvelope) -> MailStatus {
        let pending = outcomes.compactMap(\.pending)
        if let firstDelivered = outcomes.first(where: \.delivered) {
            do {
                for copy in pending {
                    try store.enqueueOutbound(logId: copy.logId, from: copy.sender, to: copy.recipient, data: copy.data)
                    logger.notice("copy queued for retry", metadata: [
                        "queue_id": "\(envelope.id)", "to": "\(copy.recipient)", "error": "\(copy.error)"])
                }
            } catch {
                logger.error("could not queue a refused copy", metadata: ["queue_id": "\(envelope.id)", "error": "\(error)"])
                return .retryLater
            }
            return firstDelivered.status
        }
        if !pending.isEmpty {
            for copy in pending { if let logId = copy.logId { try? store.deleteEmailLog(id: logId) } }
            return .retryLater
        }
        return outcomes.first?.status ?? .unexpected
    }

    /// Counts each recipient's outcome in `veil_messages_total{outcome=...}`.
    func handle(recipient: String, mailFrom: String, message: Message, envelope: SMTPEnvelope) async throws -> [Outcome] {
        let (kind, outcomes) = try await handleClassified(recipient: recipient, mailFrom: mailFrom, message: message, envelope: envelope)
        let label: String
        if outcomes.contains(where: \.delivered) {
            label = kind
        } else if outcomes.contains(where: { $0.pending != nil || $0.status.code / 100 == 4 }) {
            label = "deferred"
        } else if outcomes.contains(where: { $0.status.isSuccess }) {
            label = kind == "bounced" ? "bounced" : "blocked"
        } else {
            label = "rejected"
        }
        Counter(label: "veil_messages_total", dimensions: [("outcome", label)]).increment()
        return outcomes
    }

    func handleClassified(recipient: String, mailFrom: String, message: Message, envelope: SMTPEnvelope) async throws -> (String, [Outcome]) {
        switch try await classify(recipient) {
        case .failure(let status):
            return ("rejected", [.done(status)])
        case .success(.noreply):
            return ("noreply", [.done(.delivered, delivered: true)])
        case .success(.alias(let alias)):
            return ("forwarded", try await forward(message, to: alias, mailFrom: mailFrom, envelope: envelope))
        case .success(.reverseAlias(let contact)):
            return ("replied", [try await reply(message, through: contact, mailFrom: mailFrom, envelope: envelope)])
        case .success(.verp(let address)):
            return ("bounced", try await handleVERP(message, address: address, mailFrom: mailFrom, envelope: envelope))
        case .success(.catchAll(let domain)):
            guard let alias = try await createCatchAllAlias(recipient, on: domain) else { return ("rejected", [.done(.unknownAlias)]) }
            return ("forwarded", try await forward(message, to: alias, mailFrom: mailFrom, envelope: envelope))
        }
    }

    /// R-2.4: owned by the domain's user, delivered to the domain's mailboxes (or the default one),
    /// within the user's quota; a concurrent creation of the same address is reused (R-2.6).
    func createCatchAllAlias(_ address: String, on domain: CustomDomain) async throws -> Alias? {
        guard let domainId = domain.id, let user = try store.user(id: domain.userId), let userId = user.id else { return nil }
        guard configuration.quota.canCreate(user: user, existingAliases: try store.aliasCount(userId: userId)) else {
            await alertOwner(user, kind: "catch_all_quota", title: "An alias could not be created on \(domain.domain)",
                             body: "Mail to \(address) arrived through the catch-all of \(domain.domain), but your plan allows "
                                + "no more aliases. The message was refused.")
            return nil
        }
        var mailboxIds = try store.customDomainMailboxIds(domainId: domainId)
        if mailboxIds.isEmpty, let defaultMailbox = user.defaultMailboxId { mailboxIds = [defaultMailbox] }
        do {
            let created = try store.createAlias(userId: userId, email: address, mailboxIds: mailboxIds, customDomainId: domainId,
                                                note: "Created by catchall option")
            logger.info("alias created by catch-all", metadata: ["alias": "\(address)"])
            guard let aliasId = created.id else { return created }
            return try store.updateAlias(id: aliasId, userId: userId) { $0.automaticCreation = true } ?? created
        } catch StoreError.conflict(_) {
            return try store.alias(email: address)
        }
    }

    // MARK: Relay

    /// Signs (DKIM, for `signingDomain`) and sends one copy; a refusal for now becomes a pending
    /// copy, a permanent one `E521`.
    func relayCopy(_ message: Message, signingDomain: String, from sender: String, to recipient: String, logId: Int64?,
                   success: MailStatus = .delivered) async -> Outcome {
        let bytes: [UInt8]
        do {
            bytes = try signed(message, domain: signingDomain).serialized
        } catch {
            logger.error("DKIM signing failed", metadata: ["domain": "\(signingDomain)", "error": "\(error)"])
            if let logId { try? store.deleteEmailLog(id: logId) }
            return .done(.unexpected)
        }
        do {
            let started = ContinuousClock.now
            let answer = try await relay.send(from: sender, to: [recipient], message: bytes)
            let elapsed = (ContinuousClock.now - started).components
            Self.relayTimer.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
            return Outcome(delivered: true, status: success, relayReply: answer, pending: nil)
        } catch {
            if error.isTransient {
                return Outcome(delivered: false, status: .retryLater, relayReply: error.description,
                               pending: PendingCopy(logId: logId, sender: sender, recipient: recipient, data: bytes,
                                                    error: error.description))
            }
            logger.warning("relay refused a copy", metadata: ["to": "\(recipient)", "error": "\(error.description)"])
            if let logId { try? store.deleteEmailLog(id: logId) }
            var refused = Outcome.done(.cannotReachMailbox)
            refused.relayReply = error.description
            return refused
        }
    }

    /// The message with a DKIM signature for `domain` when Veil holds a key for it.
    func signed(_ message: Message, domain: String) throws -> Message {
        var message = message
        message.removeAll(named: "DKIM-Signature")
        message.foldOverlongFields()
        for signer in try dkim.signers(for: domain, store: store) { try signer.sign(&message) }
        return message
    }

    // MARK: Owner alerts (R-5.3: bounded per kind and day)

    /// Adds a notification and, within the daily bound (or only the first time, with `once`),
    /// emails the account address.
    func alertOwner(_ user: User, kind: String, title: String, body: String, to address: String? = nil,
                    once: Bool = false) async {
        guard let userId = user.id else { return }
        do {
            let earlier = try store.alertCount(userId: userId, kind: kind,
                                               since: once ? Date.distantPast : Date().addingTimeInterval(-86_400))
            if once && earlier > 0 { return }
            try store.insertNotification(userId: userId, title: title, message: body)
            let recipient = address ?? user.email
            guard earlier < configuration.maxAlertsPerDay else { return }
            try store.recordAlert(userId: userId, kind: kind, to: recipient)
            let notice = Notice(from: "Veil <noreply@\(configuration.emailDomain)>", to: recipient, subject: title,
                                body: body, domain: configuration.emailDomain)
            let sender = verp.address(.transactional, objectId: 0, domain: configuration.emailDomain)
            let message = try signed(try Message(parsing: notice.bytes), domain: configuration.emailDomain)
            // Queued when the relay is down: the owner learns it later rather than never.
            try await DurableRelay(relay: relay, store: store, logger: logger).send(from: sender, to: [recipient], message: message.serialized)
        } catch {
            logger.warning("owner alert not sent", metadata: ["kind": "\(kind)", "error": "\(error)"])
        }
    }
}

/// A plain-text message Veil writes itself.
struct Notice {
    var from: String
    var to: String
    var subject: String
    var body: String
    var domain: String

    var bytes: [UInt8] {
        let subjectValue = subject.allSatisfy(\.isASCII) ? subject : EncodedWord.qEncode(subject)
        var text = "From: \(from)\r\nTo: \(to)\r\nSubject: \(subjectValue)\r\n"
        text += "Date: \(RFC5322Date.string(from: Date()))\r\nMessage-ID: \(MessageID.make(domain: domain))\r\n"
        text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        text += "Auto-Submitted: auto-generated\r\nX-Veil-Type: Notice\r\n\r\n"
        text += body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
        return Array(text.utf8)
    }
}

enum RFC5322Date {
    static func string(from date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

enum MessageID {
    /// `<timestamp.pid.random.id@domain>`, as Python's `make_msgid(idstring=id, domain=domain)` (R-3.13).
    static func make(domain: String, idString: String? = nil) -> String {
        let timestamp = Int64(Date().timeIntervalSince1970 * 100)
        let random = UInt64.random(in: 0...UInt64.max)
        let pid = ProcessInfo.processInfo.processIdentifier
        return "<\(timestamp).\(pid).\(random)\(idString.map { ".\($0)" } ?? "")@\(domain)>"
    }
}
