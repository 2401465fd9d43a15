import Foundation
import Testing
import VeilCore

@Suite struct TextFormatTests {
    @Test func hexMatchesTheFormatDirective() {
        let bytes: [UInt8] = [0, 1, 0x0f, 0x10, 0xab, 0xff]
        #expect(TextFormat.hex(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
        #expect(TextFormat.hex([UInt8]()) == "")
    }

    @Test func zeroPaddingAndMilliseconds() {
        #expect(TextFormat.zeroPadded(7, width: 3) == "007")
        #expect(TextFormat.zeroPadded(1234, width: 2) == "1234")
        #expect(TextFormat.zeroPadded(-5, width: 3) == "-5")
        #expect(TextFormat.milliseconds(.milliseconds(12) + .microseconds(345)) == "12.34")
        #expect(TextFormat.milliseconds(.microseconds(5)) == "0.00")
        #expect(TextFormat.milliseconds(.seconds(2) + .microseconds(70)) == "2000.07")
    }

    @Test func utcDateTimeMatchesTheFormatDirective() {
        #expect(TextFormat.utcDateTime(1_586_195_834) == "2020-04-06 17:57:14")
        #expect(TextFormat.utcDateTime(0, separator: "T") == "1970-01-01T00:00:00")
        #expect(TextFormat.utcDateTime(253_402_300_799) == "9999-12-31 23:59:59")
        #expect(TextFormat.utcDateTime(1_586_195_834, suffix: "+00:00") == "2020-04-06 17:57:14+00:00")
        #expect(TextFormat.utcDateTime(951_782_400, separator: "T", suffix: "Z") == "2000-02-29T00:00:00Z")
        // Outside four-digit years: the general path, same format.
        #expect(TextFormat.utcDateTime(253_402_300_800) == "10000-01-01 00:00:00")
        #expect(TextFormat.utcDateTime(-62_135_596_801) == "0000-12-31 23:59:59")
    }

    @Test func replacingAnASCIIByteKeepsEverythingElse() {
        #expect(TextFormat.replacing("@", with: " at ", in: "jo@exämple.org") == "jo at exämple.org")
        #expect(TextFormat.replacing("\"", with: "", in: "\"Zoë\" \"K\"") == "Zoë K")
        #expect(TextFormat.replacing("@", with: "(a)", in: "none") == "none")
        #expect(TextFormat.replacing("@", with: "(a)", in: "a@b@c") == "a(a)b(a)c")
    }

    @Test func jsonEscapesOnlyWhatJSONRequires() {
        func escaped(_ value: String) -> String {
            var bytes: [UInt8] = []
            TextFormat.appendJSONEscaped(value, to: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(escaped("plain é 😀 / <>") == "plain é 😀 / <>")
        #expect(escaped("q\" b\\ n\n r\r t\t z\u{00} u\u{1F}") == #"q\" b\\ n\n r\r t\t z\u0000 u\u001f"#)
        #expect(escaped("") == "")
    }
}
