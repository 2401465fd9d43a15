import Foundation
import VeilCore
import VeilMail
import VeilSMTP
import VeilStore

/// Forward phase: contact → alias → mailbox(es) (spec/mail.md section 2).
extension MailPipeline {
    /// every other header goes, in any case, all occurrences.
    static let forwardKeptHeaders: Set<String> = [
        "from", "to", "cc", "subject", "date", "message-id", "references", "in-reply-to", "x-sl-queue-id",
        "list-unsubscribe", "list-id", "list-unsubscribe-post", "mime-version", "content-type", "auto-submitted",
        "content-disposition", "content-transfer-encoding",
    ]

    /// Reads what it needs in one go (`Store.forwardContext`), decides, and writes the contact and
    /// the copies' logs in one transaction (`Store.recordMessage`) before relaying the copies.
    func forward(_ original: Message, to alias: Alias, mailFrom: String, envelope: SMTPEnvelope) async throws -> [Outcome] {
        guard let aliasId = alias.id else { return [.done(.emailNotExist)] }
        // the contact is the sender.
        let from = original.value("From").flatMap { AddressList.parse($0).first }
        var contactAddress = "", contactName = from?.name
        if let from, EmailAddress.isValid(from.address.lowercased()) {
            contactAddress = from.address
        } else if !mailFrom.isEmpty, EmailAddress.isValid(mailFrom) {
            contactAddress = mailFrom
            contactName = nil
        }
        if contactName?.contains("\0") == true { contactName = "" }
        guard let context = try store.forwardContext(alias: alias, senderAddress: contactAddress),
              let userId = context.user.id else { return [.done(.emailNotExist)] }
        let user = context.user
        //
        if user.disabled || user.deleteOn != nil { return [.done(.accountDisabled)] }
        if !context.domainVerified { return [.done(.unverifiedCustomDomain)] }
        let mailboxes = context.mailboxes
        // a mailbox writing to its own alias.
        if context.ownAddresses.contains(mailFrom) {
            await alertOwner(user, kind: "email_loop", title: "Email sent to \(alias.email) from its own mailbox \(mailFrom)",
                             body: "An email sent from \(mailFrom) to \(alias.email) was not forwarded: the mailbox "
                                + "\(mailFrom) already owns this alias, forwarding it would loop.")
            return [.done(.emailLoop)]
        }
        if context.senderIsReverseAlias {
            // another forwarder chained in front of a reverse-alias.
            await alertOwner(user, kind: "from_reverse_alias", title: "Veil shouldn't be used with another email forwarding system",
                             body: "An email to \(alias.email) came from \(contactAddress), which is one of your own "
                                + "reverse-aliases. It was not forwarded.", once: true)
            return [.done(.accountDisabled)]
        }
        let senderContact = Store.ContactRequest(
            alias: alias, websiteEmail: contactAddress, name: contactName.map { String($0.prefix(512)) },
            mailFrom: mailFrom.isEmpty ? nil : mailFrom, invalidEmail: contactAddress.isEmpty,
            reverseAliasDomain: configuration.emailDomain, includeSender: user.includeSenderInReverseAlias)
        let messageId = original.value("Message-ID")
        let blockedLog = EmailLog(userId: userId, aliasId: aliasId, contactId: nil, mailboxId: nil, blocked: true,
                                  messageId: messageId, createdAt: Date())

        // disabled or trashed alias, blocked contact (a new contact is never blocked).
        if !alias.enabled || alias.trashedAt != nil || context.senderContact?.blockForward == true {
            _ = try store.recordMessage(contact: senderContact, logs: [blockedLog])
            return [.done(user.blockBehaviour == .return5xx ? .emailNotExist : .delivered, delivered: true)]
        }
        // what the receiving MTA concluded about the sender's domain.
        let authentication = AuthenticationResults.trusted(in: original, trustedID: configuration.authservID)
        if authentication?.dmarcRejectsOrQuarantines == true {
            _ = try store.recordMessage(contact: senderContact, logs: [blockedLog])
            await alertOwner(user, kind: "dmarc_quarantine", title: "\(alias.email) has a new mail in quarantine",
                             body: "An email sent to \(alias.email) from \(contactAddress) has been quarantined: it fails the "
                                + "DMARC policy of the sender's domain, so it may be a forgery. It was not forwarded.")
            return [.done(.dmarcHandled)]
        }
        if try isRateLimited(aliasId: aliasId, primaryMailboxId: alias.mailboxId) { return [.done(.rateLimited)] }
        guard !mailboxes.isEmpty else { return [.done(.invalidMailbox)] }

        // the limit is checked on the original To + Cc.
        let toEntries = original.fields(named: "To").flatMap { AddressList.parse($0.value) }
        let ccEntries = original.fields(named: "Cc").flatMap { AddressList.parse($0.value) }
        if toEntries.count + ccEntries.count > configuration.maxForwardRecipients { return [.done(.tooManyRecipients)] }

        var message = original
        if message.value("Content-Transfer-Encoding") == nil { message.set("Content-Transfer-Encoding", "7bit") }
        let originalReplyTo = message.fields(named: "Reply-To").flatMap { AddressList.parse($0.value) }
        message.fields.removeAll { !Self.forwardKeptHeaders.contains($0.name.lowercased()) }

        // To / Cc, Cc first.
        func rewrite(_ entries: [MailboxAddress], isCc: Bool) throws -> [String]? {
            var rewritten: [String] = []
            for entry in entries {
                let address = entry.address
                if address.lowercased() == alias.email.lowercased() {
                    rewritten.append(MailboxFormatting.format(displayName: entry.name, address: address))
                } else if !address.allSatisfy(\.isASCII) {
                    continue
                } else if !EmailAddress.isValid(address.lowercased()) {
                    rewritten.append(MailboxFormatting.format(displayName: entry.name, address: address))
                } else {
                    if try store.contact(reverseAlias: address.lowercased()) != nil { return nil }
                    let other = try store.upsertContact(
                        alias: alias, websiteEmail: address, name: entry.name, mailFrom: nil, isCc: isCc,
                        reverseAliasDomain: configuration.emailDomain, includeSender: user.includeSenderInReverseAlias)
                    rewritten.append(user.senderFormat.fromHeader(contactName: other.name, contactEmail: other.websiteEmail,
                                                                  reverseAlias: other.replyEmail))
                }
            }
            return rewritten
        }
        guard let newCc = try rewrite(ccEntries, isCc: true), let newTo = try rewrite(toEntries, isCc: false) else {
            return [.done(.wrongUseOfReverseAlias)]
        }
        message.removeAll(named: "Cc")
        message.removeAll(named: "To")
        var toValue = newTo.joined(separator: ", ")
        let ccValue = newCc.joined(separator: ", ")
        if !(toValue + ccValue).lowercased().contains(alias.email.lowercased()) {
            toValue = toValue.isEmpty ? alias.email : toValue + ", " + alias.email
        }
        message.set("To", toValue)
        if !ccValue.isEmpty { message.set("Cc", ccValue) }

        // ids Veil gave to the user's replies turn back into the contact's own ids.
        try restoreOriginalIds(&message)

        //
        message.set("X-Veil-Envelope-To", alias.email)
        if message.value("Date") == nil { message.set("Date", RFC5322Date.string(from: Date())) }
        var replyTo: [String] = []
        for entry in originalReplyTo where entry.address.lowercased() != alias.email.lowercased() {
            guard entry.address.allSatisfy(\.isASCII), EmailAddress.isValid(entry.address.lowercased()),
                  try store.contact(reverseAlias: entry.address.lowercased()) == nil else { continue }
            let replyContact = try store.upsertContact(
                alias: alias, websiteEmail: entry.address, name: entry.name, mailFrom: nil,
                reverseAliasDomain: configuration.emailDomain, includeSender: user.includeSenderInReverseAlias)
            replyTo.append(user.senderFormat.fromHeader(contactName: replyContact.name, contactEmail: replyContact.websiteEmail,
                                                        reverseAlias: replyContact.replyEmail))
        }
        if !replyTo.isEmpty { message.set("Reply-To", replyTo.prefix(5).joined(separator: ", ")) }
        if authentication?.dmarc == "fail" || authentication?.dmarc == "softfail" {
            // a failing domain without a reject/quarantine policy is delivered, flagged.
            message.set("Subject", "[Possible phishing attempt] " + (message.value("Subject") ?? ""))
        }
        if senderContact.invalidEmail {
            // in a header rather than the body: the body is never re-encoded.
            message.set("X-Veil-Warning", "Email sent to \(alias.email) from an invalid address and cannot be replied")
        }

        // one copy per mailbox, primary first; the ones that cannot take mail say why.
        let aliasDomain = EmailAddress.domain(of: alias.email) ?? ""
        var outcomes: [Outcome] = []
        var deliverable: [Mailbox] = []
        let now = Date()
        for mailbox in mailboxes {
            guard let mailboxId = mailbox.id else { continue }
            if !mailbox.verified { outcomes.append(.done(.unverifiedMailbox)); continue }
            if context.mailboxIdsThatAreAliases.contains(mailboxId) {
                try store.markMailboxUnverified(id: mailboxId)
                await alertOwner(user, kind: "mailbox_is_alias", title: "Your mailbox \(mailbox.email) is an alias",
                                 body: "Your mailbox \(mailbox.email) is itself an alias, which would make mail loop. "
                                    + "It is now unverified: replace it by a real mailbox.")
                outcomes.append(.done(.aliasLoop))
                continue
            }
            if mailbox.disabled {
                let deferred = mailbox.disabledAt.map { now.timeIntervalSince($0) < configuration.bouncingMailboxGrace } ?? false
                outcomes.append(.done(deferred ? .bouncingMailbox : .disabledMailbox))
                continue
            }
            if mailbox.adminDisabled { outcomes.append(.done(MailStatus(250, "2.0.0", "E207", "No bounce report"))); continue }
            if EmailAddress.domain(of: mailbox.email.lowercased()) == aliasDomain {
                await alertOwner(user, kind: "mailbox_domain", title: "Your mailbox \(mailbox.email) shares the domain of \(alias.email)",
                                 body: "Mail to \(alias.email) cannot be forwarded to \(mailbox.email): both are on \(aliasDomain).")
                outcomes.append(.done(.mailboxDomainProblem))
                continue
            }
            deliverable.append(mailbox)
        }
        guard !deliverable.isEmpty else { return outcomes }

        let (contact, logs) = try store.recordMessage(contact: senderContact, logs: deliverable.map { mailbox in
            EmailLog(userId: userId, aliasId: aliasId, contactId: nil, mailboxId: mailbox.id, messageId: messageId, createdAt: now)
        })
        message.set("From", user.senderFormat.fromHeader(contactName: contact.name, contactEmail: contact.websiteEmail,
                                                         reverseAlias: contact.replyEmail))
        let verpDomain = EmailAddress.domain(of: contact.replyEmail) ?? configuration.emailDomain
        for (mailbox, log) in zip(deliverable, logs) {
            guard let logId = log.id else { continue }
            var copy = message
            copy.set("X-Veil-Type", "Forward")
            copy.set("X-Veil-EmailLog-ID", String(logId))
            let sender = verp.address(.bounceForward, objectId: logId, domain: verpDomain)
            outcomes.append(await relayCopy(copy, signingDomain: verpDomain, from: sender, to: mailbox.email, logId: logId))
        }
        return outcomes
    }

