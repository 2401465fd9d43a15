import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing
@testable import VeilSMTP

@Suite struct SMTPCommandTests {
    @Test func parsesPathsAndParameters() throws {
        #expect(try SMTPCommand.parse("MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME SMTPUTF8")
                == .mail(reversePath: "a@b.c", parameters: .init(declaredSize: 1000, eightBitMIME: true, smtpUTF8: true)))
        #expect(try SMTPCommand.parse("mail from: <>") == .mail(reversePath: "", parameters: .init()))
        #expect(try SMTPCommand.parse("RCPT TO:<@relay.example:User@Example.org>") == .rcpt(forwardPath: "User@Example.org"))
        #expect(try SMTPCommand.parse("RCPT TO:<\"a>b\"@example.org>") == .rcpt(forwardPath: "\"a>b\"@example.org"))
        #expect(try SMTPCommand.parse("ehlo mx.example.org") == .hello(verb: "EHLO", domain: "mx.example.org"))
        #expect(try SMTPCommand.parse("DATA") == .data)
    }

    @Test func refusesBadSyntax() {
        #expect(throws: SMTPCommand.ParseError.unknownCommand) { try SMTPCommand.parse("EXPN root") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("MAIL FROM:a@b.c") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("RCPT TO:<>") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("MAIL FROM:<a@b> SIZE=big") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("MAIL FROM:<a@b> XFORWARD=1") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("DATA now") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("HELO") }
        // Found by fuzzing: a parameter without a keyword trapped the daemon (any client could).
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("MAIL FROM:<a@b.c> = 1000 BODY=y.ex8") }
        #expect(throws: SMTPCommand.ParseError.self) { try SMTPCommand.parse("MAIL FROM:<a@b.c> =8BITMIME") }
    }
}

@Suite struct SMTPDataReaderTests {
    func read(_ chunks: [String], limit: Int = 1000) -> (reader: SMTPDataReader, done: Bool, rest: String) {
        var reader = SMTPDataReader(limit: limit)
        var done = false
        var rest = ""
        for chunk in chunks {
            var buffer = ByteBuffer(string: chunk)
            if !done { done = reader.consume(&buffer) }
            rest += String(buffer: buffer)
        }
        return (reader, done, rest)
    }

    @Test func unstuffsDotsAndStopsAtTheMarker() {
        let result = read(["Subject: x\r\n\r\n..leading\r\n.", "\r", "\nMAIL FROM:<a@b>\r\n"])
        #expect(result.done)
        #expect(String(decoding: result.reader.content, as: UTF8.self) == "Subject: x\r\n\r\n.leading\r\n")
        #expect(result.rest == "MAIL FROM:<a@b>\r\n")
        #expect(!result.reader.sawBareCarriageReturn && !result.reader.sawBareLineFeed)
    }

    @Test func emptyMessage() {
        let result = read([".\r\n"])
        #expect(result.done)
        #expect(result.reader.content.isEmpty)
    }

    /// Each smuggling sequence and what the message holds instead (bare LFs become CRLF, a lone
    /// dot that does not follow CRLF and end in CRLF stays a line of content).
    @Test(arguments: [
        ("a\n.\nb\r\n", "a\r\n.\r\nb\r\n", false),
        ("a\n.\r\nb\r\n", "a\r\n.\r\nb\r\n", false),
        ("a\r\n.\nb\r\n", "a\r\n.\r\nb\r\n", false),
        ("a\r.\rb\r\n", "a\r.\rb\r\n", true),
        ("a\r\n.\rb\r\n", "a\r\n.\rb\r\n", true),
    ])
    func smugglingSequencesNeverEndTheData(_ body: String, _ content: String, _ bareCR: Bool) {
        let result = read([body])
        #expect(!result.done)
        #expect(result.reader.sawBareCarriageReturn == bareCR)
        let finished = read([body, ".\r\n"])
        #expect(finished.done)
        #expect(String(decoding: finished.reader.content, as: UTF8.self) == content)
    }

