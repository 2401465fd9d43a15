import NIOCore
import NIOPosix

/// Sends messages to an SMTP relay (Postfix's re-injection port in deployments): one connection
/// per message for now, with a deadline on the whole exchange.
public struct SMTPClient: Sendable {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// The relay answered with a refusal; `transient` when it was a 4xx.
        case refused(stage: String, reply: SMTPReply)
        case connectionClosed(stage: String)
        case timedOut

        public var isTransient: Bool {
            switch self {
            case .refused(_, let reply): return reply.isTransient
            case .connectionClosed, .timedOut: return true
            }
        }

        public var description: String {
            switch self {
            case .refused(let stage, let reply): return "relay refused \(stage): \(reply)"
            case .connectionClosed(let stage): return "relay closed the connection during \(stage)"
            case .timedOut: return "relay timed out"
            }
        }
    }

    public let host: String
    public let port: Int
    public let heloName: String
    public let timeout: TimeAmount

    public init(host: String, port: Int, heloName: String = "veil.localhost", timeout: TimeAmount = .seconds(30)) {
        self.host = host
        self.port = port
        self.heloName = heloName
        self.timeout = timeout
    }

    /// Delivers `message` (CRLF line ends) from `sender` to `recipients`. Returns the relay's reply
    /// to the end of DATA. Throws `Failure` when the relay refuses or goes away.
    @discardableResult
    public func send(from sender: String, to recipients: [String], message: [UInt8]) async throws -> SMTPReply {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { channel.channel.close(promise: nil) }
        defer { deadline.cancel() }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                var replies = inbound.makeAsyncIterator()
                func expect(_ stage: String, _ accepted: ClosedRange<Int>) async throws -> SMTPReply {
                    guard let reply = try await replies.next() else { throw Failure.connectionClosed(stage: stage) }
                    guard accepted.contains(reply.code) else { throw Failure.refused(stage: stage, reply: reply) }
                    return reply
                }
                func command(_ line: String, _ stage: String, _ accepted: ClosedRange<Int> = 250...259) async throws {
                    try await outbound.write(ByteBuffer(string: line + "\r\n"))
                    _ = try await expect(stage, accepted)
                }
                _ = try await expect("greeting", 220...220)
                try await command("EHLO \(heloName)", "EHLO")
                try await command("MAIL FROM:<\(sender)>", "MAIL FROM")
                for recipient in recipients { try await command("RCPT TO:<\(recipient)>", "RCPT TO") }
                try await command("DATA", "DATA", 354...354)
                try await outbound.write(ByteBuffer(bytes: Self.dotStuffed(message)))
                let final = try await expect("end of data", 250...259)
                try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
                return final
            }
        } catch let error as Failure {
            throw error
        } catch is ChannelError {
            throw Failure.timedOut
        }
    }

    /// Dot-stuffs a message and appends the terminating `CRLF.CRLF` (RFC 5321 §4.5.2).
    public static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 64 + 5)
        var atLineStart = true
        for byte in message {
            if atLineStart, byte == UInt8(ascii: ".") { output.append(UInt8(ascii: ".")) }
            output.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if !(output.count >= 2 && output[output.count - 2] == 0x0D && output[output.count - 1] == 0x0A) {
            output += [0x0D, 0x0A]
        }
        output += Array(".\r\n".utf8)
        return output
    }
}
