import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
@testable import VeilAPI
import VeilServices

@Suite struct ConventionTests {
    @Test func wrongOrMissingKeyIs401WithExactBody() async throws {
        let harness = try await Harness()
        try await harness.test { (client: Client) async throws in
            let wrong = try await client.get("/api/user_info", key: "Invalid code")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text == "{\"error\": \"Wrong api key\"}")
            #expect(wrong.headers[.contentType] == "application/json")
            #expect(try await client.get("/api/v2/aliases?page_id=0").status == .unauthorized)
        }
    }

    @Test func disabledAccountIs403() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        _ = try harness.store.updateUser(id: user.id) { $0.disabled = true }
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/v2/aliases?page_id=0", key: user.key)
            #expect(reply.status == .forbidden)
            #expect(reply.error == "Disabled account")
        }
    }

    @Test func unknownPathsAndMethodsAnswerJSON() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            let missing = try await client.get("/api/nothing/here", key: user.key)
            #expect(missing.status == .notFound)
            #expect(missing.error != nil)
            #expect(missing.headers[.contentType] == "application/json")
            let nonInteger = try await client.get("/api/aliases/abc", key: user.key)
            #expect(nonInteger.status == .notFound)
            #expect(nonInteger.error != nil)
        }
    }

    @Test func corsPreflightNeedsNoKey() async throws {
        let harness = try await Harness()
        try await harness.test { (client: Client) async throws in
            let reply = try await client.call(.options, "/api/v2/aliases", headers: [
                .origin: "moz-extension://abc", .accessControlRequestMethod: "POST",
                .accessControlRequestHeaders: "Authentication, Content-Type",
            ])
            #expect(reply.status.code < 300)
            #expect(reply.headers[.accessControlAllowOrigin] == "*")
            #expect(reply.headers[.accessControlAllowHeaders]?.lowercased().contains("authentication") == true)
            #expect(reply.headers[.accessControlAllowMethods]?.contains("PATCH") == true)
        }
    }

    /// Browser extensions send `Origin` on every call: their errors keep their status and JSON
    /// body (they were once answered 503, the CORS layer hiding the error from the JSON one).
    @Test func errorsOfCrossOriginCallsKeepTheirStatusAndBody() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            let origin: HTTPFields = [.origin: "moz-extension://abc"]
            let unauthorized = try await client.call(.get, "/api/user_info", key: "wrong", headers: origin)
            #expect(unauthorized.status == .unauthorized)
            #expect(unauthorized["error"] == "Wrong api key")
            #expect(unauthorized.headers[.accessControlAllowOrigin] == "*")
            let missing = try await client.call(.get, "/api/aliases/999999", key: user.key, headers: origin)
            #expect(missing.status == .badRequest)
            #expect(missing["error"] != nil)
            let unknown = try await client.call(.get, "/api/nothing", key: user.key, headers: origin)
            #expect(unknown.status == .notFound && unknown["error"] == "Not found")
            #expect(unknown.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test func badBodiesAre4xxNever500() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let alias = try harness.alias(user, "a@veil.test")
        let aliasId = try #require(alias.id)
        try await harness.test { (client: Client) async throws in
            for body in ["{", "[1,2", "\"text\"", "null", "{\"note\": ", String(repeating: "[", count: 10_000)] {
                for (method, path) in [(HTTPRequest.Method.patch, "/api/aliases/\(aliasId)"), (.post, "/api/v3/alias/custom/new"),
                                       (.post, "/api/aliases/\(aliasId)/contacts"), (.post, "/api/mailboxes"), (.post, "/api/auth/login")] {
                    let reply = try await client.call(method, path, key: user.key, json: body)
                    #expect((400..<500).contains(reply.status.code), "\(method) \(path) \(body.prefix(20)) → \(reply.status)")
                    #expect(reply.error != nil)
                }
            }
            let huge = "{\"note\": \"" + String(repeating: "x", count: 7 * 1024 * 1024) + "\"}"
            let tooLarge = try await client.patch("/api/aliases/\(aliasId)", key: user.key, json: huge)
            #expect(tooLarge.status == .contentTooLarge)
        }
    }

    @Test func otherUsersRowsAreForbidden() async throws {
        let harness = try await Harness()
        let alice = try harness.user("alice@example.com", premium: true)
        let bob = try harness.user("bob@example.com", premium: true)
        let alias = try harness.alias(alice, "alice-shop@veil.test")
        let aliasId = try #require(alias.id)
        let contact = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "c@example.com", name: nil,
                                                            reverseAliasDomain: "veil.test", includeSender: false).contact
        let contactId = try #require(contact.id)
        try await harness.test { (client: Client) async throws in
            #expect(try await client.get("/api/aliases/\(aliasId)", key: bob.key).status == .forbidden)
            #expect(try await client.delete("/api/aliases/\(aliasId)", key: bob.key).status == .forbidden)
            #expect(try await client.patch("/api/aliases/\(aliasId)", key: bob.key, json: "{\"note\": \"x\"}").status == .forbidden)
            #expect(try await client.post("/api/aliases/\(aliasId)/toggle", key: bob.key).status == .forbidden)
            #expect(try await client.get("/api/aliases/\(aliasId)/activities?page_id=0", key: bob.key).status == .forbidden)
            #expect(try await client.get("/api/aliases/\(aliasId)/contacts?page_id=0", key: bob.key).status == .forbidden)
            #expect(try await client.post("/api/aliases/\(aliasId)/contacts", key: bob.key, json: "{\"contact\": \"x@example.com\"}").status == .forbidden)
            #expect(try await client.delete("/api/contacts/\(contactId)", key: bob.key).status == .forbidden)
            #expect(try await client.post("/api/contacts/\(contactId)/toggle", key: bob.key).status == .forbidden)
            #expect(try await client.put("/api/mailboxes/\(alice.mailboxId)", key: bob.key, json: "{\"default\": true}").status == .forbidden)
            #expect(try await client.delete("/api/mailboxes/\(alice.mailboxId)", key: bob.key).status == .forbidden)
            // Nothing changed for Alice.
            let mine = try await client.get("/api/aliases/\(aliasId)", key: alice.key)
            #expect(mine.status == .ok && mine["enabled"] == true)
            #expect(try harness.store.contact(id: contactId, userId: alice.id) != nil)
        }
    }

    @Test func apiDateFormat() {
        #expect(APIDate.string(Date(timeIntervalSince1970: 1_586_195_834)) == "2020-04-06 17:57:14+00:00")
    }

    @Test func jsonParserAndWriterRoundTrip() throws {
        let text = #"{"a": [1, -2.5, true, false, null], "b": "é\"\\\n\u0001😀", "c": {}}"#
        let value = try JSON.parse(Array(text.utf8))
        #expect(value["b"]?.string == "é\"\\\n\u{01}😀")
        #expect(try JSON.parse(value.serialized) == value)
        #expect(value["a"]?.array?.first?.int == 1)
        #expect(throws: JSON.ParseError.self) { try JSON.parse(Array("{\"a\":1,}".utf8)) }
        #expect(throws: JSON.ParseError.self) { try JSON.parse(Array("\"\\ud800\\u0041\"".utf8)) }
    }
}

