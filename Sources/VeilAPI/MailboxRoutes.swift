import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// The user's real mailboxes (spec/api.md §6).
struct MailboxRoutes {
    let services: Services
    let notifier: AccountMailer
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.get("v2/mailboxes") { _, context in try list(context, verifiedOnly: false) }
        group.get("mailboxes") { _, context in try list(context, verifiedOnly: true) }
        group.writing(.post, "mailboxes") { request, context in try await create(request, context) }
        group.writing(.put, "mailboxes/:mailbox_id") { request, context in try await update(request, context) }
        group.writing(.delete, "mailboxes/:mailbox_id") { request, context in try await delete(request, context) }
    }

    func list(_ context: APIContext, verifiedOnly: Bool) throws -> Response {
        let (user, userId) = try context.requireUser()
        let rows = try store.mailboxesWithAliasCounts(userId: userId, verifiedOnly: verifiedOnly)
        return .json(["mailboxes": .array(rows.map { Serialize.mailbox($0.0, isDefault: $0.0.id == user.defaultMailboxId, aliasCount: $0.1) })])
    }

    /// Why an address cannot be a mailbox, in SimpleLogin's words; nil when it can.
    func mailboxProblem(_ email: String) throws -> String? {
        guard EmailAddress.isValid(email), let domain = EmailAddress.domain(of: email) else { return "Invalid email" }
        if services.configuration.aliasDomains.contains(domain) || domain == services.configuration.emailDomain {
            return "Invalid email: This email is a Veil domain"
        }
        if try store.customDomain(named: domain) != nil {
            return "Invalid email: This email address belongs to a custom domain that has already been registered"
        }
        if try store.isMailboxAddressUsed(email) { return "Email already used" }
        return nil
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        guard services.rateLimiter.allow("mailbox-create:\(userId)", limits: [(20, .seconds(3600))]) else { throw APIError.rateLimited }
        let body = try await request.optionalObject(context: context)
        guard let raw = body["email"]?.string, !raw.isEmpty else { throw APIError.badRequest("Invalid email") }
        let email = EmailAddress.sanitize(raw)
        guard EmailAddress.isValid(email) else { throw APIError.badRequest("Invalid email") }
        guard user.isPremium || user.inTrial(at: Date()) else { throw APIError.badRequest("Only available for paid plans") }
        if let problem = try mailboxProblem(email) { throw APIError.badRequest(problem) }
        let mailbox: Mailbox
        do {
            mailbox = try store.createMailbox(userId: userId, email: email, verified: false)
        } catch StoreError.conflict {
            throw APIError.badRequest("Email already used")
        }
        try await notifier.sendMailboxVerification(userId: userId, mailboxId: mailbox.id, to: email)
        return .json(Serialize.mailbox(mailbox, isDefault: false, aliasCount: 0), status: .created)
    }

    /// The caller's mailbox named in the path; 403 `Forbidden` otherwise.
    func ownedMailbox(_ context: APIContext, userId: Int64) throws -> (Mailbox, Int64) {
        guard let mailbox = try store.mailbox(id: try context.pathId("mailbox_id"), userId: userId), let mailboxId = mailbox.id else {
            throw APIError.forbidden
        }
        return (mailbox, mailboxId)
    }

    func update(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        let body = try await request.optionalObject(context: context)
        let (mailbox, mailboxId) = try ownedMailbox(context, userId: userId)
        if mailbox.adminDisabled { throw APIError.badRequest("This mailbox has been disabled. Please contact support.") }
        if body["default"]?.bool == true {
            guard mailbox.verified else { throw APIError.badRequest("Unverified mailbox cannot be used as default mailbox") }
            try store.setDefaultMailbox(userId: userId, mailboxId: mailboxId)
        }
        if let raw = body["email"]?.string {
            let email = EmailAddress.sanitize(raw)
            if email == mailbox.email.lowercased() { throw APIError.badRequest("Same email") }
            guard EmailAddress.isValid(email) else { throw APIError.badRequest("Invalid email") }
            if let problem = try mailboxProblem(email) { throw APIError.badRequest(problem) }
            _ = try store.updateMailbox(id: mailboxId, userId: userId) { $0.newEmail = email }
            try await notifier.sendMailboxVerification(userId: userId, mailboxId: mailboxId, to: email)
        }
        if let enabled = body["enabled"] {
            // Veil's own: a mailbox disabled after repeated bounces comes back this way.
            guard let value = enabled.bool else { throw APIError.badRequest("enabled must be a boolean") }
            _ = try store.setMailboxEnabled(id: mailboxId, userId: userId, value)
        }
        if body["cancel_email_change"]?.bool == true {
            _ = try store.updateMailbox(id: mailboxId, userId: userId) { $0.newEmail = nil }
        }
        return .json(["updated": true])
    }

    func delete(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        let body = try await request.optionalObject(context: context)
        let (mailbox, mailboxId) = try ownedMailbox(context, userId: userId)
        if mailbox.adminDisabled {
            throw APIError.badRequest("This mailbox has been disabled and cannot be deleted. Please contact support.")
        }
        if mailboxId == user.defaultMailboxId { throw APIError.badRequest("Cannot delete your default mailbox") }
        var transferTo: Int64?
        if let target = body["transfer_aliases_to"]?.int, target != -1 {
            guard let targetMailbox = try store.mailbox(id: target, userId: userId) else {
                throw APIError.badRequest("You must transfer the aliases to a mailbox you own")
            }
            if target == mailboxId { throw APIError.badRequest("You can not transfer the aliases to the mailbox you want to delete") }
            guard targetMailbox.verified else { throw APIError.badRequest("Your new mailbox is not verified") }
            transferTo = target
        }
        try store.deleteMailbox(id: mailboxId, userId: userId, transferTo: transferTo)
        return .json(["deleted": true])
    }
}
