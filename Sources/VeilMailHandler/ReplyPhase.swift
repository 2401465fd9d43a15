import Foundation
import Logging
import VeilCore
import VeilMail
import VeilSMTP
import VeilStore

/// Reply phase: mailbox → reverse-alias → contact, appearing to come from the alias (spec/mail.md
/// section 3), and the bounces that come back to Veil's VERP addresses (section 4).
extension MailPipeline {
    /// R-3.8: `Reply-To`, `Sender`, `Received`, `Authentication-Results`, `X-*`, ... all go.
    static let replyKeptHeaders: Set<String> = [
        "from", "to", "cc", "subject", "date", "message-id", "references", "in-reply-to", "x-sl-queue-id",
        "mime-version", "content-type", "auto-submitted", "content-disposition", "content-transfer-encoding",
    ]

    /// `knownMailbox` is set when the sender is already known (an automatic reply that came back
    /// to a signed VERP address of that mailbox's copy, R-4.7): no sender check then.
    func reply(_ original: Message, through contact: Contact, mailFrom: String, envelope: SMTPEnvelope,
               knownMailbox: Mailbox? = nil) async throws -> Outcome {
        guard let alias = try store.alias(id: contact.aliasId, userId: contact.userId), let aliasId = alias.id,
              let user = try store.user(id: contact.userId), let userId = user.id
        else { return .done(.emailNotExist) }
        // R-3.3: only trashing stops replies; a disabled alias can still reply.
        if alias.trashedAt != nil { return .done(.emailNotExist) }
        var customDomain: CustomDomain?
        if let domainId = alias.customDomainId {
            customDomain = try store.customDomain(id: domainId)
            if customDomain?.verified != true { return .done(.unverifiedCustomDomain) }
        }
        if user.disabled || user.deleteOn != nil { return .done(.accountDisabled) }
        // R-1.12: an automatic reply sent straight to a reverse-alias.
        if mailFrom.isEmpty && knownMailbox == nil { return .done(.outOfOffice) }

        // R-3.5: only a mailbox of the alias (or one of its authorised addresses) may reply.
        let mailboxes = try store.mailboxes(ofAlias: alias)
        let authorized = try store.authorizedAddresses(mailboxIds: mailboxes.compactMap(\.id))
        func sendingMailbox(_ address: String) -> Mailbox? {
            let lowered = address.lowercased(), canonical = EmailAddress.canonical(address)
            for candidate in [lowered, canonical] {
                if let mailbox = mailboxes.first(where: { $0.email.lowercased() == candidate || EmailAddress.canonical($0.email) == candidate }) {
                    return mailbox
                }
                if let entry = authorized.first(where: { $0.email.lowercased() == candidate }) {
                    return mailboxes.first { $0.id == entry.mailboxId }
                }
            }
            return nil
        }
        var sender = knownMailbox.flatMap { known in mailboxes.first { $0.id == known.id } } ?? sendingMailbox(mailFrom)
        if sender == nil, let from = original.value("From").flatMap({ AddressList.parse($0).first }),
           EmailAddress.domain(of: from.address.lowercased()) == EmailAddress.domain(of: mailFrom) {
            sender = sendingMailbox(from.address)
        }
        guard let mailbox = sender, let mailboxId = mailbox.id else {
            await alertOwner(user, kind: "unauthorized_reverse_alias", title: "Attempt to use your alias \(alias.email) from \(mailFrom)",
                             body: "Someone tried to send an email from \(mailFrom) to \(contact.websiteEmail) through your "
                                + "alias \(alias.email). Only the alias's mailboxes (\(mailboxes.map(\.email).joined(separator: ", "))) "
                                + "or their authorized addresses can do that. Nothing was sent.")
            return .done(.unauthorizedReverseAlias)
        }
        if mailbox.adminDisabled { return .done(MailStatus(250, "2.0.0", "E207", "No bounce report")) }
        // R-3.4 / R-3.5: nobody may send as a mailbox the MTA could not authenticate.
        if knownMailbox == nil,
           let authentication = AuthenticationResults.trusted(in: original, trustedID: configuration.authservID),
           authentication.dmarc == "fail" || authentication.unauthenticated {
            await alertOwner(user, kind: "reply_spoofing", title: "Attempt to send an email to your contact \(contact.websiteEmail) from \(mailFrom)",
                             body: "An email claiming to come from \(mailFrom) was sent to \(contact.websiteEmail) through your alias "
                                + "\(alias.email), but the receiving server could not authenticate it (SPF and DKIM did not pass). "
                                + "Nothing was sent.")
            return .done(authentication.dmarc == "fail" ? .dmarcHandled : .spfFailed)
        }
        if try isRateLimited(aliasId: aliasId, primaryMailboxId: alias.mailboxId) { return .done(.rateLimited) }

        let originalId = original.value("Message-ID")
        let log = try store.insertEmailLog(EmailLog(userId: userId, aliasId: aliasId, contactId: contact.id, mailboxId: mailboxId,
                                                    isReply: true, messageId: originalId, createdAt: Date()))
        guard let logId = log.id else { return .done(.unexpected) }

        var message = original
        if message.value("Content-Transfer-Encoding") == nil { message.set("Content-Transfer-Encoding", "7bit") }
        message.fields.removeAll { !Self.replyKeptHeaders.contains($0.name.lowercased()) }

        // R-3.12 with Appendix A.
        for header in ["To", "Cc"] {
            let fields = message.fields(named: header)
            guard !fields.isEmpty else { continue }
            let raw = fields.map(\.value).joined(separator: ", ")
            if header == "To", raw.lowercased() == "undisclosed-recipients:;" { continue }
            var rewritten: [String] = []
            for entry in AddressList.parse(raw) {
                let address = entry.address.lowercased()
                if address == alias.email.lowercased() { continue }
                guard EmailAddress.isValid(address) else {
                    rewritten.append(MailboxFormatting.format(displayName: entry.name, address: entry.address))
                    continue
                }
                guard let target = try store.contact(reverseAlias: address) else {
                    try store.deleteEmailLog(id: logId)
                    await alertOwner(user, kind: "non_reverse_alias_reply",
                                     title: "Email sent to \(contact.websiteEmail) contains non reverse-alias addresses",
                                     body: "Your email to \(contact.websiteEmail) was not sent: \(entry.address) in \(header) is "
                                        + "not a reverse-alias. Write to contacts only through their reverse-alias, or "
                                        + "your real address would be revealed.", to: mailbox.email)
                    return .done(.delivered)
                }
                if target.aliasId == aliasId {
                    rewritten.append(MailboxFormatting.format(displayName: target.name, address: target.websiteEmail))
                } else {
                    rewritten.append(MailboxFormatting.format(displayName: entry.name, address: entry.address))
                }
            }
            message.removeAll(named: header)
            if !rewritten.isEmpty { message.set(header, rewritten.joined(separator: ", ")) }
        }

        // R-3.11
        let displayName = alias.name?.isEmpty == false ? alias.name : customDomain?.name
        message.set("From", MailboxFormatting.format(displayName: displayName, address: alias.email))

        // R-3.13: a Veil Message-ID, the same one when the message goes to several reverse-aliases.
        let aliasDomain = EmailAddress.domain(of: alias.email) ?? configuration.emailDomain
        var veilId = MessageID.make(domain: aliasDomain, idString: String(logId))
        if let originalId {
            veilId = try store.veilMessageId(forOriginal: originalId, proposed: veilId, logId: logId)
        }
        message.set("Message-ID", veilId)
        try store.setVeilMessageId(logId: logId, veilId)
        if let references = message.value("References") {
            let tokens = references.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let mapped = try store.veilMessageIds(forOriginals: tokens)
            message.set("References", tokens.map { mapped[$0] ?? $0 }.joined(separator: " "))
        }
        if message.value("Date") == nil { message.set("Date", RFC5322Date.string(from: Date())) }
        message.set("X-Veil-Type", "Reply")
        message.set("X-Veil-EmailLog-ID", String(logId))
        Self.scrub(&message, addresses: [mailbox.email, mailFrom], replacement: alias.email)

        let verpSender = verp.address(.bounceReply, objectId: logId, domain: aliasDomain)
        let outcome = await relayCopy(message, signingDomain: aliasDomain, from: verpSender, to: contact.websiteEmail, logId: logId)
        if outcome.status == .cannotReachMailbox {
            // R-3.17: the mailbox learns it; the inbound MTA gets 250 (nothing to retry).
            await alertOwner(user, kind: "reply_failed", title: "Email cannot be sent to \(contact.websiteEmail) from \(alias.email)",
                             body: "The relay refused your email to \(contact.websiteEmail) sent through \(alias.email).",
                             to: mailbox.email)
            return .done(.delivered)
        }
        return outcome
    }

