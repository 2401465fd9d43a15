import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import NIOPosix
import VeilCore
import VeilServices
import VeilStore

/// Settings of account creation and sign-in.
public struct AuthConfiguration: Sendable {
    public var registrationOpen: Bool
    /// New accounts from `/auth/register` get a trial of this length.
    public var trialDays: Int
    public var passwordCost: UInt8
    /// User-info endpoints that turn a provider's access token into an e-mail address
    /// (`GET` with `Authorization: Bearer <token>`, JSON answer with `email`). Nil: sign-in with
    /// that provider is off.
    public var googleUserInfoURL: URL?
    public var facebookUserInfoURL: URL?

    public init(registrationOpen: Bool = true, trialDays: Int = 7, passwordCost: UInt8 = PasswordRule.defaultCost,
                googleUserInfoURL: URL? = nil, facebookUserInfoURL: URL? = nil) {
        self.registrationOpen = registrationOpen
        self.trialDays = trialDays
        self.passwordCost = passwordCost
        self.googleUserInfoURL = googleUserInfoURL
        self.facebookUserInfoURL = facebookUserInfoURL
    }
}

/// `/api/auth/*`: unauthenticated account endpoints (spec/api.md §3).
struct AuthRoutes {
    let services: Services
    let configuration: AuthConfiguration
    let notifier: AccountMailer
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.writing(.post, "login") { request, context in try await login(request, context) }
        group.writing(.post, "mfa") { request, context in try await mfa(request, context) }
        group.writing(.post, "register") { request, context in try await registerUser(request, context) }
        group.writing(.post, "activate") { request, context in try await activate(request, context) }
        group.writing(.post, "reactivate") { request, context in try await reactivate(request, context) }
        group.writing(.post, "forgot_password") { request, context in try await forgotPassword(request, context) }
        group.writing(.post, "facebook") { request, context in
            try await social(request, context, tokenField: "facebook_token", endpoint: configuration.facebookUserInfoURL)
        }
        group.writing(.post, "google") { request, context in
            try await social(request, context, tokenField: "google_token", endpoint: configuration.googleUserInfoURL)
        }
    }

    func limit(_ context: APIContext, _ endpoint: String, perMinute: Int) async throws {
        let client = context.remoteAddress ?? "unknown"
        guard services.rateLimiter.allow("auth-\(endpoint):\(client)", limits: [(perMinute, .seconds(60))]) else {
            throw APIError.rateLimited
        }
    }

    /// The same limit per account, so guessing one password from many addresses is slow too.
    func limitAccount(_ endpoint: String, _ email: String?) async throws {
        guard let email else { return }
        let account = EmailAddress.canonical(email)
        guard services.rateLimiter.allow("auth-\(endpoint)-account:\(account)", limits: [(10, .seconds(60))]) else {
            throw APIError.rateLimited
        }
    }

    // MARK: Login and MFA

    func login(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        try await limit(context, "login", perMinute: 10)
        let body = try await request.requiredObject(context: context)
        try await limitAccount("login", body["email"]?.string)
        let password = body["password"]?.string ?? ""
        let user = try body["email"]?.string.flatMap(services.findUser)
        guard try await services.verifyPassword(password, hash: user?.passwordHash), let user, let userId = user.id else {
            throw APIError.badRequest("Email or password incorrect")
        }
        if user.disabled { throw APIError.badRequest("Account disabled") }
        if user.deleteOn != nil { throw APIError.badRequest("Account scheduled for deletion") }
        if !user.activated { throw APIError(.unprocessableContent, "Account not activated") }
        let mfa = try store.mfaSecret(userId: userId)
        if user.fidoEnabled, mfa?.enabled != true {
            throw APIError(.forbidden, "Currently we don't support FIDO on mobile yet")
        }
        return try loginAnswer(user, userId: userId, mfaEnabled: mfa?.enabled == true, device: body["device"]?.string)
    }

    /// What login answers once the user is known: an `mfa_key` when TOTP is on, else the
    /// device's API key (the same one on every login from that device).
    func loginAnswer(_ user: User, userId: Int64, mfaEnabled: Bool, device: String?) throws -> Response {
        if mfaEnabled {
            return .json(["name": .string(user.name ?? ""), "email": .string(user.email), "mfa_enabled": true,
                          "mfa_key": .string(try services.mfaKey(userId: userId, now: Date())), "api_key": .null])
        }
        return .json(["name": .string(user.name ?? ""), "email": .string(user.email), "mfa_enabled": false,
                      "mfa_key": .null, "api_key": .string(try store.loginKey(userId: userId, device: device ?? "api"))])
    }

    func mfa(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        try await limit(context, "mfa", perMinute: 10)
        let body = try await request.requiredObject(context: context)
        let now = Date()
        guard let key = body["mfa_key"]?.string, let userId = try services.userId(fromMFAKey: key, now: now),
              let user = try store.user(id: userId)
        else { throw APIError.badRequest("Invalid mfa_key") }
        guard let secret = try store.mfaSecret(userId: userId), secret.enabled, let totp = TOTP(base32Secret: secret.base32Secret) else {
            throw APIError.badRequest("This endpoint should only be used by user who enables MFA")
        }
        let token = body["mfa_token"]?.string ?? body["mfa_token"]?.int.map { String(format: "%06lld", $0) } ?? ""
        guard let step = totp.matchingCounter(token.trimmingCharacters(in: .whitespaces), at: now),
              try store.acceptTOTPStep(userId: userId, step: step)
        else {
            try? await notifier.sendFailedTOTPWarning(to: user.email)
            throw APIError.badRequest("Wrong TOTP Token")
        }
        let device = body["device"]?.string ?? "api"
        return .json(["name": .string(user.name ?? ""), "email": .string(user.email),
                      "api_key": .string(try store.loginKey(userId: userId, device: device))])
    }

    // MARK: Registration and activation

    func registerUser(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        try await limit(context, "register", perMinute: 10)
        let body = try await request.requiredObject(context: context)
        guard configuration.registrationOpen else { throw APIError.badRequest("registration is closed") }
        let typed = body["email"]?.string ?? ""
        let email = EmailAddress.canonical(typed)
        if try !services.personalInboxAllowed(email) { throw APIError.badRequest("cannot use \(typed) as personal inbox") }
        let password = body["password"]?.string ?? ""
        if password.count < PasswordRule.minLength { throw APIError.badRequest("password too short") }
        if password.count > PasswordRule.maxLength { throw APIError.badRequest("password too long") }
        let cost = configuration.passwordCost
        let hash = try await NIOThreadPool.singleton.runIfActive { PasswordRule.hash(password, cost: cost) }
        let user: User
        do {
            user = try store.createUser(email: email, name: typed.trimmingCharacters(in: .whitespaces), passwordHash: hash,
                                        activated: false, isPremium: false,
                                        trialEnd: Date().addingTimeInterval(TimeInterval(configuration.trialDays) * 86_400))
        } catch StoreError.conflict {
            throw APIError.badRequest("cannot use \(typed) as personal inbox")
        }
        guard let userId = user.id else { throw APIError.badRequest("cannot use \(typed) as personal inbox") }
        try await notifier.sendActivationCode(userId: userId, to: email)
        return .json(["msg": "User needs to confirm their account"])
    }

    func activate(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        try await limit(context, "activate", perMinute: 10)
        let body = try await request.requiredObject(context: context)
        try await limitAccount("activate", body["email"]?.string)
        guard let user = try body["email"]?.string.flatMap(services.findUser), let userId = user.id, !user.activated else {
            throw APIError.badRequest("Wrong email or code")
        }
        let code = body["code"]?.string ?? body["code"]?.int.map(String.init) ?? ""
        switch try store.attemptCode(code, purpose: .accountActivation, policy: .activation, userId: userId) {
        case .verified:
            try store.activateUser(id: userId)
            return .json(["msg": "Account is activated, user can login now"])
        case .exhausted:
            throw APIError(.gone, "Too many wrong tries")
        default:
            throw APIError.badRequest("Wrong email or code")
        }
    }

    func reactivate(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        try await limit(context, "reactivate", perMinute: 10)
        let body = try await request.requiredObject(context: context)
        guard let user = try body["email"]?.string.flatMap(services.findUser), let userId = user.id, !user.activated else {
            throw APIError.badRequest("Something went wrong")
        }
        if user.disabled { throw APIError.badRequest("User is disabled") }
        try await notifier.sendActivationCode(userId: userId, to: user.email)
        return .json(["msg": "User needs to confirm their account"])
    }

    func forgotPassword(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        try await limit(context, "forgot", perMinute: 2)
        guard let email = try await request.optionalObject(context: context)["email"]?.string else {
            throw APIError.badRequest("request body must contain email")
        }
        if let user = try services.findUser(email), let userId = user.id, !user.disabled {
            try await notifier.sendPasswordReset(userId: userId, to: user.email)
        }
        return .json(["ok": true])
    }

    /// Social sign-in: the provider's user-info endpoint vouches for the token's e-mail address.
    /// A new address gets an activated account (and a welcome e-mail); then it is a login.
    func social(_ request: Request, _ context: APIContext, tokenField: String, endpoint: URL?) async throws -> Response {
        var request = request
        try await limit(context, "social", perMinute: 10)
        let body = try await request.requiredObject(context: context)
        guard let endpoint else { throw APIError.badRequest("invalid login mechanism") }
        guard let token = body[tokenField]?.string, !token.isEmpty,
              let email = try await emailVouched(by: endpoint, token: token).map(EmailAddress.sanitize)
        else { throw APIError.badRequest("Invalid \(tokenField)") }
        var user = try services.findUser(email)
        if user == nil {
            guard configuration.registrationOpen else { throw APIError.badRequest("registration is closed") }
            guard try services.personalInboxAllowed(email) else { throw APIError.badRequest("cannot use \(email) as personal inbox") }
            let created = try store.createUser(email: email, name: nil, passwordHash: nil, activated: true, isPremium: false,
                                               trialEnd: Date().addingTimeInterval(TimeInterval(configuration.trialDays) * 86_400))
            try? await notifier.sendWelcome(to: email)
            user = created
        }
        guard let user, let userId = user.id else { throw APIError.badRequest("Invalid \(tokenField)") }
        if user.disabled { throw APIError.badRequest("Account disabled") }
        return try loginAnswer(user, userId: userId, mfaEnabled: try store.mfaSecret(userId: userId)?.enabled == true,
                               device: body["device"]?.string)
    }

    /// Asks the provider who the token belongs to; nil when it does not vouch for a verified address.
    func emailVouched(by endpoint: URL, token: String) async throws -> String? {
        guard var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else { return nil }
        let existing = components.queryItems ?? []
        components.queryItems = existing + [URLQueryItem(name: "access_token", value: token)]
        guard let url = components.url else { return nil }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              (response as? HTTPURLResponse)?.statusCode == 200, data.count < 1_000_000,
              let info = try? JSON.parse(data), let email = info["email"]?.string,
              info["email_verified"]?.bool != false, EmailAddress.isValid(EmailAddress.sanitize(email))
        else { return nil }
        return email
    }
}
