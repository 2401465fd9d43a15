import Crypto
import Foundation
import _CryptoExtras

/// The DNS records a custom domain publishes so Veil can receive and sign its mail, and the
/// rules that decide whether what is published matches. Pure: the lookups live in `VeilDNS`.
public struct DomainRecords: Sendable, Equatable {
    public enum Check: String, Sendable, CaseIterable {
        case ownership, mx, spf, dkim, dmarc
    }

    public struct Record: Sendable, Equatable {
        public var check: Check
        /// `MX` or `TXT`.
        public var type: String
        /// Fully qualified, with the trailing dot, as in a zone file.
        public var name: String
        public var value: String
        /// For MX records.
        public var priority: Int?

        /// The record in zone-file form; long TXT values are split into 255-octet strings.
        public var zoneLine: String {
            if type == "MX" { return "\(name) IN MX \(priority ?? 10) \(value)." }
            return "\(name) IN TXT \(Self.characterStrings(value))"
        }

        public static func characterStrings(_ text: String) -> String {
            var chunks: [String] = []
            var rest = Substring(text)
            while !rest.isEmpty {
                chunks.append("\"" + rest.prefix(255) + "\"")
                rest = rest.dropFirst(255)
            }
            return chunks.joined(separator: " ")
        }
    }

    public let domain: String
    public let records: [Record]
    /// What the checks compare against.
    let ownershipValue: String
    let mxHosts: [String]
    let spfInclude: String
    let dkimPublicKey: String?

    /// - Parameters:
    ///   - mxHosts: the hosts that receive mail for Veil, most preferred first.
    ///   - spfInclude: the domain whose SPF record lists Veil's outbound addresses.
    ///   - dkimRecord: the TXT value of the domain's own DKIM key (`v=DKIM1; k=rsa; p=...`).
    public init(domain: String, ownershipToken: String, mxHosts: [String], spfInclude: String,
                dkimSelector: String, dkimRecord: String?) {
        let domain = domain.lowercased()
        self.domain = domain
        ownershipValue = "veil-verification=\(ownershipToken)"
        self.mxHosts = mxHosts.map { $0.lowercased().trimmingCharacters(in: ["."]) }
        self.spfInclude = spfInclude.lowercased()
        dkimPublicKey = dkimRecord.flatMap { Self.tag("p", in: $0) }
        var records = [Record(check: .ownership, type: "TXT", name: domain + ".", value: ownershipValue)]
        for (index, host) in self.mxHosts.enumerated() {
            records.append(Record(check: .mx, type: "MX", name: domain + ".", value: host, priority: 10 * (index + 1)))
        }
        records.append(Record(check: .spf, type: "TXT", name: domain + ".", value: "v=spf1 include:\(self.spfInclude) ~all"))
        if let dkimRecord {
            records.append(Record(check: .dkim, type: "TXT", name: "\(dkimSelector)._domainkey.\(domain).", value: dkimRecord))
        }
        records.append(Record(check: .dmarc, type: "TXT", name: "_dmarc.\(domain).",
                              value: "v=DMARC1; p=quarantine; pct=100; adkim=s; aspf=s"))
        self.records = records
    }

    /// The root TXT records carry the ownership token.
    public func ownershipPasses(rootTXT: [String]) -> Bool {
        rootTXT.contains { $0.trimmingCharacters(in: .whitespaces) == ownershipValue }
    }

    /// Every published MX host is one of Veil's, and there is at least one (a stray MX would
    /// take part of the mail elsewhere).
    public func mxPasses(_ published: [(priority: Int, host: String)]) -> Bool {
        let hosts = published.map { $0.host.lowercased().trimmingCharacters(in: ["."]) }
        return !hosts.isEmpty && hosts.allSatisfy(mxHosts.contains)
    }

    /// Exactly one SPF record (RFC 7208 §4.5: more is a permanent error) that includes Veil.
    public func spfPasses(rootTXT: [String]) -> Bool {
        let spf = rootTXT.filter { $0.lowercased().hasPrefix("v=spf1") }
        guard spf.count == 1 else { return false }
        return spf[0].lowercased().split(separator: " ").contains { $0 == "include:\(spfInclude)" || $0 == "+include:\(spfInclude)" }
    }

    /// A DKIM record whose public key is the domain's own.
    public func dkimPasses(_ published: [String]) -> Bool {
        guard let dkimPublicKey else { return false }
        return published.contains { Self.tag("p", in: $0)?.replacingOccurrences(of: " ", with: "") == dkimPublicKey }
    }

    /// A DMARC record asking receivers to quarantine or reject mail that fails.
    public func dmarcPasses(_ published: [String]) -> Bool {
        let dmarc = published.filter { $0.hasPrefix("v=DMARC1") }
        guard dmarc.count == 1, let policy = Self.tag("p", in: dmarc[0])?.lowercased() else { return false }
        return policy == "quarantine" || policy == "reject"
    }

    /// The value of `name=` in a `tag=value; tag=value` list.
    static func tag(_ name: String, in record: String) -> String? {
        for part in record.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            return pair[1].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}

/// DKIM key material for domains: generated by Veil, stored as PEM, published as a TXT value.
public enum DKIMKeyMaterial {
    /// A fresh 2048-bit RSA key in PEM form.
    public static func generateRSAPEM() throws -> String {
        try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation
    }

    /// `v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>` for an RSA key in PEM form; nil when the
    /// PEM is not an RSA key.
    public static func rsaRecord(pem: String) -> String? {
        guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) else { return nil }
        return "v=DKIM1; k=rsa; p=" + key.publicKey.derRepresentation.base64EncodedString()
    }

    /// A random ownership token: 32 lowercase letters and digits.
    public static func ownershipToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}
