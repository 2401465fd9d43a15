import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VeilCore
import VeilServices
import VeilStore

/// Turns every error into `{"error": ...}` — including the router's own 404 and 405 — and logs
/// one line per request: method, path (no query: it may carry secrets), status, duration.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = APIContext

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = .json(["error": .string(error.message)], status: error.status)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "Not found"
            case .methodNotAllowed: message = "Method not allowed"
            case .contentTooLarge: message = "request body too large"
            default: message = error.body ?? error.status.reasonPhrase
            }
            response = .json(["error": .string(message)], status: error.status)
        } catch is JSON.ParseError {
            response = .json(["error": "request body does not follow the required format"], status: .badRequest)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            response = .json(["error": "Internal error, please retry later"], status: .serviceUnavailable)
        }
        context.logger.info("http request", metadata: [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "duration_ms": "\(TextFormat.milliseconds(ContinuousClock.now - start))",
        ])
        return response
    }
}

/// Resolves the `Authentication` header to a user (spec/api.md §1.1).
struct Authenticator: RouterMiddleware {
    typealias Context = APIContext
    let store: Store

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var context = context
        if let key = request.headers[.authentication], !key.isEmpty {
            guard let (user, apiKey) = try store.authenticate(apiKey: key) else { throw APIError(.unauthorized, "Wrong api key") }
            context.user = user
            context.apiKey = apiKey
        } else if let (user, session) = try cookieSession(request) {
            context.user = user
            context.webSession = session
        } else {
            throw APIError(.unauthorized, "Wrong api key")
        }
        guard let user = context.user else { throw APIError(.unauthorized, "Wrong api key") }
        if let deleteOn = user.deleteOn, deleteOn <= Date() { throw APIError(.unauthorized, "Account does not exist") }
        if user.disabled { throw APIError(.forbidden, "Disabled account") }
        return try await next(request, context)
    }

    /// SimpleLogin's browser extension signs in with the dashboard's session: it calls with
    /// `X-Sl-Allowcookies: true` and its cookies. A web page on another site cannot send that
    /// header with cookies (the preflight does not allow it and no credentials are allowed), and
    /// the cookie is `SameSite=Lax`, so the header is the proof the call is not a forged one.
    func cookieSession(_ request: Request) throws -> (User, WebSession)? {
        guard request.headers[.allowCookies]?.lowercased() == "true",
              let token = request.cookies[WebCookie.session]?.value,
              let session = try store.webSession(token: token),
              let user = try store.user(id: session.userId)
        else { return nil }
        return (user, session)
    }
}

extension HTTPField.Name {
    /// SimpleLogin's API key header (not `Authorization`).
    static let authentication = HTTPField.Name("Authentication")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let twilioSignature = HTTPField.Name("X-Twilio-Signature")!
    static let webhookSecret = HTTPField.Name("X-Veil-Webhook-Secret")!
    static let allowCookies = HTTPField.Name("X-Sl-Allowcookies")!
}

/// Behind the reverse proxy on the same machine every peer is loopback: then the client is the
/// last address the proxy appended to `X-Forwarded-For` (earlier entries come from the client and
/// could be forged). Per-IP rate limits key on it.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = APIContext

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let peer = context.remoteAddress, peer.hasPrefix("127.") || peer == "::1",
              let forwarded = request.headers[.forwardedFor],
              let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty, last.count <= 45
        else { return try await next(request, context) }
        var context = context
        context.remoteAddress = last
        return try await next(request, context)
    }
}
