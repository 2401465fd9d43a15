import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Counts open sessions (for `maxConnections`) and knows their channels (for shutdown).
final class SMTPSessionRegistry: Sendable {
    private let state = NIOLockedValueBox<(open: Int, channels: [ObjectIdentifier: any Channel])>((0, [:]))
    /// Shared by every listener of the process: `veil_smtp_sessions_open`.
    static let openGauge = Gauge(label: "veil_smtp_sessions_open")
    static let sessionsCounter = Counter(label: "veil_smtp_sessions_total")
    static let inProcess = NIOLockedValueBox(0)

    /// Takes a slot; false when `limit` sessions are already open.
    func open(limit: Int) -> Bool {
        let open = state.withLockedValue { state -> Int? in
            guard state.open < limit else { return nil }
            state.open += 1
            return state.open
        }
        guard let open else { return false }
        Self.openGauge.record(open)
        Self.inProcess.withLockedValue { $0 += 1 }
        Self.sessionsCounter.increment()
        return true
    }

    func close() {
        Self.openGauge.record(state.withLockedValue { $0.open -= 1; return $0.open })
        Self.inProcess.withLockedValue { $0 -= 1 }
    }

    var openCount: Int { state.withLockedValue { $0.open } }

    func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        state.withLockedValue { $0.channels[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLockedValue { $0.channels.removeValue(forKey: key) }
        }
    }

    var channels: [any Channel] { state.withLockedValue { Array($0.channels.values) } }
}

/// A listening SMTP/LMTP server. Sessions are `SMTPServerHandler`s; what happens to recipients and
/// messages is up to the delegate.
public final class SMTPServer: Sendable {
    private let channel: any Channel
    private let sessions: SMTPSessionRegistry
    /// The bound port (useful when asked for port 0).
    public let port: Int

    private init(channel: any Channel, sessions: SMTPSessionRegistry) {
        self.channel = channel
        self.sessions = sessions
        self.port = channel.localAddress?.port ?? 0
    }

    public static func start(host: String, port: Int, configuration: SMTPServerConfiguration,
                             delegate: any SMTPServerDelegate,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> SMTPServer {
        let sessions = SMTPSessionRegistry()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                sessions.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SMTPServerHandler(configuration: configuration, delegate: delegate, sessions: sessions))
                }
            }
            .bind(host: host, port: port).get()
        return SMTPServer(channel: channel, sessions: sessions)
    }

    /// Sessions open right now.
    public var openSessions: Int { sessions.openCount }

    /// Sessions open on every listener of this process.
    public static var openSessionsInProcess: Int { SMTPSessionRegistry.inProcess.withLockedValue { $0 } }

    /// Returns when the listener has closed.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }

    /// Stops accepting, tells idle sessions to go (`421`), lets transactions in flight finish for
    /// up to `gracePeriod`, then closes what is left.
    public func shutdown(gracePeriod: Duration = .seconds(30)) async {
        try? await channel.close()
        for session in sessions.channels {
            session.pipeline.fireUserInboundEventTriggered(SMTPServerHandler.Quiesce())
        }
        let deadline = ContinuousClock.now + gracePeriod
        while !sessions.channels.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for session in sessions.channels { try? await session.close() }
    }
}
