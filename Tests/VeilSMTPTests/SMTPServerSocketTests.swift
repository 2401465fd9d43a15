import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import VeilSMTP

/// A client that writes raw bytes to a real socket and collects everything the server says.
final class RawClient: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let received = NIOLockedValueBox("")
    private let channelBox = NIOLockedValueBox<(any Channel)?>(nil)

    static func connect(port: Int) async throws -> RawClient {
        let client = RawClient()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(client) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        client.channelBox.withLockedValue { $0 = channel }
        return client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.withLockedValue { $0 += String(buffer: buffer) }
    }

    var text: String { received.withLockedValue { $0 } }
    var channel: any Channel { channelBox.withLockedValue { $0! } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Waits (bounded) until the transcript contains `marker`. The bound is generous: under the
    /// full suite on two cores a reply can take seconds, and only a failing test waits it out.
    @discardableResult
    func waitFor(_ marker: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if text.contains(marker) { return text }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(marker.debugDescription); got \(text.debugDescription)")
        return text
    }

    func startTLS() async throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil),
                                                          position: .first)
        }.get()
    }

    func close() async { try? await channel.close() }
}

/// A self-signed certificate made with the openssl command for the STARTTLS tests.
func makeTestTLSContext() throws -> NIOSSLContext {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("veil-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let key = directory.appendingPathComponent("key.pem").path, cert = directory.appendingPathComponent("cert.pem").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "1", "-subj", "/CN=mx.veil.test"]
    process.standardError = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let configuration = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
    return try NIOSSLContext(configuration: configuration)
}

@Suite struct SMTPServerSocketTests {
    @Test func bareNewlineSmugglingStaysContentOnARealSocket() async throws {
        let delegate = RecordingDelegate()
        let server = try await SMTPServer.start(host: "127.0.0.1", port: 0, configuration: .init(hostname: "mx"),
                                                delegate: delegate)
        let client = try await RawClient.connect(port: server.port)
        try await client.waitFor("220 ")
        // The classic smuggling payload: `<LF>.<LF>` followed by a second transaction.
        try await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@veil.test>\r\nDATA\r\n")
        try await client.waitFor("354 ")
        try await client.send("Subject: one\r\n\r\nbody\n.\nMAIL FROM:<evil@b.c>\r\nRCPT TO:<y@veil.test>\r\nDATA\r\n"
                              + "Subject: smuggled\r\n\r\nx\r\n.\r\nNOOP\r\n")
        let transcript = try await client.waitFor("250 2.0.0 Ok\r\n")
        let afterData = transcript.components(separatedBy: "354 End data with <CR><LF>.<CR><LF>\r\n").last ?? ""
        #expect(afterData == "250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n")
        // One message, whose content holds the would-be second transaction as text.
        let delivered = delegate.delivered.withLockedValue { $0 }
        #expect(delivered.count == 1)
        #expect(delivered.first?.0.recipients == ["x@veil.test"])
        #expect(delivered.first?.1 == "Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<evil@b.c>\r\nRCPT TO:<y@veil.test>\r\nDATA\r\n"
                + "Subject: smuggled\r\n\r\nx\r\n")
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func aBareCarriageReturnInDataIsRefused() async throws {
        let delegate = RecordingDelegate()
        let server = try await SMTPServer.start(host: "127.0.0.1", port: 0, configuration: .init(hostname: "mx"),
                                                delegate: delegate)
        let client = try await RawClient.connect(port: server.port)
        try await client.waitFor("220 ")
        try await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@veil.test>\r\nDATA\r\n")
        try await client.waitFor("354 ")
        try await client.send("Subject: one\r\n\r\nbody\r.\rMAIL FROM:<evil@b.c>\r\n.\r\n")
        try await client.waitFor("550 5.5.2 Error: bare <CR> in message data, use CRLF line ends\r\n")
        #expect(delegate.delivered.withLockedValue { $0.isEmpty })
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    /// A client sending a byte at a time, never finishing: closed at the deadline, not kept.
    @Test(arguments: [false, true])
    func aTricklingClientIsClosedAtItsDeadline(inData: Bool) async throws {
        // Only the deadline under test is short, so a busy machine cannot end the session early.
        let configuration = SMTPServerConfiguration(hostname: "mx", commandTimeout: inData ? .seconds(30) : .milliseconds(800),
                                                    dataTimeout: .milliseconds(800), minDataRate: 100)
        let server = try await SMTPServer.start(host: "127.0.0.1", port: 0, configuration: configuration,
                                                delegate: RecordingDelegate())
        let client = try await RawClient.connect(port: server.port)
        try await client.waitFor("220 ")
        if inData {
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@veil.test>\r\nDATA\r\n")
            try await client.waitFor("354 ")
        }
        let started = ContinuousClock.now
        // One byte every 100 ms: the old idle timer, re-armed by every byte, never fired.
        while !client.text.contains("421 4.4.2"), ContinuousClock.now - started < .seconds(30) {
            try? await client.send("x")
            try await Task.sleep(for: .milliseconds(100))
        }
        let elapsed = ContinuousClock.now - started
        #expect(client.text.hasSuffix("421 4.4.2 mx Error: timeout exceeded\r\n"))
        // 0.8 s, plus (in DATA) 10 ms for each of the few bytes that arrived, then slack for a busy
        // machine (8.5 s was seen under the full suite); a session kept alive would run the 30 s out.
        #expect(elapsed < .seconds(20), "closed after \(elapsed)")
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func startTLSDiscardsPipelinedCommands() async throws {
        let configuration = SMTPServerConfiguration(hostname: "mx", tls: TLSCredentials(try makeTestTLSContext()))
        let server = try await SMTPServer.start(host: "127.0.0.1", port: 0, configuration: configuration,
                                                delegate: RecordingDelegate())
        let client = try await RawClient.connect(port: server.port)
        try await client.waitFor("220 ")
        try await client.send("EHLO c\r\n")
        try await client.waitFor("250 STARTTLS\r\n")
        // An attacker in the middle appends a command that must not run inside the TLS session.
        try await client.send("STARTTLS\r\nRSET\r\n")
        try await client.waitFor("220 2.0.0 Ready to start TLS\r\n")
        try await Task.sleep(for: .milliseconds(100))
        try await client.startTLS()
        try await client.send("EHLO c\r\n")
        let transcript = try await client.waitFor("250 ENHANCEDSTATUSCODES\r\n")
        let afterTLS = transcript.components(separatedBy: "220 2.0.0 Ready to start TLS\r\n").last ?? ""
        #expect(afterTLS.hasPrefix("250-mx\r\n"), "the pipelined RSET got a reply: \(afterTLS)")
        #expect(!afterTLS.contains("STARTTLS"))
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func connectionLimit() async throws {
        let server = try await SMTPServer.start(host: "127.0.0.1", port: 0,
                                                configuration: .init(hostname: "mx", maxConnections: 1),
                                                delegate: RecordingDelegate())
        let first = try await RawClient.connect(port: server.port)
        try await first.waitFor("220 ")
        let second = try await RawClient.connect(port: server.port)
        try await second.waitFor("421 4.3.2 mx Too many connections")
        await first.close()
        try await Task.sleep(for: .milliseconds(100))
        let third = try await RawClient.connect(port: server.port)
        try await third.waitFor("220 ")
        await second.close()
        await third.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func shutdownClosesIdleSessionsWith421() async throws {
        let server = try await SMTPServer.start(host: "127.0.0.1", port: 0, configuration: .init(hostname: "mx"),
                                                delegate: RecordingDelegate())
        let client = try await RawClient.connect(port: server.port)
        try await client.waitFor("220 ")
        await server.shutdown(gracePeriod: .seconds(2))
        try await client.waitFor("421 4.3.2 mx Service shutting down")
        #expect(server.openSessions == 0)
    }
}