    /// R-3.8: no header may still carry the mailbox address.
    static func scrub(_ message: inout Message, addresses: [String], replacement: String) {
        let needles = Set(addresses.filter { !$0.isEmpty }.map { $0.lowercased() })
        for index in message.fields.indices {
            var value = message.fields[index].value
            var changed = false
            for needle in needles where value.lowercased().contains(needle) {
                value = value.replacingOccurrences(of: needle, with: replacement, options: .caseInsensitive)
                changed = true
            }
            if changed { message.fields[index].rawValue = HeaderFolding.fold(name: message.fields[index].name, value: value) }
        }
    }

    // MARK: VERP recipients (spec/mail.md R-1.7, R-4.2, R-4.4)

    /// RFC 3834 `Auto-Submitted` other than `no`, or `Precedence: auto_reply/bulk/junk`.
    static func isAutomatic(_ message: Message) -> Bool {
        if let autoSubmitted = message.value("Auto-Submitted")?.lowercased(), autoSubmitted != "no" { return true }
        let precedence = message.value("Precedence")?.lowercased()
        return precedence == "auto_reply" || precedence == "bulk" || precedence == "junk"
    }

    func handleVERP(_ message: Message, address: VERPSigner.Address, mailFrom: String,
                    envelope: SMTPEnvelope) async throws -> [Outcome] {
        let isAutoReply = Self.isAutomatic(message)
        let report = DeliveryReport.parse(message)
        // R-4.1: a null-sender multipart/report is a bounce (DSNs carry `Auto-Submitted:
        // auto-replied` too); Appendix A: so is any other null-sender message that is not an
        // automatic reply. A delivery report that says only "delayed", "relayed", "delivered" or
        // "expanded" is a report too: logged, never forwarded (it names the mailbox).
        let isDeliveryReport = report.isMultipartReport || !report.recipients.isEmpty
        let isBounce = mailFrom.isEmpty && (isDeliveryReport ? report.isFailure : !isAutoReply)
        if isDeliveryReport, !isBounce {
            logger.info("delivery report", metadata: [
                "queue_id": "\(envelope.id)", "verp_kind": "\(address.kind)", "email_log": "\(address.objectId)",
                "action": "\(report.recipients.compactMap(\.action).joined(separator: ","))"])
            return [.done(.deliveryReportIgnored)]
        }
        switch address.kind {
        case .transactional:
            return [.done(isBounce ? MailStatus(250, "2.0.0", "E205", "bounce handled") : isAutoReply ? .outOfOffice : .unknownIgnored)]
        case .bounceForward, .bounceReply:
            guard let log = try store.emailLog(id: address.objectId) else { return [.done(.noSuchEmailLog)] }
            if !isBounce {
                guard isAutoReply else { return [.done(.unknownIgnored)] }
                return try await swapAutomaticReply(message, log: log, kind: address.kind, envelope: envelope)
            }
            let reason = report.reason
            let permanent = report.isPermanentFailure
            try store.markBounced(logId: address.objectId, mailboxId: log.mailboxId, reason: reason, permanent: permanent)
            if let user = try store.user(id: log.userId), let alias = try store.alias(id: log.aliasId, userId: log.userId) {
                let contact = try log.contactId.flatMap { try store.contact(id: $0, userId: log.userId) }
                let who = contact?.websiteEmail ?? "a contact"
                let mailboxes = try store.mailboxes(userId: log.userId)
                let mailbox = log.mailboxId.flatMap { id in mailboxes.first { $0.id == id } }
                if address.kind == .bounceForward, let mailbox, let mailboxId = mailbox.id {
                    // R-4.2/R-4.3: the owner learns it; a mailbox that keeps bouncing for good
                    // stops receiving until its owner re-enables it.
                    await alertOwner(user, kind: "bounce_forward", title: "An email sent to \(alias.email) cannot be delivered to your mailbox",
                                     body: "Email from \(who) to \(alias.email) cannot be delivered to \(mailbox.email): "
                                        + (reason ?? "unknown reason"))
                    let bounces = permanent ? try store.bounceCount(mailboxId: mailboxId, since: Date().addingTimeInterval(-86_400)) : 0
                    if bounces >= configuration.maxBouncesPerDay, !mailbox.disabled {
                        try store.markMailboxBouncing(id: mailboxId)
                        await alertBouncingMailbox(user, mailbox: mailbox, bounces: bounces, otherMailboxes: mailboxes)
                    }
                } else if address.kind == .bounceReply {
                    // R-4.4: the contact's address does not accept mail; the sending mailbox is told.
                    await alertOwner(user, kind: "bounce_reply", title: "Email cannot be sent to \(who) from your alias \(alias.email)",
                                     body: "\(who) does not accept mail: \(reason ?? "unknown reason")", to: mailbox?.email)
                }
            }
            return [.done(address.kind == .bounceForward ? .bounceForwardHandled : .bounceReplyHandled)]
        }
    }

