import Foundation
import HTTPTypes
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

enum WebSecurity {
    static func newCSRFToken() -> String {
        SecureRandom.string(length: 32, alphabet: SecureRandom.lowercaseAlphanumerics)
    }

    /// Scripts and styles only from Veil itself; no framing; forms post only to Veil.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

/// Leaves a page for another: login when there is no session, else any path.
struct WebRedirect: Error {
    var location: String

    static func login(next: String) -> WebRedirect {
        WebRedirect(location: "/auth/login?next=" + encoded(next))
    }

    /// A path as a query value.
    static func encoded(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_."))) ?? "/dashboard/"
    }
}

/// A refusal shown to the person as a page with its status.
struct WebFailure: Error {
    var status: HTTPResponse.Status
    var message: String
}

/// Loads the session of the cookie, sets the headers every page carries, and turns errors into
/// HTML pages (the API's JSON error answers stay with the API's routes).
struct WebMiddleware<Context: WebRequestContext>: RouterMiddleware {
    let store: Store
    let secureCookies: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = request.cookies[WebCookie.session]?.value, let session = try store.webSession(token: token),
           let user = try store.user(id: session.userId), !user.disabled, user.deleteOn == nil {
            context.user = user
            context.webSession = session
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let redirect as WebRedirect {
            response = Response(status: .seeOther, headers: [.location: redirect.location])
        } catch let failure as WebFailure {
            response = Templates.shared.render("message", ["title": "Something is wrong", "message": failure.message],
                                               layout: Layout(title: "Something is wrong"), status: failure.status)
        } catch let error as HTTPError where error.status == .notFound {
            response = Templates.shared.render("message", ["title": "Not found", "message": "There is no such page here."],
                                               layout: Layout(title: "Not found"), status: .notFound)
        }
        response.headers[.contentSecurityPolicy] = WebSecurity.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
