import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// API keys, and the pages SimpleLogin's clients open: pricing, onboarding, setup done.
extension Dashboard {
    func registerAccountPages(on web: RouterGroup<Context>) {
        web.get("dashboard/api_key") { request, context in try apiKeys(request, context, newKey: nil, error: nil) }
        web.writing(.post, "dashboard/api_key") { request, context in try await createApiKey(request, context) }
        web.writing(.post, "dashboard/api_key/:id/delete") { request, context in try await revokeApiKey(request, context) }
        web.get("dashboard/pricing") { request, context in try pricing(request, context) }
        web.get("dashboard/setup_done") { request, context in
            _ = try requireUser(request, context)
            return page("setup_done", title: "All set", [
                "heading": "All set",
                "text": "Your browser extension is connected to your Veil account. Create an alias from it on any sign-up form.",
            ], request: request, context: context)
        }
        web.get("onboarding/final") { request, context in
            _ = try requireUser(request, context)
            return page("setup_done", title: "Welcome", [
                "heading": "You are ready",
                "text": "Your account is set up. The browser extension signs in with this session; come back here to manage your aliases.",
            ], request: request, context: context)
        }
    }

    func apiKeys(_ request: Request, _ context: Context, newKey: (name: String, key: String)?, error: String?) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let keys = try store.apiKeys(userId: userId)
        let now = Date()
        var data: [String: Any] = [
            "hasKeys": !keys.isEmpty,
            "keys": keys.map {
                ["id": $0.id, "name": $0.name, "createdAt": Templates.ago($0.createdAt, now: now),
                 "lastUsed": $0.lastUsed.map { Templates.ago($0, now: now) } ?? "never"] as [String: Any]
            },
        ]
        if let newKey { data["newKey"] = ["name": newKey.name, "key": newKey.key] }
        if let error { data["error"] = error }
        return page("api_keys", title: "API keys", data, request: request, context: context, status: error == nil ? .ok : .badRequest)
    }

    /// The new key is shown on this answer only (never stored in clear, never in a URL).
    func createApiKey(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        guard let name = form.text("name"), name.count <= 100 else {
            return try apiKeys(request, context, newKey: nil, error: "Give the key a name of 1 to 100 characters.")
        }
        let key = try store.createApiKey(userId: userId, name: name)
        return try apiKeys(request, context, newKey: (name, key), error: nil)
    }

    func revokeApiKey(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        guard let id = pathId(context), try store.deleteApiKey(id: id, userId: userId) else {
            throw WebFailure(status: .notFound, message: "There is no such API key in your account.")
        }
        return redirect("/dashboard/api_key", notice: .keyRevoked)
    }

    func pricing(_ request: Request, _ context: Context) throws -> Response {
        let (user, _, _) = try requireUser(request, context)
        let now = Date()
        let plan = user.isPremium ? "premium" : user.inTrial(at: now) ? "trial" : "free"
        var data: [String: Any] = ["plan": plan]
        if let limit = services.configuration.quota.limit(for: user) { data["limit"] = limit }
        if let admin = configuration.adminContact { data["admin"] = admin }
        return page("pricing", title: "Your plan", data, request: request, context: context)
    }
}
