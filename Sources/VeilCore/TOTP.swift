import Crypto
import Foundation

/// RFC 6238 time-based one-time passwords (SHA-1, 30 s steps, 6 digits), keyed with the raw bytes
/// of the base32 secret that authenticator apps show.
public struct TOTP: Sendable {
    public let key: [UInt8]
    public let digits: Int
    public let step: TimeInterval

    public init?(base32Secret: String, digits: Int = 6, step: TimeInterval = 30) {
        guard let key = Base32.decode(base32Secret), !key.isEmpty else { return nil }
        self.init(key: key, digits: digits, step: step)
    }

    public init(key: [UInt8], digits: Int = 6, step: TimeInterval = 30) {
        self.key = key
        self.digits = digits
        self.step = step
    }

    public func counter(at date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / step).rounded(.down)) }

    /// The HOTP value (RFC 4226) for a counter.
    public func code(counter: Int64) -> String {
        var bigEndian = UInt64(bitPattern: counter).bigEndian
        let message = withUnsafeBytes(of: &bigEndian) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    public func code(at date: Date) -> String { code(counter: counter(at: date)) }

    /// The counter the token matches within ±`window` steps, compared in constant time; nil if none.
    public func matchingCounter(_ token: String, at date: Date, window: Int64 = 2) -> Int64? {
        let now = counter(at: date)
        var found: Int64?
        for candidate in (now - window)...(now + window) {
            if constantTimeEquals(Array(code(counter: candidate).utf8), Array(token.utf8)) { found = candidate }
        }
        return found
    }

    public static func generateSecret() -> String {
        Base32.encode(SecureRandom.bytes(20), padding: false)
    }
}
