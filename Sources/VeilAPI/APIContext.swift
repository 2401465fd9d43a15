import Foundation
import Hummingbird
import NIOCore
import VeilCore
import VeilServices
import VeilStore

/// Per-request state: Hummingbird's core plus the authenticated user, set by `Authenticator`
/// (from an API key, or from the dashboard's session for the calls that allow cookies).
public struct APIContext: RequestContext, WebRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?
    public var apiKey: ApiKey?
    public var webSession: WebSession?
    /// The client address, for rate limits keyed by IP.
    public var remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies above this are refused with 413 before they are read in full.
    public var maxUploadSize: Int { 6 * 1024 * 1024 }

    /// The authenticated user; routes behind `Authenticator` can rely on it.
    func requireUser() throws -> (user: User, id: Int64) {
        guard let user, let id = user.id else { throw APIError(.unauthorized, "Wrong api key") }
        return (user, id)
    }
}

/// An error answered as `{"error": message}` with its status.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static let forbidden = APIError(.forbidden, "Forbidden")
    static let emptyBody = APIError(.badRequest, "request body cannot be empty")
    static let needSudo = APIError(HTTPResponse.Status(code: 440, reasonPhrase: "Need sudo"), "Need sudo")
    static let rateLimited = APIError(.tooManyRequests, "Rate limit exceeded")
}

extension Response {
    /// A JSON response with exactly `Content-Type: application/json` (some clients compare it whole).
    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter()
        value.write(to: &writer)
        return .json(writer, status: status)
    }

    static func json(_ writer: JSONWriter, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: writer.buffer))
    }
}

extension Request {
    /// The body as JSON: nil when there is no body, `.null` semantics left to the caller.
    /// Unparseable JSON is reported as `JSON.ParseError`.
    mutating func jsonBody(context: APIContext) async throws -> JSON? {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: context.maxUploadSize)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body too large")
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body too large")
        }
        guard buffer.readableBytes > 0 else { return nil }
        return try JSON.parse(buffer.readableBytesView)
    }

    /// A required JSON object: missing, unparseable, empty or `{}` → 400 `request body cannot be empty`.
    mutating func requiredObject(context: APIContext) async throws -> JSON {
        guard let body = try await parsedOrNil(context: context), body.isObject, !body.keys.isEmpty else {
            throw APIError.emptyBody
        }
        return body
    }

    /// An optional JSON object: anything that is not an object reads as an empty one.
    mutating func optionalObject(context: APIContext) async throws -> JSON {
        if let body = try await parsedOrNil(context: context), body.isObject { return body }
        return .object([])
    }

    /// The body as JSON, nil when empty or not JSON; an oversized body is still an error.
    private mutating func parsedOrNil(context: APIContext) async throws -> JSON? {
        do {
            return try await jsonBody(context: context)
        } catch is JSON.ParseError {
            return nil
        }
    }

    func query(_ name: String) -> String? { uri.queryParameters.get(name) }
    func hasQuery(_ name: String) -> Bool { uri.queryParameters[name[...]] != nil }

    /// 0-based `page_id`; missing or not an integer → 400.
    func pageId(_ name: String = "page_id") throws -> Int {
        guard let text = query(name), let page = Int(text), page >= 0 else {
            throw APIError.badRequest("\(name) must be provided in request query")
        }
        return page
    }
}

extension APIContext {
    /// An integer path parameter; anything else is a 404 as if the route did not match.
    func pathId(_ name: String) throws -> Int64 {
        guard let text = parameters.get(name), let id = Int64(text) else {
            throw APIError(.notFound, "Not found")
        }
        return id
    }
}

/// SimpleLogin's date format: `2020-04-06 17:57:14+00:00`.
enum APIDate {
    static func string(_ date: Date) -> String {
        TextFormat.utcDateTime(seconds(date), suffix: "+00:00")
    }

    static func timestamp(_ date: Date) -> JSON { .int(seconds(date)) }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

    static func write(_ date: Date, to json: inout JSONWriter) {
        json.utcDateTime(seconds(date), suffix: "+00:00")
    }
}
