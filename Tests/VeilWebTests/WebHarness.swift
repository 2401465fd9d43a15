import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VeilAPI
import VeilCore
import VeilDNS
import VeilServices
import VeilStore
@testable import VeilWeb

/// The dashboard and the API on one router over a real temporary SQLite file. Mail the pages
/// send is caught in memory (the browser test catches it with a real SMTP listener).
struct WebHarness {
    let store: Store
    let services: Services
    let outbox = Outbox()
    static let domain = "veil.test"

    init(freeLimit: Int = 5, rateLimits: Bool = false, registrationOpen: Bool = true, dnsResolver: String? = nil) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-web-\(UUID().uuidString)/veil.sqlite").path
        store = try Store(path: path)
        try store.migrate()
        // Nothing answers on port 9: without a test DNS server, lookups fail fast.
        services = try Services(store: store, configuration: ServiceConfiguration(
            aliasDomains: [Self.domain], emailDomain: Self.domain, quota: AliasQuota(freeLimit: freeLimit),
            rateLimitsEnabled: rateLimits, mxHosts: ["mx.veil.test"]),
            resolver: try SystemResolver(address: dnsResolver ?? "127.0.0.1:9", timeoutSeconds: 1))
        self.registrationOpen = registrationOpen
    }

    let registrationOpen: Bool

    /// Collects what would be sent.
    final class Outbox: Mailer, Sendable {
        private let messages = Mutex<[(to: [String], text: String)]>([])
        func send(from: String, to: [String], message: [UInt8]) async throws {
            messages.withLock { $0.append((to, String(decoding: message, as: UTF8.self))) }
        }
        var all: [(to: [String], text: String)] { messages.withLock { $0 } }
        /// The 6-digit activation code of the last mail to `address`.
        func activationCode(to address: String) -> String? {
            guard let text = all.last(where: { $0.to.contains(address) })?.text,
                  let range = text.range(of: #"activation code is: [0-9]{6}"#, options: .regularExpression)
            else { return nil }
            return String(text[range].suffix(6))
        }
    }

    var router: Router<APIContext> {
        let dashboard = Dashboard<APIContext>(
            services: services,
            mailer: AccountMailer(store: store, mailer: outbox, publicURL: "https://veil.test", emailDomain: Self.domain),
            configuration: WebConfiguration(publicURL: "https://veil.test", registrationOpen: registrationOpen, passwordCost: 4,
                                            adminContact: "admin@veil.test"))
        return VeilAPIServer.router(services: services, auth: AuthConfiguration(registrationOpen: registrationOpen, passwordCost: 4),
                                    mailer: outbox, publicURL: "https://veil.test", pages: { dashboard.register(on: $0) })
    }

    func test(_ body: @Sendable (Browser) async throws -> Void) async throws {
        try await Application(router: router).test(.router) { client in try await body(Browser(client: client)) }
    }

    /// An activated user with a password and a verified default mailbox.
    @discardableResult
    func user(_ email: String = "user@example.com", password: String = "password123", premium: Bool = false) throws -> (id: Int64, email: String, mailboxId: Int64) {
        let user = try store.createUser(email: email, name: nil, passwordHash: PasswordRule.hash(password, cost: 4),
                                        activated: true, isPremium: premium, trialEnd: nil)
        return (try #require(user.id), email, try #require(user.defaultMailboxId))
    }
}

struct Page {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var html: String

    var location: String? { headers[.location] }

    /// The CSRF token the page's forms carry.
    var csrf: String? { firstMatch(#"name="csrf_token" value="([^"]+)""#) }

    func firstMatch(_ pattern: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: html, range: NSRange(html.startIndex..., in: html)),
              let range = Range(match.range(at: match.numberOfRanges > 1 ? 1 : 0), in: html)
        else { return nil }
        return String(html[range])
    }

    func allMatches(_ pattern: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).compactMap {
            Range($0.range(at: 1), in: html).map { String(html[$0]) }
        }
    }
}

/// A client that keeps cookies as a browser does (no expiry handling beyond `Max-Age=0`).
final class Browser: Sendable {
    let client: any TestClientProtocol
    private let jar = Mutex<[String: String]>([:])

    init(client: any TestClientProtocol) { self.client = client }

    var cookies: [String: String] { jar.withLock { $0 } }

    func setCookie(_ name: String, _ value: String?) { jar.withLock { $0[name] = value } }

    @discardableResult
    func request(_ method: HTTPRequest.Method, _ uri: String, form: [(String, String)]? = nil,
                 headers extra: HTTPFields = [:], sendCookies: Bool = true) async throws -> Page {
        var headers = extra
        let cookieHeader = jar.withLock { $0.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if sendCookies, !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            body = ByteBuffer(string: form.map {
                "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&"))
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        for value in response.headers[values: .setCookie] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let expired = value.contains("Max-Age=0")
            jar.withLock { $0[String(pair[0])] = expired ? nil : String(pair[1]) }
        }
        return Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
    }

    func get(_ uri: String) async throws -> Page { try await request(.get, uri) }

    /// Posts a form the way the page at `from` would: with that page's CSRF token.
    @discardableResult
    func submit(_ action: String, from page: Page, _ fields: [(String, String)] = []) async throws -> Page {
        try await request(.post, action, form: [("csrf_token", page.csrf ?? "")] + fields)
    }

    /// Posts a `multipart/form-data` form with the CSRF token of `page`; files are (name, filename, bytes).
    @discardableResult
    func submitMultipart(_ action: String, from page: Page, fields: [(String, String)] = [],
                         files: [(name: String, filename: String, bytes: [UInt8])] = []) async throws -> Page {
        let boundary = "----veiltest\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in [("csrf_token", page.csrf ?? "")] + fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for file in files {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += file.bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        var headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
        let cookieHeader = jar.withLock { $0.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
        let response = try await client.execute(uri: action, method: .post, headers: headers, body: ByteBuffer(bytes: body))
        return Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
    }

    /// Logs in through the login form; returns the page the redirect lands on.
    @discardableResult
    func logIn(_ email: String, _ password: String = "password123") async throws -> Page {
        let form = try await get("/auth/login")
        let answer = try await submit("/auth/login", from: form, [("email", email), ("password", password), ("next", "/dashboard/")])
        #expect(answer.status == .seeOther, "login answered \(answer.status): \(answer.html)")
        return try await get(answer.location ?? "/dashboard/")
    }
}
