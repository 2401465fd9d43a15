import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// `/dashboard/mailbox`: the real mailboxes aliases forward to — add (with a verification mail),
/// resend, make default, re-enable one that bounced, delete with its aliases moved.
extension Dashboard {
    func registerMailboxPages(on web: RouterGroup<Context>) {
        web.get("dashboard/mailbox") { request, context in try mailboxList(request, context, error: nil, input: "") }
        web.writing(.post, "dashboard/mailbox") { request, context in try await addMailbox(request, context) }
        web.writing(.post, "dashboard/mailbox/:id/resend") { request, context in try await resendVerification(request, context) }
        web.writing(.post, "dashboard/mailbox/:id/default") { request, context in try await makeDefault(request, context) }
        web.writing(.post, "dashboard/mailbox/:id/enable") { request, context in try await reenable(request, context) }
        web.writing(.post, "dashboard/mailbox/:id/delete") { request, context in try await deleteMailbox(request, context) }
    }

    func mailboxList(_ request: Request, _ context: Context, error: String?, input: String,
                     status: HTTPResponse.Status = .ok) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let rows = try store.mailboxesWithAliasCounts(userId: userId, verifiedOnly: false)
        let verified = rows.map(\.0).filter(\.verified)
        let mailboxes: [[String: Any]] = rows.map { mailbox, aliasCount in
            let id = mailbox.id ?? 0
            let isDefault = id == user.defaultMailboxId
            var row: [String: Any] = [
                "id": id, "email": mailbox.email, "verified": mailbox.verified, "isDefault": isDefault,
                "aliasCount": aliasCount, "canDelete": !isDefault && !mailbox.adminDisabled,
                "canDefault": !isDefault && mailbox.verified && !mailbox.adminDisabled && !mailbox.disabled,
                "targets": verified.filter { $0.id != id }.map { ["id": $0.id ?? 0, "email": $0.email] as [String: Any] },
            ]
            if mailbox.adminDisabled {
                row["state"] = "Disabled by the administrator"
            } else if mailbox.disabled {
                row["state"] = mailbox.disabledAt != nil
                    ? "Receives nothing: disabled after repeated bounces. Fix the mailbox, then turn it back on."
                    : "Receives nothing: turned off."
                row["canEnable"] = true
            }
            if let pending = mailbox.newEmail { row["pending"] = pending }
            return row
        }
        var data: [String: Any] = [
            "mailboxes": mailboxes, "input": input,
            "canAdd": user.isPremium || user.inTrial(at: Date()),
        ]
        if let error { data["error"] = error }
        return page("mailboxes", title: "Mailboxes", data, request: request, context: context, status: status)
    }

    func ownedMailbox(_ context: Context, userId: Int64) throws -> Mailbox {
        guard let id = pathId(context), let mailbox = try store.mailbox(id: id, userId: userId) else {
            throw WebFailure(status: .notFound, message: "There is no such mailbox in your account.")
        }
        return mailbox
    }

    func addMailbox(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        let input = String((form.text("email") ?? "").prefix(320))
        let mailbox: Mailbox
        do {
            mailbox = try services.addMailbox(user: user, userId: userId, address: input)
        } catch let refusal as MailboxRefusal {
            return try mailboxList(request, context, error: refusal.message, input: input, status: refusal.status)
        }
        try await mailer.sendMailboxVerification(userId: userId, mailboxId: mailbox.id, to: mailbox.email)
        return redirect("/dashboard/mailbox", notice: .mailboxAdded)
    }

    func resendVerification(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let mailbox = try ownedMailbox(context, userId: userId)
        guard !mailbox.verified || mailbox.newEmail != nil else { return redirect("/dashboard/mailbox") }
        guard services.rateLimiter.allow("mailbox-resend:\(userId)", limits: [(5, .seconds(3600))]) else {
            throw WebFailure(status: .tooManyRequests, message: "Too many verification mails. Wait an hour and try again.")
        }
        try await mailer.sendMailboxVerification(userId: userId, mailboxId: mailbox.id, to: mailbox.newEmail ?? mailbox.email)
        return redirect("/dashboard/mailbox", notice: .verificationSent)
    }

    func makeDefault(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let mailbox = try ownedMailbox(context, userId: userId)
        do {
            try services.makeDefaultMailbox(mailbox, userId: userId)
        } catch let refusal as MailboxRefusal {
            return try mailboxList(request, context, error: refusal.message, input: "", status: refusal.status)
        }
        return redirect("/dashboard/mailbox", notice: .mailboxUpdated)
    }

    func reenable(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let mailbox = try ownedMailbox(context, userId: userId)
        if mailbox.adminDisabled {
            return try mailboxList(request, context, error: "This mailbox has been disabled. Please contact support.", input: "", status: .badRequest)
        }
        _ = try store.setMailboxEnabled(id: mailbox.id ?? 0, userId: userId, true)
        return redirect("/dashboard/mailbox", notice: .mailboxEnabled)
    }

    func deleteMailbox(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        let mailbox = try ownedMailbox(context, userId: userId)
        let target = form["transfer_to"].flatMap { Int64($0) }.flatMap { $0 == -1 ? nil : $0 }
        do {
            try services.deleteMailbox(mailbox, user: user, userId: userId, transferTo: target)
        } catch let refusal as MailboxRefusal {
            return try mailboxList(request, context, error: refusal.message, input: "", status: refusal.status)
        }
        return redirect("/dashboard/mailbox", notice: .mailboxDeleted)
    }
}
