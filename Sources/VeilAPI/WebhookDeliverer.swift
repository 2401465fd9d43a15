import Foundation
import Logging
import VeilServices
import VeilStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// POSTs queued `otp_received` events to users' webhook URLs; a receiver that fails (no answer,
/// or a status other than 2xx) is retried with exponential backoff: 10 s, 20 s, 40 s, ... up to
/// one hour between tries, 10 tries in all.
public struct WebhookDeliverer: Sendable {
    public static let maxAttempts = 10
    let store: Store
    let logger: Logger
    let timeout: TimeInterval

    public init(store: Store, logger: Logger = Logger(label: "veil.webhooks"), timeout: TimeInterval = 10) {
        self.store = store
        self.logger = logger
        self.timeout = timeout
    }

    /// Makes every due call once; returns how many were delivered.
    @discardableResult
    public func runOnce(now: Date = Date()) async throws -> Int {
        var delivered = 0
        for call in try store.dueWebhooks(now: now) {
            let failure = await post(call)
            if let failure {
                let attempts = call.attempts + 1
                let next = attempts >= Self.maxAttempts ? nil : now.addingTimeInterval(min(3_600, 10 * pow(2, Double(call.attempts))))
                try store.failWebhook(id: call.id, error: failure, next: next)
                logger.warning("webhook failed", metadata: ["job": "\(call.id)", "attempt": "\(attempts)", "error": "\(failure)",
                                                            "retry": "\(next.map { "\(Int($0.timeIntervalSince(now)))s" } ?? "given up")"])
            } else {
                try store.finishWebhook(id: call.id)
                delivered += 1
                logger.info("webhook delivered", metadata: ["job": "\(call.id)", "attempt": "\(call.attempts + 1)"])
            }
        }
        return delivered
    }

    /// Nil on a 2xx answer, else why not.
    func post(_ call: PendingWebhook) async -> String? {
        guard let url = URL(string: call.url) else { return "invalid URL" }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("veil", forHTTPHeaderField: "User-Agent")
        request.httpBody = Data(call.body.utf8)
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (200..<300).contains(status) ? nil : "HTTP \(status)"
        } catch {
            return error.localizedDescription
        }
    }
}
