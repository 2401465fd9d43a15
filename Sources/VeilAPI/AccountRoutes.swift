import Crypto
import Foundation
import Hummingbird
import NIOPosix
import VeilCore
import VeilServices
import VeilStore

/// The signed-in user's account: info, keys, sudo, deletion, stats (spec/api.md §3).
struct AccountRoutes {
    let services: Services
    let publicURL: String
    var store: Store { services.store }
    static let sudoLifetime: TimeInterval = 300

    func register(on group: RouterGroup<APIContext>) {
        group.get("user_info") { _, context in try userInfo(context) }
        group.writing(.patch, "user_info") { request, context in try await updateUserInfo(request, context) }
        group.writing(.post, "api_key") { request, context in try await createApiKey(request, context) }
        group.writing(.get, "logout") { _, context in try logout(context) }
        group.writing(.get, "user/cookie_token") { _, context in try cookieToken(context) }
        group.writing(.patch, "sudo") { request, context in try await sudo(request, context) }
        group.writing(.delete, "user") { _, context in try deleteUser(context) }
        group.get("stats") { _, context in try stats(context) }
    }

    /// Pictures are served without the API key (an `<img>` cannot send it) under an unguessable,
    /// signed URL that changes with the picture (its version is the time it was set).
    func pictureToken(userId: Int64, version: Int64) throws -> String {
        let payload = "\(userId).\(version)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: try store.secret(.mediaSigning)))
        return payload + "." + Base64URL.encode(Data(mac).prefix(16))
    }

    func userInfoJSON(_ user: User, userId: Int64) throws -> JSON {
        let now = Date()
        let inTrial = !user.isPremium && user.inTrial(at: now)
        let pictureVersion = try store.profilePictureVersion(userId: userId)
        return [
            "name": .string(user.name ?? ""),
            "email": .string(user.email),
            "is_premium": .bool(user.isPremium || inTrial),
            "in_trial": .bool(inTrial),
            "trial_end_timestamp": inTrial ? (user.trialEnd.map(APIDate.timestamp) ?? .null) : .null,
            "max_alias_free_plan": .int(Int64(services.configuration.quota.limit(for: user) ?? services.configuration.quota.freeLimit)),
            "connected_proton_address": .null,
            "can_create_reverse_alias": .bool(user.isPremium || inTrial || !user.cannotCreateContacts
                                                || !services.configuration.disableCreateContactsForFree),
            "profile_picture_url": try pictureVersion.map { .string(publicURL + "/profile_picture/" + (try pictureToken(userId: userId, version: $0))) } ?? .null,
        ]
    }

    func userInfo(_ context: APIContext) throws -> Response {
        let (user, userId) = try context.requireUser()
        return .json(try userInfoJSON(user, userId: userId))
    }

    func updateUserInfo(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        let body = try await request.optionalObject(context: context)
        if let name = body["name"] {
            guard name.isNull || name.string != nil else { throw APIError.badRequest("request body does not follow the required format") }
            _ = try store.updateUser(id: userId) { $0.name = cleanName(name.string) }
        }
        if let picture = body["profile_picture"] {
            if picture.isNull {
                try store.setProfilePicture(userId: userId, data: nil, type: nil)
            } else {
                guard let text = picture.string, let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters),
                      let type = ImageType.detect(data)
                else { throw APIError.badRequest("Unsupported image format") }
                try store.setProfilePicture(userId: userId, data: data, type: type)
            }
        }
        guard let user = try store.user(id: userId) else { throw APIError(.unauthorized, "Wrong api key") }
        return .json(try userInfoJSON(user, userId: userId))
    }

    /// `GET /profile_picture/<user>.<version>.<signature>`, no key needed.
    func profilePicture(token: String) throws -> Response {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let userId = Int64(parts[0]), let version = try store.profilePictureVersion(userId: userId),
              constantTimeEquals(Array(try pictureToken(userId: userId, version: version).utf8), Array(token.utf8)),
              let picture = try store.profilePicture(userId: userId)
        else { throw APIError(.notFound, "No profile picture") }
        return Response(status: .ok, headers: [.contentType: picture.type, .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: picture.data)))
    }

    func requireSudo(_ context: APIContext) throws {
        guard let until = context.apiKey?.sudoUntil, until > Date() else { throw APIError.needSudo }
    }

    /// With a key, sudo first; with the dashboard's session (the extension's sign-in), the
    /// session is the person at their browser and no sudo is asked, as in SimpleLogin.
    func createApiKey(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        if context.webSession == nil { try requireSudo(context) }
        let body = try await request.requiredObject(context: context)
        let device = body["device"]?.string ?? "api"
        return .json(["api_key": .string(try store.createApiKey(userId: userId, name: device))], status: .created)
    }

    /// The key stays valid (as in SimpleLogin); a dashboard session used for the call ends, and
    /// the session cookie is cleared.
    func logout(_ context: APIContext) throws -> Response {
        if let session = context.webSession { try store.deleteWebSession(id: session.id) }
        var response = Response.json(["msg": "User is logged out"])
        response.setCookie(Cookie(name: WebCookie.session, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .lax))
        return response
    }

    /// A one-use token the mobile apps turn into a dashboard session at `/auth/api_to_cookie`.
    func cookieToken(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        guard services.rateLimiter.allow("cookie-token:\(userId)", limits: [(5, .seconds(60))]) else { throw APIError.rateLimited }
        return .json(["token": .string(try store.createWebLoginToken(userId: userId))])
    }

    func sudo(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        guard services.rateLimiter.allow("sudo:\(userId)", limits: [(5, .seconds(60))]) else { throw APIError.rateLimited }
        let password = try await request.optionalObject(context: context)["password"]?.string ?? ""
        let hash = user.passwordHash ?? PasswordRule.decoyHash
        let valid = try await NIOThreadPool.singleton.runIfActive { PasswordRule.verify(password, hash: hash) }
        guard valid, user.passwordHash != nil, let keyId = context.apiKey?.id else { throw APIError(.forbidden, "Invalid password") }
        try store.setSudo(keyId: keyId, until: Date().addingTimeInterval(Self.sudoLifetime))
        return .json(["ok": true])
    }

    func deleteUser(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        try requireSudo(context)
        try store.scheduleDeletion(userId: userId, at: Date())
        return .json(["ok": true])
    }

    func stats(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        let stats = try store.stats(userId: userId)
        return .json(["nb_alias": .int(Int64(stats.aliases)), "nb_forward": .int(Int64(stats.forward)),
                      "nb_reply": .int(Int64(stats.reply)), "nb_block": .int(Int64(stats.block))])
    }
}
