import Foundation

/// The readable words random aliases and suffixes are made of, compiled into the binary.
public enum WordList {
    public static let words: [String] = String(decoding: PackageResources.words_txt, as: UTF8.self)
        .split(whereSeparator: \.isNewline)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }

    public static func randomWord() -> String {
        words[SecureRandom.int(in: 0...(words.count - 1))]
    }
}

/// Local parts for random aliases and the random part of custom-alias suffixes (spec/api.md §4.1, §4.6).
public enum RandomAliasGenerator {
    public static let maxAttempts = 10

    /// `word`: two words joined by `_` and three digits (`meow_chat123`); `uuid`: a lower-case UUID v4.
    public static func localPart(_ scheme: AliasGenerator) -> String {
        switch scheme {
        case .word:
            return WordList.randomWord() + "_" + WordList.randomWord() + threeDigits()
        case .uuid:
            return UUID().uuidString.lowercased()
        }
    }

    /// A full address on `domain` that `isTaken` does not know yet; nil after `maxAttempts` collisions.
    public static func address(_ scheme: AliasGenerator, domain: String,
                               isTaken: (String) throws -> Bool) rethrows -> String? {
        for _ in 0..<maxAttempts {
            let candidate = localPart(scheme) + "@" + domain
            if try !isTaken(candidate) { return candidate }
        }
        return nil
    }

    /// The random part of a suffix: one word and three digits on built-in domains (`meow123`),
    /// one word on custom domains; `random_string` → five characters of `a-z0-9`.
    public static func suffixPart(_ mode: RandomAliasSuffix, customDomain: Bool) -> String {
        switch mode {
        case .word:
            return customDomain ? WordList.randomWord() : WordList.randomWord() + threeDigits()
        case .randomString:
            return SecureRandom.string(length: 5, alphabet: SecureRandom.lowercaseAlphanumerics)
        }
    }

    static func threeDigits() -> String {
        SecureRandom.string(length: 3, alphabet: SecureRandom.digits)
    }
}
