import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VeilCore
import VeilServices
import VeilStore

/// Settings of the dashboard.
public struct WebConfiguration: Sendable {
    /// Where the dashboard is reached; `https://` makes cookies `Secure`.
    public var publicURL: String
    public var registrationOpen: Bool
    /// Accounts created on the register page get a trial of this length.
    public var trialDays: Int
    public var passwordCost: UInt8
    /// Shown on the pricing page of a self-hosted instance.
    public var adminContact: String?

    public init(publicURL: String, registrationOpen: Bool = true, trialDays: Int = 7,
                passwordCost: UInt8 = PasswordRule.defaultCost, adminContact: String? = nil) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.registrationOpen = registrationOpen
        self.trialDays = trialDays
        self.passwordCost = passwordCost
        self.adminContact = adminContact
    }

    var secureCookies: Bool { publicURL.lowercased().hasPrefix("https://") }
}

/// The web dashboard: server-rendered pages and plain forms (POST → redirect → GET) on the same
/// router as the API. Every page is scoped to the session's user.
public struct Dashboard<Context: WebRequestContext>: Sendable {
    let services: Services
    let mailer: AccountMailer
    let configuration: WebConfiguration
    let templates: Templates
    var store: Store { services.store }

    public init(services: Services, mailer: AccountMailer, configuration: WebConfiguration) {
        self.services = services
        self.mailer = mailer
        self.configuration = configuration
        self.templates = Templates.shared
    }

    public func register(on router: Router<Context>) {
        let web = router.group().add(middleware: WebMiddleware<Context>(store: store, secureCookies: configuration.secureCookies))
        web.get("static/veil.css") { _, _ in Templates.asset(PackageResources.veil_css, type: "text/css; charset=utf-8") }
        web.get("static/veil.js") { _, _ in Templates.asset(PackageResources.veil_js, type: "text/javascript; charset=utf-8") }
        registerAuthPages(on: web)
        registerAliasPages(on: web)
        registerAliasDetailPages(on: web)
        registerSettingsPages(on: web)
        registerMailboxPages(on: web)
        registerDomainPages(on: web)
        registerNotificationPages(on: web)
        registerDataPages(on: web)
        registerAdminPages(on: web)
        // Anything else under the dashboard's paths is a page that does not exist, shown as one.
        for prefix in ["dashboard", "auth", "onboarding", "admin"] {
            web.on("\(prefix)/**", method: .get) { _, _ -> Response in
                throw WebFailure(status: .notFound, message: "There is no such page.")
            }
        }
        registerAccountPages(on: web)
    }

    // MARK: Helpers every page uses

    /// The signed-in user, or a redirect to the login page that comes back here afterwards.
    func requireUser(_ request: Request, _ context: Context) throws -> (user: User, id: Int64, session: WebSession) {
        guard let user = context.user, let id = user.id, let session = context.webSession else {
            throw WebRedirect.login(next: request.uri.path)
        }
        return (user, id, session)
    }

    /// The token this request's forms carry: the session's, else the double-submit cookie's, else a new one.
    func csrfToken(_ request: Request, _ context: Context) -> String {
        context.webSession?.csrfToken ?? request.cookies[WebCookie.csrf]?.value.nonEmptyCSRF ?? WebSecurity.newCSRFToken()
    }

    /// A page written in code (by an `HTMLWriter`), in the layout. `csrf` is the token its forms carry.
    func page(html: HTMLWriter, csrf: String, title: String, request: Request, context: Context,
              status: HTTPResponse.Status = .ok) -> Response {
        let bytes = layout(title: title, csrf: csrf, request: request, context: context).write(content: html.string)
        var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        setCSRFCookie(&response, csrf: csrf, request: request, context: context)
        return response
    }

    /// A page from its template, in the layout.
    func page(_ template: String, title: String, _ data: [String: Any], request: Request, context: Context,
              status: HTTPResponse.Status = .ok) -> Response {
        var data = data
        let csrf = csrfToken(request, context)
        data["csrf"] = csrf
        data["title"] = title
        var response = templates.render(template, data, layout: layout(title: title, csrf: csrf, request: request, context: context),
                                        status: status)
        setCSRFCookie(&response, csrf: csrf, request: request, context: context)
        return response
    }

    func layout(title: String, csrf: String, request: Request, context: Context) -> Layout {
        var layout = Layout(title: title, csrf: csrf)
        if let user = context.user, context.webSession != nil {
            layout.account = Layout.Account(email: user.email, isAdmin: user.isAdmin)
        }
        layout.notice = request.uri.queryParameters.get("notice").flatMap(Notice.init(rawValue:))?.text
        return layout
    }

    /// Before login, forms carry a token that a cookie repeats (double submit).
    func setCSRFCookie(_ response: inout Response, csrf: String, request: Request, context: Context) {
        if context.webSession == nil, request.cookies[WebCookie.csrf]?.value.nonEmptyCSRF == nil {
            response.setCookie(Cookie(name: WebCookie.csrf, value: csrf, path: "/", secure: configuration.secureCookies,
                                      httpOnly: true, sameSite: .lax))
        }
    }

