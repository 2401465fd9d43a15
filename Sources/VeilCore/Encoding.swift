import Foundation

/// URL-safe base64 without padding (RFC 4648 §5).
public enum Base64URL {
    public static func encode<D: DataProtocol>(_ bytes: D) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return nil
        }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: base64)
    }
}

/// RFC 4648 base32, the alphabet authenticator apps and VERP addresses use.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>, padding: Bool = true) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        var count = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            count += 1
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        if padding { while output.count % 8 != 0 { output.append(UInt8(ascii: "=")) } }
        return String(decoding: output, as: UTF8.self)
    }

    /// Accepts upper or lower case, with or without `=` padding, ignoring spaces.
    public static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for scalar in text.unicodeScalars where scalar != " " {
            if scalar == "=" { continue }
            let upper = scalar.value >= 97 && scalar.value <= 122 ? scalar.value - 32 : scalar.value
            guard let index = alphabet.firstIndex(of: UInt8(truncatingIfNeeded: upper)), upper < 128 else { return nil }
            buffer = (buffer << 5) | UInt32(index)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return output
    }
}

/// Randomness from the kernel (`SystemRandomNumberGenerator`: `getrandom`), for keys, codes and
/// addresses.
public enum SecureRandom {
    /// `count` random bytes, eight from each draw of the system generator (each draw is a
    /// `getrandom` call; drawing a whole `UInt64` per byte made eight times as many).
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// `length` characters drawn uniformly from `alphabet` (at most 256 of them): random bytes,
    /// rejecting those at or past the largest multiple of the alphabet's size so that no
    /// character is likelier than another.
    public static func string(length: Int, alphabet: [Character]) -> String {
        precondition(!alphabet.isEmpty && alphabet.count <= 256)
        let accepted = 256 - 256 % alphabet.count
        var result = ""
        result.reserveCapacity(length)
        var pool: [UInt8] = []
        var remaining = length
        while remaining > 0 {
            if pool.isEmpty { pool = bytes(max(remaining + remaining / 2, 16)) }
            let byte = Int(pool.removeLast())
            guard byte < accepted else { continue }
            result.append(alphabet[byte % alphabet.count])
            remaining -= 1
        }
        return result
    }

    public static func int(in range: ClosedRange<Int>) -> Int {
        var generator = SystemRandomNumberGenerator()
        return Int.random(in: range, using: &generator)
    }

    public static let lowercaseLetters = Array("abcdefghijklmnopqrstuvwxyz")
    public static let digits = Array("0123456789")
    public static let lowercaseAlphanumerics = lowercaseLetters + digits
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
    return difference == 0
}
