import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI
import VeilServices

/// A webhook receiver on loopback that fails its first `failures` calls.
final class WebhookReceiver: Sendable {
    let calls = NIOLockedValueBox<[String]>([])
    let failures: Int

    init(failures: Int) { self.failures = failures }

    var application: some ApplicationProtocol {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 100_000))
            let count = self.calls.withLockedValue { $0.append(body); return $0.count }
            return Response(status: count <= self.failures ? .serviceUnavailable : .ok)
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }
}

@Suite struct PhoneAPITests {
    static let secret = "sms-secret"

    func harness() async throws -> (Harness, TestUser, TestUser) {
        let harness = try await Harness { $0.smsWebhookSecret = Self.secret }
        let user = try harness.user()
        let other = try harness.user("other@example.com")
        _ = try harness.store.addPhoneNumber("+15550001111", country: "United States", provider: "generic")
        return (harness, user, other)
    }

    func sms(_ client: Client, to: String = "+15550001111", body: String, secret: String = Self.secret) async throws -> Reply {
        let payload: JSON = ["to": .string(to), "from": "+4479000000", "body": .string(body)]
        let json = String(decoding: payload.serialized, as: UTF8.self)
        return try await client.call(.post, "/api/phone/sms/generic", json: json, headers: [HTTPField.Name("X-Veil-Webhook-Secret")!: secret])
    }

    @Test func reservationShowsMessagesReceivedDuringIt() async throws {
        let (harness, user, other) = try await harness()
        let now = Date()
        let active = try harness.store.reservePhoneNumber("+15550001111", userId: user.id, start: now.addingTimeInterval(-60), end: now.addingTimeInterval(600))
        let ended = try harness.store.reservePhoneNumber("+15550001111", userId: user.id, start: now.addingTimeInterval(-7_200),
                                                         end: now.addingTimeInterval(-3_600))
        #expect(throws: StoreError.self) {
            try harness.store.reservePhoneNumber("+15550001111", userId: other.id, start: now, end: now.addingTimeInterval(60))
        }
        try await harness.test { (client: Client) async throws in
            let empty = try await client.post("/api/phone/reservations/\(active.id)", key: user.key)
            #expect(empty.status == .ok && empty.text == #"{"ended": false, "messages": []}"#)
            let received = try await sms(client, body: "Your OTP is 123456. Do not share this code.")
            #expect(received.status == .ok && received["otp_code"] == "123456" && received["reserved"] == true)
            let withMessage = try await client.get("/api/phone/reservations/\(active.id)", key: user.key)
            let messages = try #require(withMessage["messages"]?.array)
            #expect(messages.count == 1 && keys(messages[0]) == ["body", "created_at", "from_number", "id"])
            #expect(messages[0]["body"] == "Your OTP is 123456. Do not share this code." && messages[0]["from_number"] == "+4479000000")
            #expect(messages[0]["created_at"] == "just now")
            #expect(try await client.post("/api/phone/reservations/\(ended.id)", key: user.key).text == #"{"ended": true, "messages": []}"#)
            #expect(try await client.get("/api/phone/reservations/\(active.id)", key: other.key).text == #"{"error": "Invalid reservation"}"#)
            #expect(try await client.get("/api/phone/reservations/999999", key: user.key).status == .badRequest)
            #expect(try await client.get("/api/phone/reservations/abc", key: user.key).error == "Invalid reservation")
        }
    }

    @Test func providerWebhookIsAuthenticated() async throws {
        let (harness, _, _) = try await harness()
        try await harness.test { (client: Client) async throws in
            #expect(try await sms(client, body: "hi", secret: "wrong").status == .forbidden)
            #expect(try await sms(client, body: "hi", secret: "").status == .forbidden)
            #expect(try await sms(client, to: "+19999999999", body: "hi").text == #"{"error": "Unknown number"}"#)
            let bad = try await client.call(.post, "/api/phone/sms/generic", json: "{}", headers: [HTTPField.Name("X-Veil-Webhook-Secret")!: Self.secret])
            #expect(bad.status == .badRequest)
            #expect(try await client.call(.post, "/api/phone/sms/bad$name", json: "{}").status == .notFound)
            // Twilio: form fields signed with the auth token over the public URL.
            let fields = ["To": "+15550001111", "From": "+33600000000", "Body": "Code 4821"]
            let signature = PhoneRoutes.twilioSignature(secret: Self.secret, url: "https://veil.test/api/phone/sms/twilio", fields: fields)
            let form = "To=%2B15550001111&From=%2B33600000000&Body=Code+4821"
            let signed = try await client.call(.post, "/api/phone/sms/twilio", json: form,
                                               headers: [HTTPField.Name("X-Twilio-Signature")!: signature, .contentType: "application/x-www-form-urlencoded"])
            #expect(signed.status == .ok && signed.text == "<Response/>")
            let forged = try await client.call(.post, "/api/phone/sms/twilio", json: form.replacingOccurrences(of: "4821", with: "9999"),
                                               headers: [HTTPField.Name("X-Twilio-Signature")!: signature])
            #expect(forged.status == .forbidden)
        }
        let off = try await Harness()
        try await off.test { (client: Client) async throws in
            #expect(try await sms(client, body: "hi").text == #"{"error": "SMS webhook is not configured"}"#)
        }
    }

    @Test func otpEventIsPostedAndRetriedUntilTheReceiverAccepts() async throws {
        let receiver = WebhookReceiver(failures: 2)
        try await receiver.application.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
            let (harness, user, _) = try await harness()
            let now = Date()
            _ = try harness.store.reservePhoneNumber("+15550001111", userId: user.id, start: now.addingTimeInterval(-60), end: now.addingTimeInterval(600))
            try await harness.test { (client: Client) async throws in
                #expect(try await client.get("/api/phone/webhook", key: user.key).json == ["url": .null])
                #expect(try await client.put("/api/phone/webhook", key: user.key, json: #"{"url": "ftp://x"}"#).error == "url must be an http or https URL")
                let url = "http://127.0.0.1:\(port)/hook"
                #expect(try await client.put("/api/phone/webhook", key: user.key, json: #"{"url": "\#(url)"}"#).json == ["url": .string(url)])
                _ = try await sms(client, body: "Hello, no code here")
                _ = try await sms(client, body: "G-482913 is your Google verification code.")
            }
            let deliverer = WebhookDeliverer(store: harness.store, timeout: 5)
            #expect(try await deliverer.runOnce() == 0)
            #expect(try harness.store.webhookJobs().map(\.state) == ["ready"])
            // Not due again before the backoff.
            #expect(try await deliverer.runOnce() == 0 && receiver.calls.withLockedValue { $0.count } == 1)
            #expect(try await deliverer.runOnce(now: Date().addingTimeInterval(11)) == 0)
            #expect(try await deliverer.runOnce(now: Date().addingTimeInterval(60)) == 1)
            #expect(try harness.store.webhookJobs().first?.state == "done" && harness.store.webhookJobs().first?.attempts == 3)
            let calls = receiver.calls.withLockedValue { $0 }
            #expect(calls.count == 3 && Set(calls).count == 1)
            let event = try JSON.parse(Array(calls[0].utf8))
            #expect(event == ["event": "otp_received", "data": ["phone_number": "+15550001111", "otp_code": "482913", "provider": "generic",
                                                                 "sms_text": "G-482913 is your Google verification code."]])
        }
    }
}

