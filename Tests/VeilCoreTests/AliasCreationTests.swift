import Foundation
import Testing
@testable import VeilCore

@Suite struct RandomAliasTests {
    @Test func wordModeIsTwoWordsAndThreeDigits() throws {
        let pattern = try Regex("^[a-z]+_[a-z]+[0-9]{3}$")
        for _ in 0..<100 {
            let local = RandomAliasGenerator.localPart(.word)
            #expect(local.wholeMatch(of: pattern) != nil, "\(local)")
            let words = local.dropLast(3).split(separator: "_").map(String.init)
            #expect(words.allSatisfy(WordList.words.contains))
        }
    }

    @Test func uuidModeIsALowercaseUUIDv4() throws {
        let local = RandomAliasGenerator.localPart(.uuid)
        let uuid = try #require(UUID(uuidString: local))
        #expect(local == local.lowercased())
        #expect(uuid.uuidString.lowercased() == local)
        #expect(Array(local)[14] == "4")
    }

    @Test func wordListIsCompiledInAndReadable() {
        #expect(WordList.words.count >= 400)
        #expect(WordList.words.allSatisfy { $0.allSatisfy { ("a"..."z").contains($0) } })
    }

    @Test func addressAvoidsTakenOnesAndGivesUpAfterTenCollisions() {
        var seen: [String] = []
        let address = RandomAliasGenerator.address(.word, domain: "veil.test") { candidate in
            seen.append(candidate)
            return seen.count < 4
        }
        #expect(address == seen.last)
        #expect(address?.hasSuffix("@veil.test") == true)
        var attempts = 0
        let none = RandomAliasGenerator.address(.uuid, domain: "veil.test") { _ in attempts += 1; return true }
        #expect(none == nil)
        #expect(attempts == RandomAliasGenerator.maxAttempts)
    }

    @Test func suffixPartsFollowTheUserSetting() throws {
        #expect(RandomAliasGenerator.suffixPart(.word, customDomain: false).wholeMatch(of: try Regex("[a-z]+[0-9]{3}")) != nil)
        #expect(RandomAliasGenerator.suffixPart(.word, customDomain: true).wholeMatch(of: try Regex("[a-z]+")) != nil)
        #expect(RandomAliasGenerator.suffixPart(.randomString, customDomain: false).wholeMatch(of: try Regex("[a-z0-9]{5}")) != nil)
    }
}

@Suite struct SignedSuffixTests {
    let signer = SuffixSigner(secret: Array("a test secret of some length....".utf8))
    let now = Date(timeIntervalSince1970: 1_605_368_633)

    @Test func signedSuffixStartsWithTheSuffixAndVerifies() throws {
        let signed = signer.sign(".meow123@veil.example", at: now)
        #expect(signed.hasPrefix(".meow123@veil.example."))
        #expect(try signer.verify(signed, now: now.addingTimeInterval(599)) == ".meow123@veil.example")
    }

    @Test func timestampIsBigEndianSecondsInURLSafeBase64() {
        // The spec's example timestamp `X6_7OQ` is 0x5FAFFB39 = 1605368633.
        let parts = signer.sign("@my.tld", at: now).split(separator: ".")
        #expect(parts[parts.count - 2] == "X6_7OQ")
    }

    @Test func expiredAfterSixHundredSeconds() {
        let signed = signer.sign(".x@veil.example", at: now)
        #expect(throws: SuffixSigner.Failure.invalidOrExpired) {
            try signer.verify(signed, now: now.addingTimeInterval(601))
        }
    }

    @Test func tamperedSuffixOrForeignKeyIsRefused() {
        let signed = signer.sign(".meow123@veil.example", at: now)
        #expect(throws: SuffixSigner.Failure.invalidOrExpired) {
            try signer.verify(signed.replacingOccurrences(of: "meow", with: "woof"), now: now)
        }
        let other = SuffixSigner(secret: Array("another secret, another instance".utf8))
        #expect(throws: SuffixSigner.Failure.invalidOrExpired) { try other.verify(signed, now: now) }
    }

    @Test(arguments: ["", "nodots", ".a@b.c.%%%.sig", "only.two", ".x@veil.example..abc"])
    func structurallyBrokenValuesAreMalformed(_ value: String) {
        #expect(throws: SuffixSigner.Failure.malformed) { try signer.verify(value, now: now) }
    }
}

@Suite struct QuotaTests {
    func user(premium: Bool, trial: Bool = false) -> User {
        User(email: "u@example.com", name: nil, passwordHash: nil, activated: true, isPremium: premium,
             trialEnd: trial ? Date().addingTimeInterval(86_400) : nil, createdAt: Date())
    }

    @Test func freeAccountsStopAtTheLimitEvenInTrial() {
        let quota = AliasQuota(freeLimit: 5)
        #expect(quota.canCreate(user: user(premium: false), existingAliases: 4))
        #expect(!quota.canCreate(user: user(premium: false), existingAliases: 5))
        #expect(!quota.canCreate(user: user(premium: false, trial: true), existingAliases: 5))
        #expect(quota.canCreate(user: user(premium: true), existingAliases: 5000))
    }

    @Test func oldFreeAccountsAndDisabledAccounts() {
        var old = user(premium: false)
        old.oldFreeLimit = true
        #expect(AliasQuota().canCreate(user: old, existingAliases: 14))
        #expect(!AliasQuota().canCreate(user: old, existingAliases: 15))
        var disabled = user(premium: true)
        disabled.disabled = true
        #expect(!AliasQuota().canCreate(user: disabled, existingAliases: 0))
    }
}
