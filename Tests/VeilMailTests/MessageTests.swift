import Testing
@testable import VeilMail

@Suite struct MessageTests {
    let raw = Array("From: \"First\" <first@example.com>\r\nTo: a@veil.test,\r\n b@veil.test\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n\r\nBody line 1\r\n.\r\n=E9 stays\r\n".utf8)

    @Test func fieldsAreParsedAndUnfolded() throws {
        let message = try Message(parsing: raw)
        #expect(message.fields.map(\.name) == ["From", "To", "Subject"])
        #expect(message.value("to") == "a@veil.test, b@veil.test")
        #expect(message.fields(named: "TO").first?.rawValue == Array(" a@veil.test,\r\n b@veil.test".utf8))
    }

    @Test func bodyBytesAreUntouchedThroughARewrite() throws {
        var message = try Message(parsing: raw)
        message.set("From", "\"x\" <rev@veil.test>")
        message.removeAll(named: "subject")
        let out = message.serialized
        let body = Array("Body line 1\r\n.\r\n=E9 stays\r\n".utf8)
        #expect(Array(out.suffix(body.count)) == body)
        #expect(String(decoding: out, as: UTF8.self).hasPrefix("From: \"x\" <rev@veil.test>\r\nTo: a@veil.test,\r\n b@veil.test\r\n\r\n"))
    }

    @Test func setReplacesAllOccurrencesOrAppends() throws {
        var message = try Message(parsing: Array("From: a@x.y\r\nFrom: b@x.y\r\n\r\n".utf8))
        message.set("From", "c@x.y")
        #expect(message.fields(named: "from").map(\.value) == ["c@x.y"])
        message.set("X-Veil-Type", "Forward")
        #expect(message.fields.last?.name == "X-Veil-Type")
    }

    @Test func bareLFHeadersAndMissingBody() throws {
        let message = try Message(parsing: Array("Subject: hi\nX: y\n".utf8))
        #expect(message.value("x") == "y")
        #expect(message.body.isEmpty)
    }

    @Test func garbageHeaderLinesAreErrors() {
        #expect(throws: Message.ParseError.malformedHeaderLine(1)) { try Message(parsing: Array(" continuation first\r\n\r\n".utf8)) }
        #expect(throws: Message.ParseError.malformedHeaderLine(2)) { try Message(parsing: Array("A: b\r\nno colon here\r\n\r\n".utf8)) }
    }
}

@Suite struct EncodedWordDecoderTests {
    @Test func decodesQAndBInAnyCase() {
        #expect(EncodedWordDecoder.decode("=?utf-8?q?Nh=C6=A1n_Nguy=E1=BB=85n?=") == "Nhơn Nguyễn")
        #expect(EncodedWordDecoder.decode("=?UTF-8?B?Q2Fmw6k=?= au lait") == "Café au lait")
        #expect(EncodedWordDecoder.decode("=?iso-8859-1?q?caf=E9?=") == "café")
    }

    @Test func spaceBetweenEncodedWordsIsDropped() {
        #expect(EncodedWordDecoder.decode("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab")
        #expect(EncodedWordDecoder.decode("x =?utf-8?q?a?= y") == "x a y")
    }

    @Test func malformedWordsStayAsWritten() {
        #expect(EncodedWordDecoder.decode("=?utf-8?x?abc?=") == "=?utf-8?x?abc?=")
        #expect(EncodedWordDecoder.decode("=?utf-8?q?=ZZ?= tail") == "=?utf-8?q?=ZZ?= tail")
        #expect(EncodedWordDecoder.decode("plain =? text") == "plain =? text")
    }
}