    @Test func bareLineFeedsEndLinesAndAreStoredAsCRLF() {
        let result = read(["Subject: x\n\nbody\n..dot\nlast", "\r\n.\r\n"])
        #expect(result.done)
        #expect(result.reader.sawBareLineFeed && !result.reader.sawBareCarriageReturn)
        #expect(String(decoding: result.reader.content, as: UTF8.self) == "Subject: x\r\n\r\nbody\r\n.dot\r\nlast\r\n")
        // A client that ends with `<LF>.<LF>` has not ended the data.
        #expect(!read(["Subject: x\n\nbody\n.\n"]).done)
    }

    @Test func keepsAtMostTheLimit() {
        let result = read([String(repeating: "x", count: 50) + "\r\n.\r\n"], limit: 10)
        #expect(result.done)
        #expect(result.reader.exceededLimit)
        #expect(result.reader.content.count == 10)
    }
}

/// A delegate that accepts recipients on `veil.test` and records messages.
final class RecordingDelegate: SMTPServerDelegate {
    let delivered = NIOLockedValueBox<[(SMTPEnvelope, String)]>([])
    let replies: [SMTPReply]

    init(replies: [SMTPReply] = [SMTPReply(250, "2.0.0", "Ok: queued")]) { self.replies = replies }

    func verifyRecipient(_ recipient: String, envelope: SMTPEnvelope) async -> SMTPReply {
        recipient.hasSuffix("@veil.test") ? SMTPReply(250, "2.1.5", "Ok") : SMTPReply(550, "5.7.1", "Relay access denied")
    }

    func deliver(_ envelope: SMTPEnvelope, message: [UInt8]) async -> [SMTPReply] {
        delivered.withLockedValue { $0.append((envelope, String(decoding: message, as: UTF8.self))) }
        return envelope.recipients.indices.map { replies[min($0, replies.count - 1)] }
    }
}

/// Drives one session through `NIOAsyncTestingChannel`.
struct TestSession {
    let channel: NIOAsyncTestingChannel

    init(_ configuration: SMTPServerConfiguration = .init(hostname: "mx.veil.test"), delegate: any SMTPServerDelegate) async throws {
        let handler = SMTPServerHandler(configuration: configuration, delegate: delegate)
        channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(handler)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2525))
    }

    /// Sends `text` and returns the reply lines until `count` final replies arrived.
    func send(_ text: String, replies count: Int = 1) async throws -> [String] {
        if !text.isEmpty { try await channel.writeInbound(ByteBuffer(string: text)) }
        var lines: [String] = []
        var finals = 0
        while finals < count {
            let buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            for line in String(buffer: buffer).split(separator: "\r\n", omittingEmptySubsequences: true) {
                lines.append(String(line))
                if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] == " " { finals += 1 }
            }
        }
        return lines
    }
}

