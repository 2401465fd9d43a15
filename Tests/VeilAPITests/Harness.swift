import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VeilCore
import VeilDNS
import VeilSMTP
import VeilTestSupport
@testable import VeilAPI
@testable import VeilStore
import VeilServices

/// A Veil API over a real temporary SQLite file, sending its mail through the real SMTP client to
/// a real SMTP listener on loopback.
struct Harness {
    let store: Store
    let services: Services
    let sink: SMTPSink
    var auth: AuthConfiguration
    static let domain = "veil.test"

    init(freeLimit: Int = 5, rateLimits: Bool = false, registrationOpen: Bool = true,
         premiumDomains: Set<String> = [], disableContactsForFree: Bool = false, dnsResolver: String? = nil,
         configure: (inout ServiceConfiguration) -> Void = { _ in }) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-api-\(UUID().uuidString)/veil.sqlite").path
        store = try Store(path: path)
        try store.migrate()
        var configuration = ServiceConfiguration(
            aliasDomains: [Self.domain, "premium.test"].filter { premiumDomains.contains($0) || $0 == Self.domain },
            premiumAliasDomains: premiumDomains, emailDomain: Self.domain, quota: AliasQuota(freeLimit: freeLimit),
            rateLimitsEnabled: rateLimits, disableCreateContactsForFree: disableContactsForFree, mxHosts: ["mx.veil.test"])
        configure(&configuration)
        services = try Services(store: store, configuration: configuration,
            resolver: try SystemResolver(address: dnsResolver ?? "127.0.0.1:9", timeoutSeconds: 1))
        sink = try await SMTPSink()
        auth = AuthConfiguration(registrationOpen: registrationOpen, trialDays: 7, passwordCost: 4)
    }

    struct SinkMailer: Mailer {
        let client: SMTPClient
        func send(from: String, to: [String], message: [UInt8]) async throws {
            try await client.send(from: from, to: to, message: message)
        }
    }

    var application: some ApplicationProtocol {
        Application(router: VeilAPIServer.router(
            services: services, auth: auth,
            mailer: SinkMailer(client: SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30))),
            publicURL: "https://veil.test"))
    }

    /// Runs `body` against the router, then stops the SMTP listener.
    func test(_ body: @Sendable (Client) async throws -> Void) async throws {
        try await application.test(.router) { client in try await body(Client(client: client)) }
        await sink.shutdown()
    }

    /// An activated user with a verified default mailbox and an API key.
    @discardableResult
    func user(_ email: String = "user@example.com", premium: Bool = false, name: String? = "Test User",
              password: String? = "password123", trial: Bool = false) throws -> TestUser {
        let user = try store.createUser(email: email, name: name, passwordHash: password.map { PasswordRule.hash($0, cost: 4) },
                                        activated: true, isPremium: premium,
                                        trialEnd: trial ? Date().addingTimeInterval(7 * 86_400) : nil)
        let id = try #require(user.id)
        return TestUser(id: id, email: email, mailboxId: try #require(user.defaultMailboxId),
                        key: try store.createApiKey(userId: id, name: "test"))
    }

    func verifiedMailbox(_ user: TestUser, _ email: String) throws -> Int64 {
        try #require(try store.createMailbox(userId: user.id, email: email, verified: true).id)
    }

    /// A custom domain of the user whose ownership is verified.
    @discardableResult
    func verifiedDomain(_ user: TestUser, _ name: String, randomPrefix: Bool = false) throws -> CustomDomain {
        var domain = CustomDomain(userId: user.id, domain: name, ownershipToken: "token", createdAt: Date())
        domain.verified = true
        domain.randomPrefixGeneration = randomPrefix
        return try store.insertCustomDomain(domain)
    }

    @discardableResult
    func alias(_ user: TestUser, _ email: String, mailboxIds: [Int64]? = nil, at date: Date = Date()) throws -> Alias {
        try store.createAlias(userId: user.id, email: email, mailboxIds: mailboxIds ?? [user.mailboxId], now: date)
    }
}

struct TestUser {
    var id: Int64
    var email: String
    var mailboxId: Int64
    var key: String
}

struct Reply {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String
    var json: JSON

    var error: String? { json["error"]?.string }
    subscript(key: String) -> JSON? { json[key] }
}

struct Client {
    let client: any TestClientProtocol

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, key: String? = nil, json: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        if let key { headers[HTTPField.Name("Authentication")!] = key }
        if json != nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: headers,
                                                 body: json.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        let parsed = (try? JSON.parse(Array(text.utf8))) ?? .null
        // Every response an API test sees must match openapi.yaml.
        for problem in OpenAPIDocument.shared.problems(method: method.rawValue, path: uri, status: response.status.code,
                                                       contentType: response.headers[.contentType], body: text) {
            Issue.record(Comment(rawValue: "openapi.yaml: \(problem)"))
        }
        return Reply(status: response.status, headers: response.headers, text: text, json: parsed)
    }

    func get(_ uri: String, key: String? = nil, json: String? = nil) async throws -> Reply { try await call(.get, uri, key: key, json: json) }
    func post(_ uri: String, key: String? = nil, json: String? = nil) async throws -> Reply { try await call(.post, uri, key: key, json: json) }
    func patch(_ uri: String, key: String? = nil, json: String? = nil) async throws -> Reply { try await call(.patch, uri, key: key, json: json) }
    func put(_ uri: String, key: String? = nil, json: String? = nil) async throws -> Reply { try await call(.put, uri, key: key, json: json) }
    func delete(_ uri: String, key: String? = nil, json: String? = nil) async throws -> Reply { try await call(.delete, uri, key: key, json: json) }
}

/// Keys of a JSON object, sorted, for exact-shape checks.
func keys(_ json: JSON?) -> [String] { (json?.keys ?? []).sorted() }

/// The value of `name:` in a caught message's headers.
func header(_ name: String, in data: String) -> String? {
    for line in data.components(separatedBy: "\r\n") {
        if line.isEmpty { break }
        if line.lowercased().hasPrefix(name.lowercased() + ":") {
            return String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
        }
    }
    return nil
}
