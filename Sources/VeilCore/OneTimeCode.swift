import Crypto
import Foundation

/// Why a one-time code exists.
public enum CodePurpose: String, Sendable, Codable, CaseIterable {
    case accountActivation = "account_activation"
    case mailboxVerification = "mailbox_verification"
    case passwordReset = "password_reset"
    case loginMFA = "login_mfa"
    case phoneVerification = "phone_verification"
}

public enum CodeChannel: String, Sendable, Codable, CaseIterable {
    case email, sms, link
}

/// The life of a code: pending until it is verified, runs out of tries (failed), passes its
/// lifetime (expired) or is replaced (canceled).
public enum CodeStatus: String, Sendable, Codable, CaseIterable {
    case pending, verified, expired, failed, canceled
}

/// How codes of one purpose look and live.
public struct CodePolicy: Sendable, Equatable {
    public enum Alphabet: Sendable, Equatable {
        case digits, letters, alphanumeric, urlSafe

        var characters: [Character] {
            switch self {
            case .digits: return SecureRandom.digits
            case .letters: return SecureRandom.lowercaseLetters
            case .alphanumeric: return SecureRandom.lowercaseAlphanumerics
            case .urlSafe: return Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            }
        }
    }

    public var length: Int
    public var alphabet: Alphabet
    /// nil: the code lives until used, exhausted or replaced.
    public var lifetime: TimeInterval?
    public var maxTries: Int

    public init(length: Int, alphabet: Alphabet, lifetime: TimeInterval?, maxTries: Int) {
        precondition(length > 0 && maxTries > 0)
        self.length = length
        self.alphabet = alphabet
        self.lifetime = lifetime
        self.maxTries = maxTries
    }

    /// Account activation: six digits, three tries, no expiry (spec/api.md §3).
    public static let activation = CodePolicy(length: 6, alphabet: .digits, lifetime: nil, maxTries: 3)
    /// Links in e-mails: 16 random bytes' worth of URL-safe characters, one day.
    public static let link = CodePolicy(length: 22, alphabet: .urlSafe, lifetime: 86_400, maxTries: 5)
    public static let passwordReset = CodePolicy(length: 22, alphabet: .urlSafe, lifetime: 3_600, maxTries: 5)

    public func generate() -> String {
        SecureRandom.string(length: length, alphabet: alphabet.characters)
    }

    /// Codes never match across alphabets by case: letters are compared lower-cased.
    public func normalize(_ input: String) -> String {
        let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
        switch alphabet {
        case .letters, .alphanumeric: return trimmed.lowercased()
        case .digits, .urlSafe: return trimmed
        }
    }
}

/// Codes are stored as an HMAC under an instance secret, so a copy of the database does not
/// reveal them, and compared in constant time.
public struct CodeHasher: Sendable {
    private let key: SymmetricKey

    public init(secret: some ContiguousBytes) {
        self.key = SymmetricKey(data: secret)
    }

    public func hash(_ code: String, purpose: CodePurpose) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((purpose.rawValue + ":" + code).utf8), using: key)
        return TextFormat.hex(Data(mac))
    }

    public func matches(_ code: String, purpose: CodePurpose, storedHash: String) -> Bool {
        constantTimeEquals(Array(hash(code, purpose: purpose).utf8), Array(storedHash.utf8))
    }
}

/// A stored code's state and the pure rule for one attempt at it.
public struct OneTimeCodeState: Sendable, Equatable {
    public var status: CodeStatus
    public var triesLeft: Int
    public var expiresAt: Date?

    public init(status: CodeStatus, triesLeft: Int, expiresAt: Date?) {
        self.status = status
        self.triesLeft = triesLeft
        self.expiresAt = expiresAt
    }

    public enum Outcome: Sendable, Equatable {
        case verified
        /// Wrong code; `triesLeft` remain.
        case wrong(triesLeft: Int)
        /// That was the last try: the code is now failed.
        case exhausted
        case expired
        /// The code was already used, failed or canceled.
        case notPending(CodeStatus)
    }

    /// Applies one attempt and returns what happened; `self` holds the new state to store.
    public mutating func attempt(matches: Bool, now: Date) -> Outcome {
        guard status == .pending else { return .notPending(status) }
        if let expiresAt, now >= expiresAt {
            status = .expired
            return .expired
        }
        if matches {
            status = .verified
            return .verified
        }
        triesLeft = max(0, triesLeft - 1)
        if triesLeft == 0 {
            status = .failed
            return .exhausted
        }
        return .wrong(triesLeft: triesLeft)
    }
}