    /// Tells the owner their mailbox stopped receiving and how to bring it back. The mail goes to
    /// the account address, or, when that is the bouncing mailbox, to another verified one.
    func alertBouncingMailbox(_ user: User, mailbox: Mailbox, bounces: Int, otherMailboxes: [Mailbox]) async {
        guard let userId = user.id, let mailboxId = mailbox.id else { return }
        var body = "\(bounces) emails forwarded to \(mailbox.email) bounced in the last 24 hours, so Veil stopped "
            + "forwarding to it. Mail to aliases that use only this mailbox is deferred for "
            + "\(Int(configuration.bouncingMailboxGrace / 86_400)) days (senders retry), then refused.\n\n"
            + "Once the mailbox accepts mail again, re-enable it: in your app, with "
            + "PUT /api/mailboxes/\(mailboxId) {\"enabled\": true}"
        if let url = configuration.publicURL,
           let token = try? store.issueCode(purpose: .mailboxVerification, policy: .link, userId: userId, mailboxId: mailboxId,
                                            channel: .link, recipient: mailbox.email) {
            body += ", or by opening this link (valid 24 hours):\n\n\(url)/mailbox/verify?token=\(token)"
        }
        body += "\n"
        var recipient: String?
        if user.email.lowercased() == mailbox.email.lowercased() {
            recipient = otherMailboxes.first { $0.id != mailboxId && $0.verified && !$0.disabled && !$0.adminDisabled }?.email
            if recipient == nil {
                // No other way to reach the owner: the notification in the app has to do.
                _ = try? store.insertNotification(userId: userId, title: "Your mailbox \(mailbox.email) is bouncing", message: body)
                return
            }
        }
        await alertOwner(user, kind: "mailbox_bouncing", title: "Your mailbox \(mailbox.email) is bouncing", body: body, to: recipient)
    }

