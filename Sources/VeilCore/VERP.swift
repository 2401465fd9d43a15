import Crypto
import Foundation

/// Signed envelope senders that tie a bounce back to the email log it belongs to
/// (spec/mail.md R-1.8 with Appendix A): `<prefix>.<payload>.<signature>@<domain>`, where the
/// payload is the base32 of the JSON `[type, id, minutes]` and the signature the first 8 bytes of
/// an HMAC-SHA256 over that JSON, both base32 without padding, lower case.
public struct VERPSigner: Sendable {
    public enum Kind: Int, Sendable, Equatable {
        case bounceForward = 0
        case bounceReply = 1
        case transactional = 2
    }

    public struct Address: Sendable, Equatable {
        public var kind: Kind
        /// The email log id (or transactional email id).
        public var objectId: Int64
    }

    public enum Failure: Error, Equatable, Sendable {
        /// Not shaped like a VERP address, or the signature does not match.
        case notVERP
        /// Ours, but older than the lifetime (or from the future).
        case expired
    }

    /// Minutes are counted from 2022-01-01T00:00:00Z, as SimpleLogin does.
    static let epoch: TimeInterval = 1_640_995_200
    /// Appendix A: VERP addresses expire after 7 days by default.
    public static let defaultLifetime: TimeInterval = 7 * 24 * 3600

    public let prefix: String
    public let lifetime: TimeInterval
    private let key: SymmetricKey

    public init(secret: some ContiguousBytes, prefix: String = "sl", lifetime: TimeInterval = Self.defaultLifetime) {
        self.key = SymmetricKey(data: secret)
        self.prefix = prefix.lowercased()
        self.lifetime = lifetime
    }

    public func address(_ kind: Kind, objectId: Int64, domain: String, now: Date = Date()) -> String {
        let minutes = Int64(((now.timeIntervalSince1970 - Self.epoch) / 60).rounded(.down))
        // Python's json.dumps separators: "[0, 1234, 1577000]".
        let json = Array("[\(kind.rawValue), \(objectId), \(minutes)]".utf8)
        let payload = Base32.encode(json, padding: false).lowercased()
        let signature = Base32.encode(signature(json), padding: false).lowercased()
        return "\(prefix).\(payload).\(signature)@\(domain.lowercased())"
    }

    /// Decodes and checks an address; the domain is not checked here.
    public func verify(_ address: String, now: Date = Date()) throws(Failure) -> Address {
        guard let at = address.lastIndex(of: "@") else { throw .notVERP }
        let fields = address[..<at].lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0] == prefix,
              let json = Base32.decode(String(fields[1])), let signature = Base32.decode(String(fields[2])),
              signature.count == 8, constantTimeEquals(signature, self.signature(json))
        else { throw .notVERP }
        guard let values = Self.parseTriple(json), let kind = Kind(rawValue: Int(values.0)) else { throw .notVERP }
        let nowMinutes = (now.timeIntervalSince1970 - Self.epoch) / 60
        let age = nowMinutes - Double(values.2)
        guard age >= -5, age <= lifetime / 60 else { throw .expired }
        return Address(kind: kind, objectId: values.1)
    }

    /// Cheap test used before any lookup: `<prefix>.` local part.
    public func looksLikeVERP(_ address: String) -> Bool {
        address.lowercased().hasPrefix(prefix + ".")
    }

    private func signature(_ json: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: json, using: key).prefix(8))
    }

    /// `[a, b, c]` of integers, as written by `address`.
    static func parseTriple(_ json: [UInt8]) -> (Int64, Int64, Int64)? {
        let text = String(decoding: json, as: UTF8.self)
        guard text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        let numbers = text.dropFirst().dropLast().split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
        guard numbers.count == 3, let a = numbers[0], let b = numbers[1], let c = numbers[2] else { return nil }
        return (a, b, c)
    }
}
