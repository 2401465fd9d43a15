import Hummingbird
import VeilCore
import VeilStore

/// What the dashboard needs of a request context; the API's context provides it, so pages and
/// API routes live on one router.
public protocol WebRequestContext: RequestContext {
    /// The client address, for rate limits keyed by IP.
    var remoteAddress: String? { get }
    var user: User? { get set }
    var webSession: WebSession? { get set }
}

/// The dashboard's cookies. The API reads the session cookie too, for the browser extension's
/// `POST /api/api_key` with `X-Sl-Allowcookies: true`.
public enum WebCookie {
    public static let session = "veil_session"
    /// Double-submit token for forms sent before there is a session (login, register).
    public static let csrf = "veil_csrf"
}
