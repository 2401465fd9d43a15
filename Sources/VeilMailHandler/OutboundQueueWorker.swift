import Foundation
import Logging
import VeilStore

/// Retries the copies the relay refused for now after Veil already answered 250 for their
/// transaction (Appendix A), and the mail Veil writes itself (`DurableRelay`): exponential
/// backoff from one minute to one hour, for five days. Several workers (the API's and the mail
/// daemon's) may share one queue: each claims the rows it sends.
public struct OutboundQueueWorker: Sendable {
    let store: Store
    let relay: any MailRelay
    let logger: Logger
    public var maxAge: TimeInterval = 5 * 24 * 3600

    public init(store: Store, relay: any MailRelay, logger: Logger = Logger(label: "veil.queue")) {
        self.store = store
        self.relay = relay
        self.logger = logger
    }

    /// Tries every due copy once. Returns how many were delivered.
    @discardableResult
    public func runOnce(now: Date = Date()) async throws -> Int {
        var delivered = 0
        for copy in try store.claimDueOutbound(now: now) {
            let failure: RelayFailure?
            do {
                try await relay.send(from: copy.envelopeFrom, to: [copy.envelopeTo], message: copy.data)
                failure = nil
            } catch {
                failure = error
            }
            if let error = failure {
                let age = now.timeIntervalSince(copy.createdAt)
                if !error.isTransient || age > maxAge {
                    // Given up: the log row says the copy never arrived.
                    try store.removeOutbound(id: copy.id)
                    if let logId = copy.emailLogId {
                        try store.markBounced(logId: logId, mailboxId: nil, reason: "relay: \(error.description)",
                                              permanent: !error.isTransient)
                    }
                    logger.error("queued copy dropped", metadata: ["queue_row": "\(copy.id)", "to": "\(copy.envelopeTo)",
                                                                    "error": "\(error.description)"])
                } else {
                    let delay = min(3600, 60 * pow(2, Double(copy.attempts)))
                    try store.rescheduleOutbound(id: copy.id, error: error.description, nextAttempt: now.addingTimeInterval(delay))
                }
            } else {
                try store.removeOutbound(id: copy.id)
                delivered += 1
                logger.info("queued copy delivered", metadata: ["queue_row": "\(copy.id)", "to": "\(copy.envelopeTo)",
                                                                 "attempts": "\(copy.attempts + 1)"])
            }
        }
        return delivered
    }
}
