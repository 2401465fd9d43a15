import Foundation
import HTTPTypes
import VeilCore
import VeilStore

/// Why a mailbox change was refused, with SimpleLogin's message.
public struct MailboxRefusal: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ message: String, status: HTTPResponse.Status = .badRequest) {
        self.status = status
        self.message = message
    }
}

extension Services {
    /// Why an address cannot be a mailbox, in SimpleLogin's words; nil when it can.
    public func mailboxProblem(_ email: String) throws -> String? {
        guard EmailAddress.isValid(email), let domain = EmailAddress.domain(of: email) else { return "Invalid email" }
        if configuration.aliasDomains.contains(domain) || domain == configuration.emailDomain {
            return "Invalid email: This email is a Veil domain"
        }
        if try store.customDomain(named: domain) != nil {
            return "Invalid email: This email address belongs to a custom domain that has already been registered"
        }
        if try store.isMailboxAddressUsed(email) { return "Email already used" }
        return nil
    }

    /// A new, unverified mailbox; the caller sends its verification mail.
    public func addMailbox(user: User, userId: Int64, address raw: String) throws -> Mailbox {
        guard rateLimiter.allow("mailbox-create:\(userId)", limits: [(20, .seconds(3600))]) else {
            throw MailboxRefusal("Rate limit exceeded", status: .tooManyRequests)
        }
        guard !raw.isEmpty else { throw MailboxRefusal("Invalid email") }
        let email = EmailAddress.sanitize(raw)
        guard EmailAddress.isValid(email) else { throw MailboxRefusal("Invalid email") }
        guard user.isPremium || user.inTrial(at: Date()) else { throw MailboxRefusal("Only available for paid plans") }
        if let problem = try mailboxProblem(email) { throw MailboxRefusal(problem) }
        do {
            return try store.createMailbox(userId: userId, email: email, verified: false)
        } catch StoreError.conflict {
            throw MailboxRefusal("Email already used")
        }
    }

    public func makeDefaultMailbox(_ mailbox: Mailbox, userId: Int64) throws {
        if mailbox.adminDisabled { throw MailboxRefusal("This mailbox has been disabled. Please contact support.") }
        guard mailbox.verified, let id = mailbox.id else { throw MailboxRefusal("Unverified mailbox cannot be used as default mailbox") }
        try store.setDefaultMailbox(userId: userId, mailboxId: id)
    }

    /// Deletes a mailbox that is not the default; its aliases move to `transferTo` (a verified
    /// mailbox of the user) or, without one, go with it.
    public func deleteMailbox(_ mailbox: Mailbox, user: User, userId: Int64, transferTo target: Int64?) throws {
        guard let mailboxId = mailbox.id else { return }
        if mailbox.adminDisabled {
            throw MailboxRefusal("This mailbox has been disabled and cannot be deleted. Please contact support.")
        }
        if mailboxId == user.defaultMailboxId { throw MailboxRefusal("Cannot delete your default mailbox") }
        if let target {
            guard let targetMailbox = try store.mailbox(id: target, userId: userId) else {
                throw MailboxRefusal("You must transfer the aliases to a mailbox you own")
            }
            if target == mailboxId { throw MailboxRefusal("You can not transfer the aliases to the mailbox you want to delete") }
            guard targetMailbox.verified else { throw MailboxRefusal("Your new mailbox is not verified") }
        }
        try store.deleteMailbox(id: mailboxId, userId: userId, transferTo: target)
    }
}
