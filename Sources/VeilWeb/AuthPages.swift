import Foundation
import Hummingbird
import NIOPosix
import VeilCore
import VeilServices
import VeilStore

/// Register, activate, log in (with TOTP), log out, forgot password, and the apps' way in
/// (`/auth/api_to_cookie`). The rate limits are the API's, under the same keys.
extension Dashboard {
    func registerAuthPages(on web: RouterGroup<Context>) {
        web.get("auth/login") { request, context in
            if context.webSession != nil { return redirect(Self.safeNext(request.uri.queryParameters.get("next"))) }
            return loginPage(request, context, email: "", error: nil)
        }
        web.writing(.post, "auth/login") { request, context in try await login(request, context) }
        web.writing(.post, "auth/mfa") { request, context in try await mfa(request, context) }
        web.get("auth/register") { request, context in
            page("register", title: "Create an account", ["closed": !configuration.registrationOpen], request: request, context: context)
        }
        web.writing(.post, "auth/register") { request, context in try await registerAccount(request, context) }
        web.writing(.get, "auth/activate") { request, context in
            if let token = request.uri.queryParameters.get("token") { return try activateByLink(token, request, context) }
            return activatePage(request, context, email: request.uri.queryParameters.get("email") ?? "", error: nil)
        }
        web.writing(.post, "auth/activate") { request, context in try await activate(request, context) }
        web.writing(.post, "auth/resend_activation") { request, context in try await resendActivation(request, context) }
        web.get("auth/forgot_password") { request, context in forgotPage(request, context, sent: false) }
        web.writing(.post, "auth/forgot_password") { request, context in try await forgotPassword(request, context) }
        web.writing(.post, "auth/logout") { request, context in try await logout(request, context) }
        web.writing(.get, "auth/api_to_cookie") { request, context in try await apiToCookie(request, context) }
    }

    func allow(_ context: Context, _ endpoint: String, perMinute: Int) throws {
        let client = context.remoteAddress ?? "unknown"
        guard services.rateLimiter.allow("auth-\(endpoint):\(client)", limits: [(perMinute, .seconds(60))]) else {
            throw WebFailure(status: .tooManyRequests, message: "Too many attempts. Wait a minute and try again.")
        }
    }

    func allowAccount(_ endpoint: String, _ email: String) throws {
        guard services.rateLimiter.allow("auth-\(endpoint)-account:\(EmailAddress.canonical(email))", limits: [(10, .seconds(60))]) else {
            throw WebFailure(status: .tooManyRequests, message: "Too many attempts. Wait a minute and try again.")
        }
    }

    // MARK: Login

    func loginPage(_ request: Request, _ context: Context, email: String, error: String?, next: String? = nil) -> Response {
        var data: [String: Any] = ["email": email, "next": Self.safeNext(next ?? request.uri.queryParameters.get("next"))]
        if let error { data["error"] = error }
        return page("login", title: "Log in", data, request: request, context: context, status: error == nil ? .ok : .badRequest)
    }

