import Crypto
import Foundation
import Testing
import _CryptoExtras
@testable import VeilMail

@Suite struct HeaderFoldingTests {
    static func lines(_ raw: [UInt8], name: String) -> [String] {
        (name + ":" + String(decoding: raw, as: UTF8.self)).components(separatedBy: "\r\n")
    }

    static func unfolded(_ raw: [UInt8]) -> String {
        String(decoding: raw.filter { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
    }

    static let sixtyRecipients = (1...60).map { "\"Person \($0), Team - p\($0) at example.org\" <p\($0)_abcde@veil.test>" }
        .joined(separator: ", ")

    /// name, value, the longest line allowed, the number of lines expected (nil: any).
    @Test(arguments: [
        ("Subject", "short", 78, 1),
        ("To", sixtyRecipients, 78, nil),
        ("References", (1...40).map { "<\($0).1700000000.12345@mail.example.org>" }.joined(separator: " "), 78, nil),
        // One word longer than a line stands alone on its line; nothing is cut inside it.
        ("X-Token", "a " + String(repeating: "x", count: 120) + " b", 123, 3),
        // No space at all: left as it is.
        ("X-Token", String(repeating: "y", count: 200), 209, 1),
    ] as [(String, String, Int, Int?)])
    func foldsWithoutChangingTheValue(_ name: String, _ value: String, _ longest: Int, _ count: Int?) {
        let raw = HeaderFolding.fold(name: name, value: value)
        #expect(Self.unfolded(raw) == " " + value)
        let lines = Self.lines(raw, name: name)
        #expect(lines.allSatisfy { $0.utf8.count <= longest }, "\(lines.map(\.utf8.count))")
        // Every continuation line starts with white space and holds more than white space.
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") && $0.contains { $0 != " " } })
        if let count { #expect(lines.count == count) }
    }

    /// Found by fuzzing: a CR or LF in a value (a decoded display name) would have ended the
    /// field and started another one.
    @Test func lineBreaksInAValueCannotStartAnotherField() throws {
        let raw = HeaderFolding.fold(name: "From", value: "Evil\r\nBcc: victim@example.org <r@veil.test>")
        #expect(!raw.contains(0x0D) && !raw.contains(0x0A))
        var message = try Message(parsing: Array("Subject: x\r\n\r\nbody\r\n".utf8))
        message.set("From", "\"Evil\nBcc: victim@example.org\" <r@veil.test>")
        let reparsed = try Message(parsing: message.serialized)
        #expect(reparsed.fields.map(\.name) == ["Subject", "From"])
    }

    @Test func addressListsBreakBetweenAddressesNotInsideQuotedNames() {
        let raw = HeaderFolding.fold(name: "To", value: Self.sixtyRecipients)
        let lines = Self.lines(raw, name: "To")
        // One address a line: each break follows the comma that ends an address, never one
        // inside a display name.
        #expect(lines.count == 60)
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix(">,") })
        #expect(AddressList.parse(Self.unfolded(raw)).count == 60)
    }

    @Test func aSignedMessageWithSixtyRecipientsKeepsEveryLineShortAndVerifies() throws {
        var message = try Message(parsing: Array("From: a@veil.test\r\nSubject: many\r\n\r\nbody\r\n".utf8))
        message.set("To", Self.sixtyRecipients)
        message.set("Cc", Self.sixtyRecipients)
        let pem = try DKIMSigner.generateRSAKeyPEM()
        let signer = try DKIMSigner(domain: "veil.test", selector: "veil", rsaPEM: pem)
        try signer.sign(&message)
        let bytes = message.serialized
        let header = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n\r\n")[0]
        #expect(header.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        // What a relay receives and a verifier reads: parse the bytes again, verify with the public key.
        let received = try Message(parsing: bytes)
        #expect(received.value("To") == Self.sixtyRecipients)
        let der = try #require(Data(base64Encoded: String(signer.dnsRecord.dropFirst("v=DKIM1; k=rsa; p=".count))))
        let publicKey = try _RSA.Signing.PublicKey(derRepresentation: der)
        let valid = try DKIMTests().verify(received) { data, signature in
            publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: data),
                                       padding: .insecurePKCS1v1_5)
        }
        #expect(valid)
    }
}

@Suite struct OverlongFieldTests {
    @Test func onlyFieldsWithALineOver998OctetsAreFoldedAgain() throws {
        let long = (1...60).map { "<\($0).1700000000.4242@mail.team.example>" }.joined(separator: " ")
        var message = try Message(parsing: Array("Subject: kept\r\n  as folded\r\nReferences: \(long)\r\n\r\nbody\r\n".utf8))
        let subject = message.fields[0]
        message.foldOverlongFields()
        #expect(message.fields[0] == subject)
        #expect(message.value("References") == long)
        let lines = String(decoding: message.fields[1].rawValue, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.count > 20 && lines.allSatisfy { $0.utf8.count <= 78 })
    }
}
