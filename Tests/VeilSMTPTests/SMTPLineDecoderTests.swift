import NIOCore
import NIOEmbedded
import Testing
@testable import VeilSMTP

@Suite struct SMTPLineDecoderTests {
    func lines(_ chunks: [String], maxLength: Int = 20) throws -> [SMTPLineDecoder.Line] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPLineDecoder(maxLength: maxLength)))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        var result: [SMTPLineDecoder.Line] = []
        while let line: SMTPLineDecoder.Line = try channel.readInbound() { result.append(line) }
        _ = try channel.finish()
        return result
    }

    @Test func onlyCRLFEndsALine() throws {
        let result = try lines(["HELO a\r\nMAIL FROM:<x@y>\r", "\nRCPT"])
        #expect(result.map { String(buffer: $0.bytes) } == ["HELO a", "MAIL FROM:<x@y>"])
        #expect(result.allSatisfy { !$0.hasBareNewline && !$0.tooLong })
    }

    @Test func bareLFAndCRStayInsideTheLineAndAreFlagged() throws {
        // `<LF>.<LF>` must never look like the end of DATA.
        let result = try lines(["text\n.\nmore\r\n", "a\rb\r\n"], maxLength: 100)
        #expect(result.map { String(buffer: $0.bytes) } == ["text\n.\nmore", "a\rb"])
        #expect(result.allSatisfy { $0.hasBareNewline })
    }

    @Test func overlongLinesAreCutAndFlaggedWithoutUnboundedBuffering() throws {
        let long = String(repeating: "x", count: 500)
        let result = try lines([long, long, "\r\nok\r\n"])
        #expect(result.count == 2)
        #expect(result[0].tooLong)
        #expect(result[0].bytes.readableBytes <= 20)
        #expect(String(buffer: result[1].bytes) == "ok" && !result[1].tooLong)
    }
}

@Suite struct SMTPReplyDecoderTests {
    @Test func multilineRepliesAreJoined() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        try channel.writeInbound(ByteBuffer(string: "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n451 4.3.0 later\r\n"))
        let first: SMTPReply? = try channel.readInbound()
        let second: SMTPReply? = try channel.readInbound()
        #expect(first == SMTPReply(code: 250, lines: ["mx.example", "PIPELINING", "SIZE 1000"]))
        #expect(second?.code == 451 && second?.isTransient == true)
        _ = try channel.finish()
    }

    @Test func garbageIsAnError() {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        #expect(throws: (any Error).self) { try channel.writeInbound(ByteBuffer(string: "hello\r\n")) }
    }
}

@Suite struct SMTPClientTests {
    @Test func dotStuffingEscapesLeadingDotsAndTerminates() {
        let stuffed = SMTPClient.dotStuffed(Array("a\r\n.b\r\n..c".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "a\r\n..b\r\n...c\r\n.\r\n")
    }
}