    func login(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        try allow(context, "login", perMinute: 10)
        let email = form.text("email") ?? ""
        let next = Self.safeNext(form["next"])
        try allowAccount("login", email)
        let user = try email.isEmpty ? nil : services.findUser(email)
        guard try await services.verifyPassword(form["password"] ?? "", hash: user?.passwordHash), let user, let userId = user.id else {
            return loginPage(request, context, email: email, error: "Email or password incorrect", next: next)
        }
        if user.disabled { return loginPage(request, context, email: email, error: "Account disabled", next: next) }
        if user.deleteOn != nil { return loginPage(request, context, email: email, error: "Account scheduled for deletion", next: next) }
        if !user.activated {
            return redirect("/auth/activate?email=" + (user.email.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        if try store.mfaSecret(userId: userId)?.enabled == true {
            return page("mfa", title: "Two-factor code", ["mfaKey": try services.mfaKey(userId: userId, now: Date()), "next": next],
                        request: request, context: context)
        }
        return try startSession(userId: userId, request: request, context: context, next: next)
    }

    func mfa(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        try allow(context, "mfa", perMinute: 10)
        let now = Date()
        let next = Self.safeNext(form["next"])
        guard let key = form["mfa_key"], let userId = try services.userId(fromMFAKey: key, now: now),
              let user = try store.user(id: userId), !user.disabled,
              let secret = try store.mfaSecret(userId: userId), secret.enabled, let totp = TOTP(base32Secret: secret.base32Secret)
        else { return loginPage(request, context, email: "", error: "The login took too long. Log in again.", next: next) }
        let code = String((form["code"] ?? "").filter { !$0.isWhitespace }.prefix(32))
        let accepted: Bool
        if code.allSatisfy(\.isNumber) {
            accepted = try totp.matchingCounter(code, at: now).map { try store.acceptTOTPStep(userId: userId, step: $0) } ?? false
        } else {
            accepted = try store.useRecoveryCode(userId: userId, code: code, now: now)
        }
        guard accepted else {
            try? await mailer.sendFailedTOTPWarning(to: user.email)
            return page("mfa", title: "Two-factor code", ["mfaKey": key, "next": next, "error": "Wrong code. Try the current one."],
                        request: request, context: context, status: .badRequest)
        }
        return try startSession(userId: userId, request: request, context: context, next: next)
    }

    /// A new session (any earlier one of this browser ends: the token changes at every login).
    func startSession(userId: Int64, request: Request, context: Context, next: String) throws -> Response {
        if let old = context.webSession { try store.deleteWebSession(id: old.id) }
        let (token, _) = try store.createWebSession(userId: userId, userAgent: request.headers[.userAgent])
        var response = redirect(next)
        response.setCookie(Cookie(name: WebCookie.session, value: token, maxAge: Int(Store.webSessionLifetime), path: "/",
                                  secure: configuration.secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }

    func logout(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        if let session = context.webSession { try store.deleteWebSession(id: session.id) }
        var response = redirect("/auth/login", notice: .loggedOut)
        response.setCookie(Cookie(name: WebCookie.session, value: "", maxAge: 0, path: "/", secure: configuration.secureCookies,
                                  httpOnly: true, sameSite: .lax))
        return response
    }

    /// The mobile apps' "open the dashboard": a one-use token from `GET /api/user/cookie_token`.
    func apiToCookie(_ request: Request, _ context: Context) async throws -> Response {
        try allow(context, "api-to-cookie", perMinute: 10)
        guard let token = request.uri.queryParameters.get("token"), let userId = try store.redeemWebLoginToken(token),
              let user = try store.user(id: userId), !user.disabled, user.deleteOn == nil
        else { throw WebFailure(status: .badRequest, message: "This link is invalid or has expired. Open the dashboard from your app again.") }
        return try startSession(userId: userId, request: request, context: context, next: Self.safeNext(request.uri.queryParameters.get("next")))
    }

    // MARK: Registration and activation

    func registerAccount(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        try allow(context, "register", perMinute: 10)
        guard configuration.registrationOpen else {
            return page("register", title: "Create an account", ["closed": true], request: request, context: context, status: .forbidden)
        }
        let typed = form.text("email") ?? ""
        let email = EmailAddress.canonical(typed)
        let password = form["password"] ?? ""
        func refuse(email emailError: String? = nil, password passwordError: String? = nil) -> Response {
            var data: [String: Any] = ["closed": false, "email": typed]
            if let emailError { data["emailError"] = emailError }
            if let passwordError { data["passwordError"] = passwordError }
            return page("register", title: "Create an account", data, request: request, context: context, status: .badRequest)
        }
        guard try services.personalInboxAllowed(email) else { return refuse(email: "cannot use \(typed) as personal inbox") }
        if password.count < PasswordRule.minLength { return refuse(password: "password too short") }
        if password.count > PasswordRule.maxLength { return refuse(password: "password too long") }
        let cost = configuration.passwordCost
        let hash = try await NIOThreadPool.singleton.runIfActive { PasswordRule.hash(password, cost: cost) }
        let user: User
        do {
            user = try store.createUser(email: email, name: typed, passwordHash: hash, activated: false, isPremium: false,
                                        trialEnd: Date().addingTimeInterval(TimeInterval(configuration.trialDays) * 86_400))
        } catch StoreError.conflict {
            return refuse(email: "cannot use \(typed) as personal inbox")
        }
        guard let userId = user.id else { return refuse(email: "cannot use \(typed) as personal inbox") }
        try await mailer.sendActivationCode(userId: userId, to: email)
        return redirect("/auth/activate?email=" + (email.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    func activatePage(_ request: Request, _ context: Context, email: String, error: String?) -> Response {
        var data: [String: Any] = ["email": email]
        if let error { data["error"] = error }
        return page("activate", title: "Activate your account", data, request: request, context: context,
                    status: error == nil ? .ok : .badRequest)
    }

    func activate(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        try allow(context, "activate", perMinute: 10)
        let email = form.text("email") ?? ""
        try allowAccount("activate", email)
        guard let user = try services.findUser(email), let userId = user.id, !user.activated else {
            return activatePage(request, context, email: email, error: "Wrong email or code")
        }
        switch try store.attemptCode(form.text("code") ?? "", purpose: .accountActivation, policy: .activation, userId: userId) {
        case .verified:
            try store.activateUser(id: userId)
            return redirect("/auth/login", notice: .activated)
        case .exhausted:
            return activatePage(request, context, email: email, error: "Too many wrong tries. Send a new code.")
        default:
            return activatePage(request, context, email: email, error: "Wrong email or code")
        }
    }

    /// The link of the activation mail: one use, a day.
    func activateByLink(_ token: String, _ request: Request, _ context: Context) throws -> Response {
        try allow(context, "activate", perMinute: 10)
        guard token.count <= 100, let code = try store.redeemLink(token, purpose: .accountActivation),
              let userId = code.userId, let user = try store.user(id: userId), !user.disabled
        else {
            return activatePage(request, context, email: "", error: "This link is invalid or has expired. Enter the code from the mail, or ask for a new one.")
        }
        if !user.activated { try store.activateUser(id: userId) }
        return redirect("/auth/login", notice: .activated)
    }

    func resendActivation(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        try allow(context, "reactivate", perMinute: 10)
        let email = form.text("email") ?? ""
        // The same answer whether the account exists or not.
        if let user = try services.findUser(email), let userId = user.id, !user.activated, !user.disabled {
            try await mailer.sendActivationCode(userId: userId, to: user.email)
        }
        return activatePage(request, context, email: email, error: nil)
    }

    // MARK: Forgotten password

    func forgotPage(_ request: Request, _ context: Context, sent: Bool) -> Response {
        page("message", title: sent ? "Check your mailbox" : "Forgot your password?", [
            "message": sent ? "If an account uses that address, a link to choose a new password is on its way. It is valid for one hour."
                : "Enter your account's address on the form below; we send a link to choose a new password.",
            "forgotForm": !sent,
            "link": ["href": "/auth/login", "text": "Back to log in"],
        ], request: request, context: context)
    }

    func forgotPassword(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        try allow(context, "forgot", perMinute: 2)
        if let email = form.text("email"), let user = try services.findUser(email), let userId = user.id, !user.disabled {
            try await mailer.sendPasswordReset(userId: userId, to: user.email)
        }
        return forgotPage(request, context, sent: true)
    }
}
