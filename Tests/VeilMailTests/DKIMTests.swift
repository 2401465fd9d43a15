import Crypto
import Foundation
import Testing
import _CryptoExtras
@testable import VeilMail

@Suite struct DKIMTests {
    /// RFC 6376 §3.4.5, the relaxed example.
    @Test func relaxedCanonicalisationMatchesTheRFCExample() throws {
        // Header fields `A: X` and `B : Y<TAB><CRLF><TAB>Z  `, as name and raw value.
        #expect(DKIMSigner.relaxedHeader(name: "A", rawValue: Array(" X".utf8)) == Array("a:X".utf8))
        #expect(DKIMSigner.relaxedHeader(name: "B ", rawValue: Array(" Y\t\r\n\tZ  ".utf8)) == Array("b:Y Z".utf8))
        let body = Array(" C \r\nD \t E\r\n\r\n\r\n".utf8)
        #expect(DKIMSigner.relaxedBody(body[...]) == Array(" C\r\nD E\r\n".utf8))
    }

    @Test func relaxedBodyEdgeCases() {
        #expect(DKIMSigner.relaxedBody([]) == [])
        #expect(DKIMSigner.relaxedBody(ArraySlice("\r\n\r\n".utf8)) == [])
        #expect(DKIMSigner.relaxedBody(ArraySlice("no newline".utf8)) == Array("no newline\r\n".utf8))
        // LF-only lines canonicalise like CRLF ones.
        #expect(DKIMSigner.relaxedBody(ArraySlice("a  b \nc\n\n".utf8)) == DKIMSigner.relaxedBody(ArraySlice("a b\r\nc\r\n".utf8)))
    }

    static let sample = """
        From: =?utf-8?q?Nh=C6=A1n?= <a@veil.test>\r
        To: b@example.com,\r
         c@example.com\r
        Subject: Folded\r
          subject\r
        Message-ID: <1@veil.test>\r
        \r
        Body line\r
        \r
        \r

        """

    /// Recomputes what a verifier does, with the public key only.
    func verify(_ message: Message, publicKey: (Data, Data) throws -> Bool) throws -> Bool {
        let field = try #require(message.fields.first { $0.name == "DKIM-Signature" })
        let value = String(decoding: field.rawValue, as: UTF8.self)
        var tags: [String: String] = [:]
        for part in value.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 { tags[pair[0]] = pair[1] }
        }
        let bodyHash = Data(SHA256.hash(data: DKIMSigner.relaxedBody(message.body))).base64EncodedString()
        guard tags["bh"] == bodyHash, let names = tags["h"], let signature = tags["b"].flatMap({ Data(base64Encoded: $0) })
        else { return false }
        var data: [UInt8] = []
        for name in names.split(separator: ":") {
            let signed = try #require(message.fields(named: String(name)).last)
            data += DKIMSigner.relaxedHeader(name: signed.name, rawValue: signed.rawValue) + [0x0D, 0x0A]
        }
        let withoutSignature = value.replacingOccurrences(of: tags["b"] ?? "", with: "")
        data += DKIMSigner.relaxedHeader(name: "DKIM-Signature", rawValue: Array(withoutSignature.utf8))
        return try publicKey(Data(data), signature)
    }

    @Test func rsaSignatureVerifiesWithThePublishedKey() throws {
        let pem = try DKIMSigner.generateRSAKeyPEM()
        let signer = try DKIMSigner(domain: "Veil.Test", selector: "veil", rsaPEM: pem)
        var message = try Message(parsing: Array(Self.sample.utf8))
        try signer.sign(&message, at: Date(timeIntervalSince1970: 1_700_000_000))
        let header = try #require(message.value("DKIM-Signature"))
        #expect(header.hasPrefix("v=1; a=rsa-sha256; c=relaxed/relaxed; d=veil.test; s=veil; t=1700000000; h=from:to:subject:message-id; bh="))
        #expect(message.fields.first?.name == "DKIM-Signature")
        let record = signer.dnsRecord
        #expect(record.hasPrefix("v=DKIM1; k=rsa; p=MIIB"))
        let der = try #require(Data(base64Encoded: String(record.dropFirst("v=DKIM1; k=rsa; p=".count))))
        let publicKey = try _RSA.Signing.PublicKey(derRepresentation: der)
        let valid = try verify(message) { data, signature in
            publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: data),
                                       padding: .insecurePKCS1v1_5)
        }
        #expect(valid)
        // Any change to a signed header or to the body breaks it.
        var tampered = message
        tampered.set("Subject", "Other")
        #expect(try !verify(tampered) { data, signature in
            publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: data),
                                       padding: .insecurePKCS1v1_5)
        })
    }

    @Test func ed25519SignsTheHash() throws {
        let key = Curve25519.Signing.PrivateKey()
        let signer = DKIMSigner(domain: "veil.test", selector: "ed", key: .ed25519(key))
        var message = try Message(parsing: Array(Self.sample.utf8))
        try signer.sign(&message)
        #expect(message.value("DKIM-Signature")?.contains("a=ed25519-sha256") == true)
        #expect(try verify(message) { data, signature in
            key.publicKey.isValidSignature(signature, for: Data(SHA256.hash(data: data)))
        })
    }

    @Test func refusesABadKeyAndAMessageWithoutFrom() throws {
        #expect(throws: DKIMSigner.Failure.invalidKey) { try DKIMSigner(domain: "d", selector: "s", rsaPEM: "garbage") }
        let signer = DKIMSigner(domain: "veil.test", selector: "ed", key: .ed25519(Curve25519.Signing.PrivateKey()))
        var message = try Message(parsing: Array("Subject: x\r\n\r\nbody\r\n".utf8))
        #expect(throws: DKIMSigner.Failure.noFromHeader) { try signer.sign(&message) }
    }
}