    /// `In-Reply-To` and `References` tokens that are Veil ids become the original ids.
    func restoreOriginalIds(_ message: inout Message) throws {
        let inReplyTo = message.value("In-Reply-To")
        let references = message.value("References")?.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) ?? []
        let candidates = references + (inReplyTo.map { [$0] } ?? [])
        guard !candidates.isEmpty else { return }
        let originals = try store.originalMessageIds(forVeilIds: candidates)
        guard !originals.isEmpty else { return }
        if let inReplyTo, let original = originals[inReplyTo] { message.set("In-Reply-To", original) }
        if !references.isEmpty { message.set("References", references.map { originals[$0] ?? $0 }.joined(separator: " ")) }
    }

    /// with Appendix A (on by default). The mailbox count is over the copies that mailbox
    /// received or sent, an index lookup whatever the number of aliases.
    func isRateLimited(aliasId: Int64, primaryMailboxId: Int64) throws -> Bool {
        guard configuration.rateLimits else { return false }
        let since = Date().addingTimeInterval(-60)
        if try store.emailLogCount(aliasId: aliasId, since: since) >= configuration.maxPerAliasPerMinute { return true }
        return try store.emailLogCount(mailboxId: primaryMailboxId, since: since) >= configuration.maxPerMailboxPerMinute
    }
}
