import Foundation
import Testing
@testable import VeilCore

@Suite struct OneTimeCodeTests {
    @Test func activationCodesAreSixDigits() {
        for _ in 0..<50 {
            let code = CodePolicy.activation.generate()
            #expect(code.count == 6 && code.allSatisfy(\.isNumber))
        }
    }

    @Test func policiesControlLengthAndAlphabet() {
        let letters = CodePolicy(length: 8, alphabet: .letters, lifetime: 60, maxTries: 1).generate()
        #expect(letters.count == 8 && letters.allSatisfy { ("a"..."z").contains($0) })
        let link = CodePolicy.link.generate()
        #expect(link.count == 22 && Base64URL.decode(link) != nil)
    }

    @Test func wrongWrongWrongFailsTheCode() {
        var state = OneTimeCodeState(status: .pending, triesLeft: 3, expiresAt: nil)
        #expect(state.attempt(matches: false, now: Date()) == .wrong(triesLeft: 2))
        #expect(state.attempt(matches: false, now: Date()) == .wrong(triesLeft: 1))
        #expect(state.attempt(matches: false, now: Date()) == .exhausted)
        #expect(state.status == .failed)
        #expect(state.attempt(matches: true, now: Date()) == .notPending(.failed))
    }

    @Test func rightCodeVerifiesOnceAndExpiryWins() {
        var state = OneTimeCodeState(status: .pending, triesLeft: 3, expiresAt: Date(timeIntervalSince1970: 100))
        #expect(state.attempt(matches: true, now: Date(timeIntervalSince1970: 99)) == .verified)
        #expect(state.attempt(matches: true, now: Date(timeIntervalSince1970: 99)) == .notPending(.verified))
        var late = OneTimeCodeState(status: .pending, triesLeft: 3, expiresAt: Date(timeIntervalSince1970: 100))
        #expect(late.attempt(matches: true, now: Date(timeIntervalSince1970: 100)) == .expired)
        #expect(late.status == .expired)
    }

    @Test func hashesAreKeyedAndPurposeBound() {
        let hasher = CodeHasher(secret: Array("pepper".utf8))
        let stored = hasher.hash("123456", purpose: .accountActivation)
        #expect(stored != "123456" && stored.count == 64)
        #expect(hasher.matches("123456", purpose: .accountActivation, storedHash: stored))
        #expect(!hasher.matches("123457", purpose: .accountActivation, storedHash: stored))
        #expect(!hasher.matches("123456", purpose: .passwordReset, storedHash: stored))
        #expect(CodeHasher(secret: Array("other".utf8)).hash("123456", purpose: .accountActivation) != stored)
    }

    @Test func constantTimeEqualsComparesWholeValues() {
        #expect(constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abd".utf8)))
        #expect(!constantTimeEquals(Array("abc".utf8), Array("abcd".utf8)))
    }
}

@Suite struct CredentialTests {
    @Test func apiKeysAreLongRandomAndStoredAsDigests() {
        let key = ApiKeyRule.generate()
        #expect(key.count == 60 && key.allSatisfy { ("a"..."z").contains($0) })
        #expect(ApiKeyRule.generate() != key)
        let digest = ApiKeyRule.hash(key)
        #expect(digest.count == 64 && !digest.contains(key))
        #expect(ApiKeyRule.hash(key) == digest)
    }

    @Test func derivedKeysRepeatForTheSameSaltOnly() {
        let secret = Array("derivation secret".utf8)
        let first = ApiKeyRule.derive(secret: secret, salt: Data("salt-1".utf8))
        #expect(first.count == 60 && first.allSatisfy { ("a"..."z").contains($0) })
        #expect(ApiKeyRule.derive(secret: secret, salt: Data("salt-1".utf8)) == first)
        #expect(ApiKeyRule.derive(secret: secret, salt: Data("salt-2".utf8)) != first)
    }

    @Test func passwordsUseBcrypt() {
        let hash = PasswordRule.hash("correct horse", cost: 4)
        #expect(hash.hasPrefix("$2b$04$"))
        #expect(PasswordRule.verify("correct horse", hash: hash))
        #expect(!PasswordRule.verify("wrong horse", hash: hash))
        #expect(PasswordRule.verify("correct horse", hash: "$2y$" + hash.dropFirst(4)))
        #expect(!PasswordRule.verify("x", hash: "not a hash"))
    }
}

@Suite struct EncodingTests {
    @Test func base32MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "MY======", "fo": "MZXQ====", "foo": "MZXW6===", "foob": "MZXW6YQ=",
                       "fooba": "MZXW6YTB", "foobar": "MZXW6YTBOI======"]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
            #expect(Base32.decode(encoded.lowercased().replacingOccurrences(of: "=", with: "")) == Array(plain.utf8))
        }
        #expect(Base32.decode("M1") == nil)
    }

    @Test func base64URLRoundTripsWithoutPadding() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xfe, 0x00, 0x7f]
        let text = Base64URL.encode(bytes)
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(Base64URL.decode(text).map(Array.init) == bytes)
        #expect(Base64URL.decode("a+b") == nil)
    }
}