    /// The submitted form, once its CSRF token matches the session's (or, before login, the
    /// double-submit cookie's). Anything else is refused before a handler sees a field.
    func form(_ request: Request, _ context: Context, limit: Int = 64 * 1024) async throws -> Form {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            throw WebFailure(status: .contentTooLarge, message: "The form is too large.")
        }
        let form = Form(urlEncoded: String(buffer: body))
        try checkCSRF(form["csrf_token"], request, context)
        return form
    }

    /// The session's token (or, before login, the double-submit cookie's), compared in constant time.
    func checkCSRF(_ given: String?, _ request: Request, _ context: Context) throws {
        let expected = context.webSession?.csrfToken ?? request.cookies[WebCookie.csrf]?.value.nonEmptyCSRF
        guard let expected, let given, constantTimeEquals(Array(expected.utf8), Array(given.utf8)) else {
            throw WebFailure(status: .forbidden, message: "This form has expired. Go back, reload the page and send it again.")
        }
    }

    /// The path's `:id`, when it is a number.
    func pathId(_ context: Context) -> Int64? {
        context.parameters.get("id").flatMap { Int64($0) }
    }

    /// A submitted `multipart/form-data` form (one with a file), once its CSRF token matches.
    func multipartForm(_ request: Request, _ context: Context, limit: Int) async throws -> Multipart {
        var request = request
        guard let boundary = request.headers[.contentType].flatMap(Multipart.boundary(contentType:)) else {
            throw WebFailure(status: .badRequest, message: "This form must be sent with its file.")
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch {
            throw WebFailure(status: .contentTooLarge, message: "The file is too large.")
        }
        guard let form = Multipart(body: Array(body.readableBytesView), boundary: boundary) else {
            throw WebFailure(status: .badRequest, message: "The form could not be read. Send it again.")
        }
        try checkCSRF(form.text("csrf_token"), request, context)
        return form
    }

    /// 303 to `path` with a fixed notice (never text from the request).
    func redirect(_ path: String, notice: Notice? = nil) -> Response {
        let parts = path.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        var location = String(parts[0])
        if let notice { location += (location.contains("?") ? "&" : "?") + "notice=" + notice.rawValue }
        if parts.count == 2 { location += "#" + parts[1] }
        return Response(status: .seeOther, headers: [.location: location])
    }

    /// An internal path to return to after login; anything else (another site, `//host`) is the dashboard.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next.count < 500 else { return "/dashboard/" }
        return next
    }
}

/// The messages a redirect may show, by code.
enum Notice: String {
    case aliasCreated = "alias-created", aliasUpdated = "alias-updated", aliasTrashed = "alias-trashed"
    case aliasRestored = "alias-restored", keyRevoked = "key-revoked", activated, loggedOut = "logged-out"
    case passwordChanged = "password-changed", sessionsEnded = "sessions-ended"
    case contactCreated = "contact-created", contactExisted = "contact-existed", contactBlocked = "contact-blocked"
    case contactUnblocked = "contact-unblocked", contactDeleted = "contact-deleted"
    case settingsSaved = "settings-saved", passwordUpdated = "password-updated", mfaDisabled = "mfa-disabled"
    case mailboxAdded = "mailbox-added", verificationSent = "verification-sent", mailboxUpdated = "mailbox-updated"
    case mailboxEnabled = "mailbox-enabled", mailboxDeleted = "mailbox-deleted"
    case domainAdded = "domain-added", domainUpdated = "domain-updated", domainDeleted = "domain-deleted"
    case accountDeleted = "account-deleted", userUpdated = "user-updated", userDeleted = "user-deleted"
    case emailChangeSent = "email-change-sent"

    var text: String {
        switch self {
        case .aliasCreated: return "Alias created."
        case .aliasUpdated: return "Alias updated."
        case .aliasTrashed: return "Alias moved to the trash. You can restore it there for 30 days."
        case .aliasRestored: return "Alias restored."
        case .keyRevoked: return "API key revoked."
        case .activated: return "Your account is active. Log in to start."
        case .loggedOut: return "You are logged out."
        case .passwordChanged: return "Password changed. Log in with the new one."
        case .sessionsEnded: return "Every other session has been logged out."
        case .contactCreated: return "Contact created. Write to its reverse-alias to answer from your alias."
        case .contactExisted: return "This contact already exists."
        case .contactBlocked: return "Contact blocked: its mail to this alias is no longer forwarded."
        case .contactUnblocked: return "Contact unblocked."
        case .contactDeleted: return "Contact deleted."
        case .settingsSaved: return "Settings saved."
        case .passwordUpdated: return "Password changed. Your other sessions have been logged out."
        case .mfaDisabled: return "Two-factor login is off."
        case .mailboxAdded: return "Mailbox added. Open the link in the mail we sent to it to verify it."
        case .verificationSent: return "Verification mail sent."
        case .mailboxUpdated: return "Default mailbox changed."
        case .mailboxEnabled: return "Mailbox turned back on: it receives mail again."
        case .mailboxDeleted: return "Mailbox deleted."
        case .domainAdded: return "Domain added. Publish the records below, then check them."
        case .domainUpdated: return "Domain settings saved."
        case .domainDeleted: return "Domain deleted."
        case .accountDeleted: return "Your account is being deleted. Thank you for having used Veil."
        case .userUpdated: return "User updated."
        case .emailChangeSent: return "Open the link we sent to the new address: your account's address changes then."
        case .userDeleted: return "The account is being deleted."
        }
    }
}

extension String {
    /// A CSRF cookie value as we issue them; anything else is ignored.
    var nonEmptyCSRF: String? {
        count == 32 && allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } ? self : nil
    }
}