@Suite struct SMTPServerHandlerTests {
    @Test func greetsAndAdvertisesExtensions() async throws {
        let session = try await TestSession(delegate: RecordingDelegate())
        #expect(try await session.send("") == ["220 mx.veil.test ESMTP Veil"])
        let ehlo = try await session.send("EHLO client.example\r\n")
        #expect(ehlo == ["250-mx.veil.test", "250-PIPELINING", "250-SIZE 41943040", "250-8BITMIME", "250-SMTPUTF8",
                         "250 ENHANCEDSTATUSCODES"])
        #expect(try await session.send("VRFY x\r\n").first?.hasPrefix("252 2.5.2") == true)
        #expect(try await session.send("NOOP\r\n") == ["250 2.0.0 Ok"])
        #expect(try await session.send("STARTTLS\r\n").first?.hasPrefix("502 5.5.1") == true)
        #expect(try await session.send("QUIT\r\n") == ["221 2.0.0 Bye"])
    }

    @Test func enforcesCommandOrder() async throws {
        let session = try await TestSession(delegate: RecordingDelegate())
        _ = try await session.send("")
        #expect(try await session.send("MAIL FROM:<a@b.c>\r\n").first?.hasPrefix("503 5.5.1") == true)
        _ = try await session.send("HELO c\r\n")
        #expect(try await session.send("RCPT TO:<x@veil.test>\r\n").first?.hasPrefix("503 5.5.1") == true)
        #expect(try await session.send("DATA\r\n").first?.hasPrefix("503 5.5.1") == true)
        _ = try await session.send("MAIL FROM:<a@b.c>\r\n")
        #expect(try await session.send("MAIL FROM:<a@b.c>\r\n").first?.hasPrefix("503 5.5.1") == true)
        #expect(try await session.send("RCPT TO:<x@elsewhere.example>\r\n") == ["550 5.7.1 Relay access denied"])
        #expect(try await session.send("DATA\r\n").first?.hasPrefix("554 5.5.1") == true)
    }

    @Test func pipelinedTransactionDeliversOnce() async throws {
        let delegate = RecordingDelegate()
        let session = try await TestSession(delegate: delegate)
        _ = try await session.send("")
        let replies = try await session.send(
            "EHLO c\r\nMAIL FROM:<a@b.c> BODY=8BITMIME\r\nRCPT TO:<one@veil.test>\r\nRCPT TO:<no@else.example>\r\n"
                + "RCPT TO:<Two@veil.test>\r\nDATA\r\n", replies: 6)
        #expect(Array(replies.suffix(5)) == ["250 2.1.0 Ok", "250 2.1.5 Ok", "550 5.7.1 Relay access denied",
                                             "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"])
        #expect(try await session.send("Subject: hi\r\n\r\n..dot\r\n.\r\n") == ["250 2.0.0 Ok: queued"])
        let delivered = delegate.delivered.withLockedValue { $0 }
        #expect(delivered.count == 1)
        #expect(delivered.first?.0.recipients == ["one@veil.test", "Two@veil.test"])
        #expect(delivered.first?.0.sender == "a@b.c")
        #expect(delivered.first?.0.parameters.eightBitMIME == true)
        #expect(delivered.first?.1 == "Subject: hi\r\n\r\n.dot\r\n")
    }

    @Test func lmtpAnswersPerRecipient() async throws {
        let delegate = RecordingDelegate(replies: [SMTPReply(250, "2.0.0", "E200 delivered"), SMTPReply(451, "4.4.0", "E407 Retry later")])
        let session = try await TestSession(.init(hostname: "mx.veil.test", lmtp: true), delegate: delegate)
        #expect(try await session.send("") == ["220 mx.veil.test LMTP Veil"])
        #expect(try await session.send("EHLO c\r\n").first?.hasPrefix("500 5.5.1") == true)
        _ = try await session.send("LHLO c\r\n")
        _ = try await session.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<one@veil.test>\r\nRCPT TO:<two@veil.test>\r\nDATA\r\n", replies: 4)
        #expect(try await session.send("x\r\n.\r\n", replies: 2) == ["250 2.0.0 E200 delivered", "451 4.4.0 E407 Retry later"])
    }

    @Test func sizeAndRecipientLimits() async throws {
        let delegate = RecordingDelegate()
        let session = try await TestSession(.init(hostname: "h", maxMessageSize: 20, maxRecipients: 1), delegate: delegate)
        _ = try await session.send("")
        _ = try await session.send("EHLO c\r\n")
        #expect(try await session.send("MAIL FROM:<a@b.c> SIZE=21\r\n").first?.hasPrefix("552 5.3.4") == true)
        _ = try await session.send("MAIL FROM:<a@b.c>\r\n")
        _ = try await session.send("RCPT TO:<one@veil.test>\r\n")
        #expect(try await session.send("RCPT TO:<two@veil.test>\r\n").first?.hasPrefix("452 4.5.3") == true)
        _ = try await session.send("DATA\r\n")
        #expect(try await session.send(String(repeating: "y", count: 100) + "\r\n.\r\n").first?.hasPrefix("552 5.3.4") == true)
        #expect(delegate.delivered.withLockedValue { $0.isEmpty })
        // The session goes on after a refused message.
        #expect(try await session.send("MAIL FROM:<a@b.c>\r\n") == ["250 2.1.0 Ok"])
    }

    @Test func tooManyErrorsCloseTheSession() async throws {
        let session = try await TestSession(.init(hostname: "h", maxErrors: 3), delegate: RecordingDelegate())
        _ = try await session.send("")
        _ = try await session.send("BOGUS\r\n")
        _ = try await session.send("BOGUS\r\n")
        let last = try await session.send("BOGUS\r\n", replies: 2)
        #expect(last == ["500 5.5.2 Error: command not recognized", "421 4.7.0 h Error: too many errors"])
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await !session.channel.isActive)
    }

    @Test func overlongAndBareNewlineCommandsAreRefused() async throws {
        let session = try await TestSession(.init(hostname: "h", maxCommandLength: 30), delegate: RecordingDelegate())
        _ = try await session.send("")
        #expect(try await session.send("EHLO " + String(repeating: "a", count: 100) + "\r\n") == ["500 5.5.2 Error: line too long"])
        #expect(try await session.send("HELO a\rb\r\n") == ["500 5.5.2 Error: bare <CR> received"])
        // A command line ending in a bare LF is taken as if it ended in CRLF.
        #expect(try await session.send("HELO a\nMAIL FROM:<x@y>\n", replies: 2) == ["250 h", "250 2.1.0 Ok"])
    }

    @Test func recipientsPastTheLimitDoNotEndThePipelinedSession() async throws {
        let delegate = RecordingDelegate()
        let session = try await TestSession(.init(hostname: "h", maxRecipients: 2, maxErrors: 3), delegate: delegate)
        _ = try await session.send("")
        let rcpts = (1...8).map { "RCPT TO:<r\($0)@veil.test>\r\n" }.joined()
        let replies = try await session.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n" + rcpts + "DATA\r\n", replies: 11)
        #expect(Array(replies.suffix(9)) == ["250 2.1.5 Ok", "250 2.1.5 Ok"] + Array(repeating: "452 4.5.3 Error: too many recipients", count: 6)
                    + ["354 End data with <CR><LF>.<CR><LF>"])
        #expect(try await session.send("x\r\n.\r\n") == ["250 2.0.0 Ok: queued"])
        #expect(delegate.delivered.withLockedValue { $0.first?.0.recipients } == ["r1@veil.test", "r2@veil.test"])
    }

    @Test func aCommandTricklingInStillHasOneDeadline() async throws {
        let session = try await TestSession(.init(hostname: "h", commandTimeout: .milliseconds(100)), delegate: RecordingDelegate())
        _ = try await session.send("")
        for byte in ["E", "H", "L"] {
            try await session.channel.writeInbound(ByteBuffer(string: byte))
            await session.channel.testingEventLoop.advanceTime(by: .milliseconds(40))
        }
        #expect(try await session.send("") == ["421 4.4.2 h Error: timeout exceeded"])
    }

    @Test func theDataDeadlineGrowsWithTheBytesReceived() async throws {
        // 1,000 bytes a second: each byte buys a millisecond beyond the 100 ms data timeout.
        let configuration = SMTPServerConfiguration(hostname: "h", dataTimeout: .milliseconds(100), minDataRate: 1_000)
        let session = try await TestSession(configuration, delegate: RecordingDelegate())
        _ = try await session.send("")
        _ = try await session.send("HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@veil.test>\r\nDATA\r\n", replies: 4)
        try await session.channel.writeInbound(ByteBuffer(string: String(repeating: "y", count: 50)))
        await session.channel.testingEventLoop.advanceTime(by: .milliseconds(140))
        #expect(try await session.channel.isActive)
        await session.channel.testingEventLoop.advanceTime(by: .milliseconds(20))
        #expect(try await session.send("") == ["421 4.4.2 h Error: timeout exceeded"])
    }

    @Test func commandTimeoutCloses() async throws {
        let session = try await TestSession(.init(hostname: "h", commandTimeout: .milliseconds(100)), delegate: RecordingDelegate())
        _ = try await session.send("")
        await session.channel.testingEventLoop.advanceTime(by: .milliseconds(150))
        #expect(try await session.send("") == ["421 4.4.2 h Error: timeout exceeded"])
    }
}
