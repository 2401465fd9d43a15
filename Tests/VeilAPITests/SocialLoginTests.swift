import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI

/// Google/Facebook sign-in against a real user-info endpoint on loopback.
@Suite struct SocialLoginTests {
    /// A provider that knows one token.
    func provider() -> some ApplicationProtocol {
        let router = Router()
        router.get("userinfo") { request, _ -> Response in
            let bearer = request.headers[.authorization] ?? ""
            guard bearer == "Bearer good-token" else { return Response(status: .unauthorized) }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"email": "Social@Example.com", "email_verified": true}"#)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func tokenVouchedByTheProviderCreatesAndLogsIn() async throws {
        try await provider().test(.live) { providerClient in
            let port = try #require(providerClient.port)
            let harness = try await Harness().with(auth: AuthConfiguration(registrationOpen: true, trialDays: 7, passwordCost: 4,
                                                           googleUserInfoURL: URL(string: "http://127.0.0.1:\(port)/userinfo")))
            try await harness.test { (client: Client) async throws in
                let first = try await client.post("/api/auth/google", json: #"{"google_token": "good-token", "device": "phone"}"#)
                #expect(first.status == .ok)
                #expect(first["email"] == "social@example.com" && first["mfa_enabled"] == false)
                let key = try #require(first["api_key"]?.string)
                #expect(try await client.get("/api/user_info", key: key)["email"] == "social@example.com")
                let again = try await client.post("/api/auth/google", json: #"{"google_token": "good-token", "device": "phone"}"#)
                #expect(again["api_key"]?.string == key)
                let bad = try await client.post("/api/auth/google", json: #"{"google_token": "forged", "device": "phone"}"#)
                #expect(bad.status == .badRequest && bad.error == "Invalid google_token")
                #expect(try await client.post("/api/auth/facebook", json: #"{"facebook_token": "good-token"}"#).error == "invalid login mechanism")
                let welcome = try await harness.sink.waitForMessages(1)
                #expect(welcome.first?.recipients == ["social@example.com"])
            }
        }
    }
}

extension Harness {
    func with(auth: AuthConfiguration) -> Harness {
        var copy = self
        copy.auth = auth
        return copy
    }
}