@Suite struct RateLimiterTests {
    let start = ContinuousClock.now

    @Test func slidingWindowsPerKey() {
        let limiter = RateLimiter(enabled: true)
        let limits: [(count: Int, window: Duration)] = [(2, .seconds(60)), (3, .seconds(3600))]
        #expect(limiter.allow("a", limits: limits, now: start))
        #expect(limiter.allow("a", limits: limits, now: start + .seconds(1)))
        #expect(!limiter.allow("a", limits: limits, now: start + .seconds(2)))  // 2 per minute
        #expect(limiter.allow("b", limits: limits, now: start + .seconds(2)))   // keys are separate
        #expect(limiter.allow("a", limits: limits, now: start + .seconds(61)))  // the first hit left the minute
        #expect(!limiter.allow("a", limits: limits, now: start + .seconds(200))) // 3 per hour
        #expect(limiter.allow("a", limits: limits, now: start + .seconds(3601)))
    }

    @Test func refusedHitsDoNotCount() {
        let limiter = RateLimiter(enabled: true)
        let limits: [(count: Int, window: Duration)] = [(1, .seconds(10))]
        #expect(limiter.allow("k", limits: limits, now: start))
        for second in 1..<10 { #expect(!limiter.allow("k", limits: limits, now: start + .seconds(second))) }
        #expect(limiter.allow("k", limits: limits, now: start + .seconds(10)))
    }

    @Test func disabledAllowsEverything() {
        let limiter = RateLimiter(enabled: false)
        for _ in 0..<100 { #expect(limiter.allow("k", limits: [(1, .seconds(60))], now: start)) }
    }

    @Test func keysWithNothingInTheirWindowArePruned() {
        let limiter = RateLimiter(enabled: true, pruneAbove: 10)
        for index in 0..<10 { _ = limiter.allow("old\(index)", limits: [(5, .seconds(60))], now: start) }
        _ = limiter.allow("long", limits: [(5, .seconds(3600))], now: start)
        #expect(limiter.keyCount == 11)
        _ = limiter.allow("new", limits: [(5, .seconds(60))], now: start + .seconds(120))
        // The minute-window keys expired; the hour-window key and the new one stay.
        #expect(limiter.keyCount == 2)
        #expect(!limiter.allow("long", limits: [(1, .seconds(3600))], now: start + .seconds(121)))
    }
}