@Suite struct ApplePaymentTests {
    /// A receipt verifier that knows one receipt.
    func verifier() -> some ApplicationProtocol {
        let router = Router()
        router.post("verifyReceipt") { request, _ -> Response in
            let body = try JSON.parse(Array(try await request.body.collect(upTo: 100_000).readableBytesView))
            let valid = body["receipt-data"] == "good-receipt" && body["password"] == "shared"
            let expires = String(Int64((Date().timeIntervalSince1970 + 86_400) * 1000))
            let answer = valid ? #"{"status": 0, "latest_receipt_info": [{"expires_date_ms": "\#(expires)", "original_transaction_id": "1000"}]}"#
                : #"{"status": 21003}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func verifiedReceiptMakesTheUserPremium() async throws {
        try await verifier().test(.live) { verifierClient in
            let port = try #require(verifierClient.port)
            let harness = try await Harness {
                $0.appleVerifyURL = URL(string: "http://127.0.0.1:\(port)/verifyReceipt")
                $0.appleSharedSecret = "shared"
            }
            let user = try harness.user()
            try await harness.test { (client: Client) async throws in
                let invalid = try await client.post("/api/apple/process_payment", key: user.key, json: #"{"receipt_data": "invalid"}"#)
                #expect(invalid.status == .badRequest && invalid.text == #"{"error": "Processing failed"}"#)
                #expect(try harness.store.user(id: user.id)?.isPremium == false)
                #expect(try await client.post("/api/apple/process_payment", key: user.key, json: #"{"receipt_data": "good-receipt", "is_macapp": true}"#).status == .badRequest)
                let good = try await client.post("/api/apple/process_payment", key: user.key, json: #"{"receipt_data": "good-receipt"}"#)
                #expect(good.status == .ok && good.text == #"{"ok": true}"#)
                #expect(try harness.store.user(id: user.id)?.isPremium == true)
            }
        }
        let off = try await Harness()
        let user = try off.user()
        try await off.test { (client: Client) async throws in
            #expect(try await client.post("/api/apple/process_payment", key: user.key, json: #"{"receipt_data": "x"}"#).text == #"{"error": "Processing failed"}"#)
        }
    }
}
