import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Sends messages to an SMTP relay (Postfix's re-injection port in deployments). Connections are
/// kept open and reused (up to `maxIdleConnections` idle ones, each for `maxMessagesPerConnection`
/// messages or `idleTimeout`), and when the relay offers PIPELINING the envelope commands go out in
/// one write (RFC 2920). Each transaction has a deadline.
public final class SMTPClient: Sendable {
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
    public let maxIdleConnections: Int
    public let maxMessagesPerConnection: Int
    public let idleTimeout: Duration
    private let idle = NIOLockedValueBox<[RelayConnection]>([])
    private let opened = NIOLockedValueBox(0)

    public init(host: String, port: Int, heloName: String = "veil.localhost", timeout: TimeAmount = .seconds(30),
                maxIdleConnections: Int = 16, maxMessagesPerConnection: Int = 100, idleTimeout: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.heloName = heloName
        self.timeout = timeout
        self.maxIdleConnections = maxIdleConnections
        self.maxMessagesPerConnection = maxMessagesPerConnection
        self.idleTimeout = idleTimeout
    }

    deinit {
        for connection in idle.withLockedValue({ $0 }) { connection.close() }
    }

    /// Connections opened so far (tests and benchmarks look at reuse with it).
    public var connectionsOpened: Int { opened.withLockedValue { $0 } }

    /// Delivers `message` (CRLF line ends) from `sender` to `recipients`. Returns the relay's reply
    /// to the end of DATA. Throws `Failure` when the relay refuses or goes away.
    @discardableResult
    public func send(from sender: String, to recipients: [String], message: [UInt8]) async throws -> SMTPReply {
        // A kept connection the relay closed meanwhile fails at once: then try a fresh one.
        if let connection = checkout() {
            do {
                let reply = try await connection.transaction(from: sender, to: recipients, message: message, timeout: timeout)
                checkin(connection)
                return reply
            } catch let failure as Failure
                where failure == .connectionClosed(stage: "MAIL FROM") || failure == .connectionClosed(stage: "write") {
                connection.close()
            } catch {
                connection.close()
                throw error
            }
        }
        let connection = try await open()
        do {
            let reply = try await connection.transaction(from: sender, to: recipients, message: message, timeout: timeout)
            checkin(connection)
            return reply
        } catch {
            connection.close()
            throw error
        }
    }

    /// Connects, reads the greeting, says EHLO and QUITs: whether the relay is there and talks SMTP.
    public func probe() async throws {
        let connection = try await open()
        connection.quit()
    }

    /// Closes the idle connections.
    public func shutdown() {
        let connections = idle.withLockedValue { idle in
            defer { idle = [] }
            return idle
        }
        for connection in connections { connection.close() }
    }

    private func checkout() -> RelayConnection? {
        let now = ContinuousClock.now
        let (usable, stale) = idle.withLockedValue { idle -> (RelayConnection?, [RelayConnection]) in
            var stale: [RelayConnection] = []
            while let candidate = idle.popLast() {
                if candidate.isActive, now - candidate.lastUsed < idleTimeout { return (candidate, stale) }
                stale.append(candidate)
            }
            return (nil, stale)
        }
        for connection in stale { connection.close() }
        return usable
    }

    private func checkin(_ connection: RelayConnection) {
        guard connection.isActive, connection.messages < maxMessagesPerConnection else {
            connection.quit()
            return
        }
        let kept = idle.withLockedValue { idle -> Bool in
            guard idle.count < maxIdleConnections else { return false }
            idle.append(connection)
            return true
        }
        if !kept { connection.quit() }
    }

    private func open() async throws -> RelayConnection {
        let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.connectionClosed(stage: "connect")
        }
        opened.withLockedValue { $0 += 1 }
        let connection = RelayConnection(channel: channel)
        do {
            try await connection.greet(heloName: heloName, timeout: timeout)
        } catch {
            connection.close()
            throw error
        }
        return connection
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

/// One open connection to the relay. Used by one task at a time: a connection is either in the
/// client's idle list (under its lock) or checked out by the single `send` that uses it.
final class RelayConnection: @unchecked Sendable {
    private let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
    private var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
    private var pipelining = false
    private var eightBitMIME = false
    private var smtpUTF8 = false
    private(set) var messages = 0
    private(set) var lastUsed = ContinuousClock.now

    init(channel: NIOAsyncChannel<SMTPReply, ByteBuffer>) {
        self.channel = channel
        self.replies = channel.inbound.makeAsyncIterator()
    }

    deinit {
        // NIOAsyncChannel insists that its writer is finished before it goes away.
        channel.outbound.finish()
    }

    var isActive: Bool { channel.channel.isActive }

    func greet(heloName: String, timeout: TimeAmount) async throws {
        try await withDeadline(timeout) {
            _ = try await self.expect("greeting", 220...220)
            try await self.channel.outbound.write(ByteBuffer(string: "EHLO \(heloName)\r\n"))
            let ehlo = try await self.expect("EHLO", 250...250)
            let keywords = Set(ehlo.lines.dropFirst().map { $0.split(separator: " ").first.map { $0.uppercased() } ?? "" })
            self.pipelining = keywords.contains("PIPELINING")
            self.eightBitMIME = keywords.contains("8BITMIME")
            self.smtpUTF8 = keywords.contains("SMTPUTF8")
        }
    }

    func transaction(from sender: String, to recipients: [String], message: [UInt8], timeout: TimeAmount) async throws -> SMTPReply {
        messages += 1
        lastUsed = .now
        return try await withDeadline(timeout) {
            var mail = "MAIL FROM:<\(sender)>"
            if self.eightBitMIME, message.contains(where: { $0 >= 0x80 }) { mail += " BODY=8BITMIME" }
            if self.smtpUTF8, !(sender + recipients.joined()).allSatisfy(\.isASCII) { mail += " SMTPUTF8" }
            let commands = [mail] + recipients.map { "RCPT TO:<\($0)>" } + ["DATA"]
            let stages = ["MAIL FROM"] + recipients.map { _ in "RCPT TO" } + ["DATA"]
            if self.pipelining {
                try await self.channel.outbound.write(ByteBuffer(string: commands.map { $0 + "\r\n" }.joined()))
                // Every reply is read, even after a refusal, so the stream stays in step.
                var refusal: Failure?
                for (index, stage) in stages.enumerated() {
                    let accepted: ClosedRange<Int> = index == stages.count - 1 ? 354...354 : 250...259
                    guard let reply = try await self.replies.next() else { throw Failure.connectionClosed(stage: stage) }
                    if refusal == nil, !accepted.contains(reply.code) { refusal = .refused(stage: stage, reply: reply) }
                }
                if let refusal { throw refusal }
            } else {
                for (command, stage) in zip(commands, stages) {
                    try await self.channel.outbound.write(ByteBuffer(string: command + "\r\n"))
                    _ = try await self.expect(stage, stage == "DATA" ? 354...354 : 250...259)
                }
            }
            try await self.channel.outbound.write(ByteBuffer(bytes: SMTPClient.dotStuffed(message)))
            let reply = try await self.expect("end of data", 250...259)
            self.lastUsed = .now
            return reply
        }
    }

    typealias Failure = SMTPClient.Failure

    private func expect(_ stage: String, _ accepted: ClosedRange<Int>) async throws -> SMTPReply {
        let reply: SMTPReply?
        do {
            reply = try await replies.next()
        } catch {
            throw Failure.connectionClosed(stage: stage)
        }
        guard let reply else { throw Failure.connectionClosed(stage: stage) }
        guard accepted.contains(reply.code) else { throw Failure.refused(stage: stage, reply: reply) }
        return reply
    }

    /// Runs `body`, closing the connection when `timeout` passes first (the read then fails).
    private func withDeadline<T>(_ timeout: TimeAmount, _ body: () async throws -> T) async throws -> T {
        let expired = NIOLockedValueBox(false)
        let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) { [channel] in
            expired.withLockedValue { $0 = true }
            channel.channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        do {
            return try await body()
        } catch {
            if expired.withLockedValue({ $0 }) { throw Failure.timedOut }
            if error is Failure { throw error }
            throw Failure.connectionClosed(stage: "write")
        }
    }

    /// Says goodbye politely and closes.
    func quit() {
        let channel = self.channel
        channel.channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n")).whenComplete { _ in channel.channel.close(promise: nil) }
    }

    func close() {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }
}
