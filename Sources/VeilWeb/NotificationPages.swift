import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// The notifications Veil left for the user, and the mail it did not deliver (blocked, bounced
/// by a mailbox, spam). Keeping refused mail to release it comes with the quarantine.
extension Dashboard {
    func registerNotificationPages(on web: RouterGroup<Context>) {
        web.get("dashboard/notifications") { request, context in try notifications(request, context) }
        web.writing(.post, "dashboard/notifications/:id/read") { request, context in try await markRead(request, context) }
        web.get("dashboard/quarantine") { request, context in try refused(request, context) }
    }

    func notifications(_ request: Request, _ context: Context) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let number = pageNumber(request, "page")
        let (items, more) = try store.notificationPage(userId: userId, page: number)
        let now = Date()
        var data: [String: Any] = ["notifications": items.map { item -> [String: Any] in
            ["id": item.id ?? 0, "title": item.title ?? "", "message": item.message, "read": item.read,
             "when": Templates.ago(item.createdAt, now: now)]
        }]
        if number > 0 { data["previous"] = "/dashboard/notifications?page=\(number - 1)" }
        if more { data["next"] = "/dashboard/notifications?page=\(number + 1)" }
        return page("notifications", title: "Notifications", data, request: request, context: context)
    }

    func markRead(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        guard let id = pathId(context), try store.markNotificationRead(id: id, userId: userId) else {
            throw WebFailure(status: .notFound, message: "There is no such notification in your account.")
        }
        return redirect("/dashboard/notifications")
    }

    func refused(_ request: Request, _ context: Context) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let number = pageNumber(request, "page")
        let (items, more) = try store.refusedMail(userId: userId, page: number)
        let now = Date()
        var data: [String: Any] = ["items": items.map { item -> [String: Any] in
            var row: [String: Any] = [
                "alias": item.aliasEmail, "aliasId": item.log.aliasId, "sender": item.sender ?? "unknown sender",
                "reason": Self.refusalReason(item.log), "when": Templates.ago(item.log.createdAt, now: now),
            ]
            if let detail = item.log.bounceReason, !detail.isEmpty { row["detail"] = String(detail.prefix(300)) }
            return row
        }]
        if number > 0 { data["previous"] = "/dashboard/quarantine?page=\(number - 1)" }
        if more { data["next"] = "/dashboard/quarantine?page=\(number + 1)" }
        return page("quarantine", title: "Refused mail", data, request: request, context: context)
    }

    static func refusalReason(_ log: EmailLog) -> String {
        if log.isSpam { return "Spam" }
        if log.bounced { return "Your mailbox refused it" }
        return "Blocked (disabled alias or blocked sender)"
    }
}
