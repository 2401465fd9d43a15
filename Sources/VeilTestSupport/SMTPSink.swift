import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import VeilSMTP

/// A real SMTP listener on loopback that accepts everything and keeps the messages, for tests
/// that need to read what Veil sends. It can be told to answer 4xx to show retries.
public final class SMTPSink: Sendable {
    public struct Message: Sendable {
        public var sender: String
        public var recipients: [String]
        public var data: String
    }

    private let state = NIOLockedValueBox<(messages: [Message], refuse: Bool)>(([], false))
    private let connections = NIOLockedValueBox<[any Channel]>([])
    private let channel: NIOAsyncChannel<NIOAsyncChannel<SMTPLineDecoder.Line, ByteBuffer>, Never>
    public let port: Int
    private let task: Task<Void, Never>

    /// Listens on `port` (0: any free one) on loopback.
    public init(port: Int = 0) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder(maxLength: 100_000)))
                    return try NIOAsyncChannel<SMTPLineDecoder.Line, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        channel = server
        self.port = server.channel.localAddress?.port ?? 0
        let state = self.state
        let openSessions = self.connections
        task = Task {
            try? await server.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            openSessions.withLockedValue { $0.append(connection.channel) }
                            group.addTask { await Self.serve(connection, state: state) }
                        }
                    } catch {}
                }
            }
        }
    }

    public var messages: [Message] { state.withLockedValue { $0.messages } }

    /// While true, every transaction gets `451` at end of data.
    public func refuse(_ refuse: Bool) { state.withLockedValue { $0.refuse = refuse } }

    /// Waits until at least `count` messages arrived (bounded).
    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Message] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = messages
            if current.count >= count { return current }
            try await Task.sleep(for: .milliseconds(20))
        }
        return messages
    }

    /// Closes every open session, as a relay restarting would.
    public func dropConnections() async {
        let open = connections.withLockedValue { open in
            defer { open = [] }
            return open
        }
        for channel in open { try? await channel.close() }
    }

    public func shutdown() async {
        try? await channel.channel.close()
        task.cancel()
    }

    private static func serve(_ connection: NIOAsyncChannel<SMTPLineDecoder.Line, ByteBuffer>,
                              state: NIOLockedValueBox<(messages: [Message], refuse: Bool)>) async {
        try? await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "220 sink ESMTP\r\n"))
            var sender = ""
            var recipients: [String] = []
            var data: [String] = []
            var inData = false
            for try await line in inbound {
                let text = String(buffer: line.bytes)
                if inData {
                    if text == "." {
                        inData = false
                        let refuse = state.withLockedValue { $0.refuse }
                        if refuse {
                            try await outbound.write(ByteBuffer(string: "451 4.3.0 try again later\r\n"))
                        } else {
                            let message = Message(sender: sender, recipients: recipients, data: data.joined(separator: "\r\n"))
                            state.withLockedValue { $0.messages.append(message) }
                            try await outbound.write(ByteBuffer(string: "250 2.0.0 queued\r\n"))
                        }
                        recipients = []
                        data = []
                    } else {
                        data.append(text.hasPrefix(".") ? String(text.dropFirst()) : text)
                    }
                    continue
                }
                let upper = text.uppercased()
                if upper.hasPrefix("EHLO") || upper.hasPrefix("HELO") {
                    try await outbound.write(ByteBuffer(string: "250-sink\r\n250 PIPELINING\r\n"))
                } else if upper.hasPrefix("MAIL FROM:") {
                    sender = Self.address(text.dropFirst(10))
                    try await outbound.write(ByteBuffer(string: "250 2.1.0 ok\r\n"))
                } else if upper.hasPrefix("RCPT TO:") {
                    recipients.append(Self.address(text.dropFirst(8)))
                    try await outbound.write(ByteBuffer(string: "250 2.1.5 ok\r\n"))
                } else if upper == "DATA" {
                    inData = true
                    try await outbound.write(ByteBuffer(string: "354 go ahead\r\n"))
                } else if upper == "QUIT" {
                    try await outbound.write(ByteBuffer(string: "221 2.0.0 bye\r\n"))
                    return
                } else {
                    try await outbound.write(ByteBuffer(string: "250 ok\r\n"))
                }
            }
        }
    }

    static func address(_ text: Substring) -> String {
        let trimmed = text.trimmingPrefix(" ")
        guard let open = trimmed.firstIndex(of: "<"), let close = trimmed.firstIndex(of: ">") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: open)..<close])
    }
}

/// A line-oriented client on a raw socket, for tests that speak SMTP or LMTP by hand.
public final class SMTPTestConnection {
    let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
    var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator

    init(channel: NIOAsyncChannel<SMTPReply, ByteBuffer>) {
        self.channel = channel
        self.replies = channel.inbound.makeAsyncIterator()
    }

    deinit {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    public static func connect(port: Int) async throws -> SMTPTestConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return SMTPTestConnection(channel: channel)
    }

    public func write(_ text: String) async throws {
        try await channel.outbound.write(ByteBuffer(string: text))
    }

    /// The next reply as one line: `250 2.0.0 Ok` (continuation lines joined with " / ").
    public func readReply() async throws -> String {
        let reply = try await replies.next()
        guard let reply else { return "" }
        return "\(reply.code) " + reply.lines.joined(separator: " / ")
    }
}
