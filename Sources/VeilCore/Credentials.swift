import Crypto
import Foundation
import HummingbirdBcrypt

/// API keys: long random strings shown once; only their SHA-256 is stored, and lookups go by
/// that digest (an index lookup on a hash leaks nothing useful about the key through timing).
public enum ApiKeyRule {
    public static let length = 60

    public static func generate() -> String {
        SecureRandom.string(length: length, alphabet: SecureRandom.lowercaseLetters)
    }

    public static func hash(_ key: String) -> String {
        TextFormat.hex(SHA256.hash(data: Data(key.utf8)))
    }

    /// A key that can be derived again from the same salt: logins on the same device get the
    /// same key back, as SimpleLogin clients expect, while the database holds only its hash.
    public static func derive(secret: some ContiguousBytes, salt: some DataProtocol) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(salt), using: SymmetricKey(data: secret))
        let letters = SecureRandom.lowercaseLetters
        // 32 MAC bytes → 60 letters: take 5 bits at a time, cycling through the bytes.
        var bits: UInt64 = 0
        var available = 0
        var bytes = Array(mac).makeIterator()
        var result = ""
        while result.count < length {
            if available < 5 {
                let byte = bytes.next() ?? 0
                bits = (bits << 8) | UInt64(byte)
                available += 8
            }
            let index = Int((bits >> UInt64(available - 5)) & 31) % letters.count
            available -= 5
            result.append(letters[index])
        }
        return result
    }
}

/// Passwords are stored as bcrypt hashes. Hashing blocks a core for a while at cost 12:
/// callers run it off the event loops.
public enum PasswordRule {
    public static let minLength = 8
    public static let maxLength = 100
    public static let defaultCost: UInt8 = 12

    public static func hash(_ password: String, cost: UInt8 = defaultCost) -> String {
        Bcrypt.hash(password, cost: cost)
    }

    /// `$2y$` hashes (PHP, older exports) are the same algorithm as `$2b$`.
    public static func verify(_ password: String, hash: String) -> Bool {
        let normalized = hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
        guard normalized.hasPrefix("$2") else { return false }
        return Bcrypt.verify(password, hash: normalized)
    }

    /// A hash that never matches, to spend the same time on unknown users as on known ones.
    public static let decoyHash = Bcrypt.hash(UUID().uuidString, cost: defaultCost)
}

/// How many aliases a free account may have (spec/api.md §4.5).
public struct AliasQuota: Sendable, Equatable {
    public var freeLimit: Int
    public var oldFreeLimit: Int

    public init(freeLimit: Int = 5, oldFreeLimit: Int = 15) {
        self.freeLimit = freeLimit
        self.oldFreeLimit = oldFreeLimit
    }

    public func limit(for user: User) -> Int? {
        if user.isPremium { return nil }
        return user.oldFreeLimit ? oldFreeLimit : freeLimit
    }

    /// A trial does not lift the quota; only a paid plan does.
    public func canCreate(user: User, existingAliases: Int) -> Bool {
        guard user.activated, !user.disabled, user.deleteOn == nil else { return false }
        guard let limit = limit(for: user) else { return true }
        return existingAliases + 1 <= limit
    }
}

/// MFA recovery codes: ten random characters shown as `xxxxx-xxxxx`, each usable once; only the
/// SHA-256 of the normalised code is stored.
public enum RecoveryCode {
    static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")

    public static func generate() -> String {
        let raw = SecureRandom.string(length: 10, alphabet: alphabet)
        return String(raw.prefix(5)) + "-" + String(raw.suffix(5))
    }

    /// Lower case, without spaces and dashes; nil unless ten characters of the alphabet remain.
    public static func normalize(_ code: String) -> String? {
        let kept = code.lowercased().filter { $0 != "-" && $0 != " " }
        guard kept.count == 10, kept.allSatisfy({ alphabet.contains($0) }) else { return nil }
        return String(kept.prefix(5)) + "-" + String(kept.suffix(5))
    }

    public static func hash(_ code: String) -> String {
        TextFormat.hex(SHA256.hash(data: Data(code.utf8)))
    }
}
