import Foundation
import Logging
import VeilStore

/// Mail Veil writes itself (the API's codes and links, the daemon's notices): handed to the relay
/// now, or, when the relay cannot take it for now (down, restarting, 4xx), kept in the outbound
/// queue that `OutboundQueueWorker` retries with backoff. A caller is told of a failure only when
/// the relay refused the message for good or the queue itself cannot be written.
public struct DurableRelay: MailRelay {
    let relay: any MailRelay
    let store: Store
    let logger: Logger

    public init(relay: any MailRelay, store: Store, logger: Logger = Logger(label: "veil.queue")) {
        self.relay = relay
        self.store = store
        self.logger = logger
    }

    @discardableResult
    public func send(from sender: String, to recipients: [String], message: [UInt8]) async throws(RelayFailure) -> String {
        do {
            return try await relay.send(from: sender, to: recipients, message: message)
        } catch where error.isTransient {
            do {
                for recipient in recipients {
                    try store.enqueueOutbound(logId: nil, from: sender, to: recipient, data: message)
                }
            } catch {
                throw RelayFailure(isTransient: true, description: "relay unavailable and the queue could not be written: \(error)")
            }
            logger.notice("message queued for retry", metadata: ["to": "\(recipients.joined(separator: ","))",
                                                                "error": "\(error.description)"])
            return "queued: \(error.description)"
        }
    }
}
