import Crypto
import Foundation

/// The signed suffix offered to clients for custom aliases (spec/api.md §4.2):
/// `<suffix>.<timestamp>.<signature>`, timestamp = big-endian Unix seconds in URL-safe base64,
/// signature = URL-safe base64 HMAC-SHA256 over `<suffix>.<timestamp>`. Valid for 600 seconds.
public struct SuffixSigner: Sendable {
    public static let lifetime: TimeInterval = 600

    public enum Failure: Error, Equatable, Sendable {
        /// Not in the three-part layout, or undecodable parts.
        case malformed
        /// Wrong signature (tampered) or too old. Clients see the same answer for both.
        case invalidOrExpired
    }

    private let key: SymmetricKey

    public init(secret: some ContiguousBytes) {
        self.key = SymmetricKey(data: secret)
    }

    public func sign(_ suffix: String, at date: Date) -> String {
        let timestamp = Base64URL.encode(Self.bigEndianBytes(Int64(date.timeIntervalSince1970)))
        let payload = suffix + "." + timestamp
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)
        return payload + "." + Base64URL.encode(Data(mac))
    }

    /// The suffix, when the signature is ours and younger than `lifetime`. Splits from the right,
    /// since the suffix itself contains dots.
    public func verify(_ signed: String, now: Date, lifetime: TimeInterval = Self.lifetime) throws(Failure) -> String {
        guard let lastDot = signed.lastIndex(of: ".") else { throw .malformed }
        let payload = signed[..<lastDot]
        guard let timeDot = payload.lastIndex(of: ".") else { throw .malformed }
        let suffix = String(payload[..<timeDot])
        guard !suffix.isEmpty,
              let signature = Base64URL.decode(signed[signed.index(after: lastDot)...]),
              let timeBytes = Base64URL.decode(payload[payload.index(after: timeDot)...]),
              (1...8).contains(timeBytes.count)
        else { throw .malformed }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(payload.utf8), using: key)
        else { throw .invalidOrExpired }
        let signedAt = timeBytes.reduce(Int64(0)) { ($0 << 8) | Int64($1) }
        let age = now.timeIntervalSince1970 - TimeInterval(signedAt)
        guard age <= lifetime, age >= -60 else { throw .invalidOrExpired }
        return suffix
    }

    static func bigEndianBytes(_ value: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = UInt64(bitPattern: value)
        repeat {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        } while rest > 0
        return bytes
    }
}
