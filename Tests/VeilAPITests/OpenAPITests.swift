import Foundation
import Hummingbird
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI
import VeilServices

@Suite struct OpenAPITests {
    /// Every route the router serves is in the document, and every operation of the document is served.
    @Test func routerAndDocumentListTheSameOperations() async throws {
        let harness = try await Harness()
        let router = VeilAPIServer.router(services: harness.services, auth: harness.auth, mailer: NoMailer(), publicURL: "https://veil.test",
                                          metrics: { Array("# metrics\n".utf8) })
        let served = Set(router.routes.map { route in
            "\(route.method.rawValue) /" + route.path.description.split(separator: "/").map { part in
                part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
            }.joined(separator: "/")
        })
        let documented = Set(OpenAPIDocument.shared.operations.map { "\($0.method) \($0.template)" })
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.count > 60)
        await harness.sink.shutdown()
    }

    @Test func documentIsServedAndValidatorCatchesMistakes() async throws {
        let harness = try await Harness()
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/openapi.yaml")
            #expect(reply.status == .ok && reply.headers[.contentType] == "application/yaml")
            #expect(reply.text == String(decoding: PackageResources.openapi_yaml, as: UTF8.self))
        }
        let document = OpenAPIDocument.shared
        // The checker itself must be able to fail.
        #expect(document.problems(method: "GET", path: "/api/stats", status: 200, contentType: "application/json",
                                  body: #"{"nb_alias": 1, "nb_forward": 0, "nb_reply": 0, "nb_block": 0}"#).isEmpty)
        #expect(!document.problems(method: "GET", path: "/api/stats", status: 200, contentType: "application/json",
                                   body: #"{"nb_alias": "1", "nb_forward": 0, "nb_reply": 0, "nb_block": 0}"#).isEmpty)
        #expect(!document.problems(method: "GET", path: "/api/stats", status: 200, contentType: "application/json",
                                   body: #"{"nb_alias": 1, "nb_forward": 0, "nb_reply": 0}"#).isEmpty)
        #expect(!document.problems(method: "GET", path: "/api/stats", status: 200, contentType: "application/json",
                                   body: #"{"nb_alias": 1, "nb_forward": 0, "nb_reply": 0, "nb_block": 0, "extra": 1}"#).isEmpty)
        #expect(!document.problems(method: "GET", path: "/api/stats", status: 418, contentType: "application/json", body: "{}").isEmpty)
        #expect(!document.problems(method: "GET", path: "/api/aliases/5", status: 200, contentType: "application/json",
                                   body: #"{"id": 5}"#).isEmpty)
        #expect(document.operation(method: "GET", path: "/api/v2/aliases?page_id=0")?.template == "/api/v2/aliases")
        #expect(document.operation(method: "POST", path: "/api/notifications/5/read")?.template == "/api/notifications/{notification_id}/read")
    }
}

struct NoMailer: Mailer {
    func send(from: String, to: [String], message: [UInt8]) async throws {}
}
