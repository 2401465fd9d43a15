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

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        let mailbox: Mailbox
        do {
            let body = try await request.optionalObject(context: context)
            mailbox = try services.addMailbox(user: user, userId: userId, address: body["email"]?.string ?? "")
        } catch let refusal as MailboxRefusal {
            throw APIError(refusal.status, refusal.message)
        }
        try await notifier.sendMailboxVerification(userId: userId, mailboxId: mailbox.id, to: mailbox.email)
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
            do {
                try services.makeDefaultMailbox(mailbox, userId: userId)
            } catch let refusal as MailboxRefusal {
                throw APIError(refusal.status, refusal.message)
            }
        }
        if let raw = body["email"]?.string {
            let email = EmailAddress.sanitize(raw)
            if email == mailbox.email.lowercased() { throw APIError.badRequest("Same email") }
            guard EmailAddress.isValid(email) else { throw APIError.badRequest("Invalid email") }
            if let problem = try services.mailboxProblem(email) { throw APIError.badRequest(problem) }
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
        let (mailbox, _) = try ownedMailbox(context, userId: userId)
        let target = body["transfer_aliases_to"]?.int.flatMap { $0 == -1 ? nil : $0 }
        do {
            try services.deleteMailbox(mailbox, user: user, userId: userId, transferTo: target)
        } catch let refusal as MailboxRefusal {
            throw APIError(refusal.status, refusal.message)
        }
        return .json(["deleted": true])
    }
}
