import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `POST /api/apple/process_payment` (spec/api.md §8): the App Store receipt is checked by the
/// configured verification endpoint (Apple's `verifyReceipt`, or a local server in tests).
struct PaymentRoutes {
    let services: Services
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.writing(.post, "apple/process_payment") { request, context in try await processPayment(request, context) }
    }

    static let failed = APIError.badRequest("Processing failed")

    func processPayment(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        guard services.rateLimiter.allow("apple:\(userId)", limits: [(20, .seconds(3600))]) else { throw APIError.rateLimited }
        let body = try await request.optionalObject(context: context)
        guard let receipt = body["receipt_data"]?.string, !receipt.isEmpty, receipt.utf8.count <= 1_000_000,
              let endpoint = services.configuration.appleVerifyURL
        else { throw Self.failed }
        let isMacApp = body["is_macapp"]?.bool ?? false
        let password = isMacApp ? services.configuration.appleMacSharedSecret : services.configuration.appleSharedSecret
        let payload: JSON = ["receipt-data": .string(receipt), "password": .optional(password), "exclude-old-transactions": true]
        var call = URLRequest(url: endpoint, timeoutInterval: 15)
        call.httpMethod = "POST"
        call.setValue("application/json", forHTTPHeaderField: "Content-Type")
        call.httpBody = Data(payload.serialized)
        guard let (data, response) = try? await URLSession.shared.data(for: call),
              (response as? HTTPURLResponse)?.statusCode == 200, data.count < 5_000_000,
              let answer = try? JSON.parse(data), answer["status"]?.int == 0
        else { throw Self.failed }
        // The latest transaction that has not expired yet makes the user premium.
        let now = Date()
        let transactions = answer["latest_receipt_info"]?.array ?? answer["receipt"]?["in_app"]?.array ?? []
        let active = transactions.compactMap { item -> (expires: Date, original: String?)? in
            guard let text = item["expires_date_ms"]?.string, let ms = Double(text) else { return nil }
            return (Date(timeIntervalSince1970: ms / 1000), item["original_transaction_id"]?.string)
        }.filter { $0.expires > now }.max { $0.expires < $1.expires }
        guard let active else { throw Self.failed }
        try store.recordAppleSubscription(userId: userId, originalTransactionId: active.original, expiresAt: active.expires, receipt: receipt)
        return .json(["ok": true])
    }
}
