import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeilCore
import VeilServices
import VeilStore

/// Phone reservations (spec/api.md §8) and the SMS provider webhook that fills them.
struct PhoneRoutes {
    let services: Services
    let publicURL: String
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.get("phone/reservations/:reservation_id") { _, context in try reservation(context) }
        group.post("phone/reservations/:reservation_id") { _, context in try reservation(context) }
        group.get("phone/webhook") { _, context in try webhook(context) }
        group.writing(.put, "phone/webhook") { request, context in try await setWebhook(request, context) }
    }

    /// The provider webhook is not behind the API-key middleware: providers authenticate with
    /// the shared secret or their signature.
    func registerWebhook(on router: Router<APIContext>) {
        router.writing(.post, "api/phone/sms/:provider") { request, context in try await receive(request, context) }
    }

    func reservation(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        guard let id = Int64(context.parameters.get("reservation_id") ?? ""),
              let reservation = try store.phoneReservation(id: id, userId: userId)
        else { throw APIError.badRequest("Invalid reservation") }
        let now = Date()
        let ended = reservation.end < now
        let messages = ended ? [] : try store.phoneMessages(reservation: reservation)
        return .json([
            "ended": .bool(ended),
            "messages": .array(messages.map { message in
                [
                    "id": .int(message.id),
                    "from_number": .string(message.fromNumber),
                    "body": .string(message.body),
                    "created_at": .string(RelativeTime.ago(seconds: Int64(now.timeIntervalSince(message.createdAt)))),
                ]
            }),
        ])
    }

    func webhook(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        return .json(["url": .optional(try store.otpWebhookURL(userId: userId))])
    }

    /// **Veil**: where `otp_received` events for the user's reservations are POSTed; null removes it.
    func setWebhook(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        let body = try await request.requiredObject(context: context)
        guard let value = body["url"] else { throw APIError.badRequest("url is required") }
        if value.isNull {
            try store.setOTPWebhookURL(userId: userId, nil)
            return .json(["url": .null])
        }
        guard let text = value.string, text.utf8.count <= 2_048, let url = URL(string: text),
              let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil
        else { throw APIError.badRequest("url must be an http or https URL") }
        try store.setOTPWebhookURL(userId: userId, text)
        return .json(["url": .string(text)])
    }

    // MARK: Provider webhook

    struct InboundSMS {
        var to: String
        var from: String
        var body: String
    }

    func receive(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        guard let secret = services.configuration.smsWebhookSecret, !secret.isEmpty else {
            throw APIError(.notFound, "SMS webhook is not configured")
        }
        let provider = context.parameters.get("provider") ?? ""
        guard (1...32).contains(provider.count), provider.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else { throw APIError(.notFound, "Unknown provider") }
        let raw: ByteBuffer
        do {
            raw = try await request.collectBody(upTo: 64 * 1024)
        } catch {
            throw APIError(.contentTooLarge, "request body too large")
        }
        let bytes = Array(raw.readableBytesView)
        let sms: InboundSMS
        if provider == "twilio" {
            let fields = Self.formFields(bytes)
            let signature = request.headers[.twilioSignature] ?? ""
            let url = publicURL.trimmingCharacters(in: ["/"]) + "/api/phone/sms/twilio"
            guard constantTimeEquals(Array(signature.utf8), Array(Self.twilioSignature(secret: secret, url: url, fields: fields).utf8)) else {
                throw APIError(.forbidden, "Invalid signature")
            }
            sms = InboundSMS(to: fields["To"] ?? "", from: fields["From"] ?? "", body: fields["Body"] ?? "")
        } else {
            let given = request.headers[.webhookSecret] ?? ""
            guard constantTimeEquals(Array(given.utf8), Array(secret.utf8)) else { throw APIError(.forbidden, "Invalid secret") }
            guard let json = try? JSON.parse(bytes), let to = json["to"]?.string, let from = json["from"]?.string,
                  let text = json["body"]?.string
            else { throw APIError.badRequest("body must be JSON with to, from and body strings") }
            sms = InboundSMS(to: to, from: from, body: text)
        }
        guard !sms.to.isEmpty, sms.body.utf8.count <= 4_096, sms.from.utf8.count <= 64 else {
            throw APIError.badRequest("to, from and body are required (body at most 4096 bytes)")
        }
        let code = OTPExtractor.code(in: sms.body)
        guard let stored = try store.receiveSMS(to: sms.to, from: sms.from, body: sms.body, otpCode: code, webhookBody: { number in
            let event: JSON = [
                "event": "otp_received",
                "data": ["phone_number": .string(number), "otp_code": .optional(code), "provider": .string(provider), "sms_text": .string(sms.body)],
            ]
            return String(decoding: event.serialized, as: UTF8.self)
        }) else { throw APIError(.notFound, "Unknown number") }
        if provider == "twilio" {
            return Response(status: .ok, headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(string: "<Response/>")))
        }
        return .json(["ok": true, "id": .int(stored.message), "otp_code": .optional(code), "reserved": .bool(stored.reservation != nil)])
    }

    /// `application/x-www-form-urlencoded` fields.
    static func formFields(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            guard let key = parts.first else { continue }
            fields[decode(key)] = parts.count == 2 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// Twilio's request signature: base64(HMAC-SHA1(auth token, URL + each POST field's name
    /// and value, sorted by name)).
    static func twilioSignature(secret: String, url: String, fields: [String: String]) -> String {
        let text = url + fields.keys.sorted().map { $0 + (fields[$0] ?? "") }.joined()
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).base64EncodedString()
    }
}
