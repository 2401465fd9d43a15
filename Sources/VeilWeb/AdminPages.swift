import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// `/admin/`: for users marked admin — the instance's figures for today and the users with their
/// plan, aliases, mailboxes and state; make premium, disable, delete. To anyone else it does not exist.
extension Dashboard {
    func registerAdminPages(on web: RouterGroup<Context>) {
        web.get("admin/") { request, context in try adminPage(request, context) }
        web.writing(.post, "admin/users/:id/premium") { request, context in try await adminSetPremium(request, context) }
        web.writing(.post, "admin/users/:id/disable") { request, context in try await adminSetDisabled(request, context) }
        web.writing(.post, "admin/users/:id/delete") { request, context in try await adminDelete(request, context) }
    }

    func requireAdmin(_ request: Request, _ context: Context) throws -> (user: User, id: Int64, session: WebSession) {
        let signedIn = try requireUser(request, context)
        guard signedIn.user.isAdmin else { throw WebFailure(status: .notFound, message: "There is no such page.") }
        return signedIn
    }

    func adminPage(_ request: Request, _ context: Context) throws -> Response {
        let (_, adminId, _) = try requireAdmin(request, context)
        let query = request.uri.queryParameters.get("query").map { String($0.prefix(200)) } ?? ""
        let number = pageNumber(request, "page")
        let (rows, more) = try store.adminUsers(query: query.isEmpty ? nil : query, page: number)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let today = calendar.startOfDay(for: Date())
        let figures = try store.instanceFigures(since: today)
        let now = Date()
        var data: [String: Any] = [
            "figures": [
                "forwarded": figures.forwarded, "replied": figures.replied, "blocked": figures.blocked,
                "bounced": figures.bounced, "spam": figures.spam, "queued": figures.queued,
                "users": figures.users, "aliases": figures.aliases,
            ],
            "users": rows.map { row -> [String: Any] in
                let user = row.user
                let state = user.deleteOn != nil ? "being deleted" : user.disabled ? "disabled" : user.activated ? "active" : "not activated"
                return [
                    "id": user.id ?? 0, "email": user.email, "premium": user.isPremium,
                    "plan": user.isPremium ? "premium" : user.inTrial(at: now) ? "trial" : "free",
                    "aliases": row.aliasCount, "mailboxes": row.mailboxCount, "state": state, "disabled": user.disabled,
                    "isSelf": user.id == adminId, "isAdmin": user.isAdmin, "created": Templates.ago(user.createdAt, now: now),
                ]
            },
        ]
        if !query.isEmpty { data["query"] = query }
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        if number > 0 { data["previous"] = "/admin/?page=\(number - 1)&query=\(encoded)" }
        if more { data["next"] = "/admin/?page=\(number + 1)&query=\(encoded)" }
        return page("admin", title: "Admin", data, request: request, context: context)
    }

    /// The user of the path id; an admin acts on others, never on their own account here.
    func adminTarget(_ request: Request, _ context: Context) async throws -> (form: Form, user: User, id: Int64) {
        let form = try await form(request, context)
        let (_, adminId, _) = try requireAdmin(request, context)
        guard let id = pathId(context), let user = try store.user(id: id) else {
            throw WebFailure(status: .notFound, message: "There is no such user.")
        }
        guard id != adminId else { throw WebFailure(status: .badRequest, message: "Change your own account from the settings page.") }
        return (form, user, id)
    }

    func adminSetPremium(_ request: Request, _ context: Context) async throws -> Response {
        let (form, _, id) = try await adminTarget(request, context)
        let premium = form["premium"] == "on"
        _ = try store.updateUser(id: id) { $0.isPremium = premium }
        return redirect("/admin/", notice: .userUpdated)
    }

    func adminSetDisabled(_ request: Request, _ context: Context) async throws -> Response {
        let (form, _, id) = try await adminTarget(request, context)
        try store.setUserDisabled(id: id, form["disabled"] == "on")
        return redirect("/admin/", notice: .userUpdated)
    }

    func adminDelete(_ request: Request, _ context: Context) async throws -> Response {
        let (form, user, id) = try await adminTarget(request, context)
        guard form.text("confirm")?.lowercased() == user.email.lowercased() else {
            throw WebFailure(status: .badRequest, message: "Type the user's address to confirm the deletion.")
        }
        try store.scheduleDeletion(userId: id, at: Date())
        try store.deleteWebSessions(userId: id)
        return redirect("/admin/", notice: .userDeleted)
    }
}
