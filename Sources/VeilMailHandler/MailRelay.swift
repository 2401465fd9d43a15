import VeilSMTP

/// Where rewritten mail goes (Postfix's re-injection port in deployments).
public protocol MailRelay: Sendable {
    /// The relay's reply (`250 2.0.0 Ok: queued as 4XyZ`, for the transaction log). Throws
    /// `RelayFailure` when the relay does not take the message.
    @discardableResult
    func send(from sender: String, to recipients: [String], message: [UInt8]) async throws(RelayFailure) -> String
}

public struct RelayFailure: Error, Sendable, CustomStringConvertible {
    /// 4xx, connection trouble, timeouts: worth retrying.
    public var isTransient: Bool
    public var description: String

    public init(isTransient: Bool, description: String) {
        self.isTransient = isTransient
        self.description = description
    }
}

extension SMTPClient: MailRelay {
    @discardableResult
    public func send(from sender: String, to recipients: [String], message: [UInt8]) async throws(RelayFailure) -> String {
        do {
            let reply = try await self.send(from: sender, to: recipients, message: message) as SMTPReply
            return "\(reply.code) " + reply.lines.joined(separator: " / ")
        } catch let failure as SMTPClient.Failure {
            throw RelayFailure(isTransient: failure.isTransient, description: failure.description)
        } catch {
            throw RelayFailure(isTransient: true, description: "relay unreachable: \(error)")
        }
    }
}