    /// R-4.7: an automatic reply to a VERP address goes on to the other party. To the forward
    /// address (the user's mailbox answered automatically) it reaches the contact as a reply
    /// from the alias; to the reply address (the contact answered automatically) it is forwarded
    /// to the alias. `To` names the new recipient, `Reply-To` goes, `Auto-Submitted` stays, so
    /// the other side's responder does not answer it again (RFC 3834 §2).
    func swapAutomaticReply(_ original: Message, log: EmailLog, kind: VERPSigner.Kind,
                            envelope: SMTPEnvelope) async throws -> [Outcome] {
        guard let contactId = log.contactId, let contact = try store.contact(id: contactId, userId: log.userId),
              let alias = try store.alias(id: log.aliasId, userId: log.userId)
        else { return [.done(.unknownIgnored)] }
        var message = original
        message.removeAll(named: "Reply-To")
        if message.value("Auto-Submitted") == nil { message.set("Auto-Submitted", "auto-replied") }
        if kind == .bounceForward {
            guard let mailbox = try store.mailboxes(ofAlias: alias).first(where: { $0.id == log.mailboxId }) else {
                return [.done(.unknownIgnored)]
            }
            message.set("To", contact.replyEmail)
            return [try await reply(message, through: contact, mailFrom: mailbox.email, envelope: envelope, knownMailbox: mailbox)]
        }
        try store.markAutoReplied(logId: log.id ?? 0)
        message.set("To", alias.email)
        return try await forward(message, to: alias, mailFrom: contact.websiteEmail, envelope: envelope)
    }

}
