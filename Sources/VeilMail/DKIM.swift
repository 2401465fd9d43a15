import Crypto
import Foundation
import _CryptoExtras

/// DKIM signing (RFC 6376) with `relaxed/relaxed` canonicalisation: `rsa-sha256`, or
/// `ed25519-sha256` (RFC 8463). The signature covers the exact bytes Veil hands to the relay.
public struct DKIMSigner: Sendable {
    public enum Key: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public enum Failure: Error, Equatable {
        case invalidKey
        case noFromHeader
    }

    /// Signed when present, in this order (spec/mail.md R-3.14 lists the first five).
    public static let signedHeaders = [
        "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding",
    ]

    public let domain: String
    public let selector: String
    public let key: Key

    public init(domain: String, selector: String, key: Key) {
        self.domain = domain.lowercased()
        self.selector = selector
        self.key = key
    }

    /// An RSA key from its PEM form (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`).
    public init(domain: String, selector: String, rsaPEM: String) throws(Failure) {
        guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: rsaPEM) else { throw .invalidKey }
        self.init(domain: domain, selector: selector, key: .rsa(key))
    }

    /// A fresh 2048-bit RSA key in PEM form.
    public static func generateRSAKeyPEM() throws -> String {
        try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
    }

    /// The TXT record to publish at `<selector>._domainkey.<domain>`.
    public var dnsRecord: String {
        switch key {
        case .rsa(let key): return "v=DKIM1; k=rsa; p=" + key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let key): return "v=DKIM1; k=ed25519; p=" + key.publicKey.rawRepresentation.base64EncodedString()
        }
    }

    /// Adds a `DKIM-Signature` field at the top of the message, replacing none of the others.
    public func sign(_ message: inout Message, at date: Date = Date()) throws {
        guard !message.fields(named: "From").isEmpty else { throw Failure.noFromHeader }
        var names: [String] = []
        var canonicalHeaders: [UInt8] = []
        for name in Self.signedHeaders {
            guard let field = message.fields(named: name).last else { continue }
            names.append(name)
            canonicalHeaders += Self.relaxedHeader(name: field.name, rawValue: field.rawValue) + [0x0D, 0x0A]
        }
        let bodyHash = Data(SHA256.hash(data: Self.relaxedBody(message.body))).base64EncodedString()
        let algorithm: String
        switch key {
        case .rsa: algorithm = "rsa-sha256"
        case .ed25519: algorithm = "ed25519-sha256"
        }
        let unsigned = " v=1; a=\(algorithm); c=relaxed/relaxed; d=\(domain); s=\(selector); t=\(Int64(date.timeIntervalSince1970)); "
            + "h=\(names.joined(separator: ":")); bh=\(bodyHash); b="
        // RFC 6376 §3.7: the signature field itself, b= empty, canonicalised, without its CRLF.
        let data = canonicalHeaders + Self.relaxedHeader(name: "DKIM-Signature", rawValue: Array(unsigned.utf8))
        let signature: Data
        switch key {
        case .rsa(let key):
            signature = try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation
        case .ed25519(let key):
            // RFC 8463: Ed25519 over the SHA-256 hash of the data.
            signature = try key.signature(for: Data(SHA256.hash(data: data)))
        }
        message.fields.insert(Message.Field(name: "DKIM-Signature", rawValue: Array((unsigned + signature.base64EncodedString()).utf8)),
                              at: 0)
    }

    /// RFC 6376 §3.4.2: lower-case name, unfolded value, runs of white space as one space,
    /// none around the colon or at the end.
    static func relaxedHeader(name: String, rawValue: [UInt8]) -> [UInt8] {
        var output = Array(name.lowercased().utf8)
        while let last = output.last, last == 0x20 || last == 0x09 { output.removeLast() }
        output.append(UInt8(ascii: ":"))
        var pendingSpace = false
        var started = false
        for byte in rawValue where byte != 0x0D && byte != 0x0A {
            if byte == 0x20 || byte == 0x09 {
                pendingSpace = started
                continue
            }
            if pendingSpace { output.append(0x20) }
            pendingSpace = false
            started = true
            output.append(byte)
        }
        return output
    }

    /// RFC 6376 §3.4.4: white space at line ends removed, runs of it as one space, trailing empty
    /// lines removed, CRLF after the last line. A bare LF also ends a line (the relay turns it
    /// into CRLF before the verifier sees it).
    static func relaxedBody(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var lines: [[UInt8]] = []
        var line: [UInt8] = []
        var pendingSpace = false
        func endLine() {
            lines.append(line)
            line = []
            pendingSpace = false
        }
        var index = body.startIndex
        while index < body.endIndex {
            let byte = body[index]
            if byte == 0x0A {
                endLine()
            } else if byte == 0x0D {
                let next = body.index(after: index)
                if next < body.endIndex, body[next] == 0x0A {
                    endLine()
                    index = next
                } else {
                    if pendingSpace { line.append(0x20); pendingSpace = false }
                    line.append(byte)
                }
            } else if byte == 0x20 || byte == 0x09 {
                pendingSpace = true
            } else {
                if pendingSpace { line.append(0x20); pendingSpace = false }
                line.append(byte)
            }
            index = body.index(after: index)
        }
        if !line.isEmpty { lines.append(line) }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        var output: [UInt8] = []
        for line in lines { output += line + [0x0D, 0x0A] }
        return output
    }
}
