import Testing
@testable import VeilCore

@Suite struct SecureRandomTests {
    @Test func bytesHaveTheLengthAskedAndDiffer() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let long = SecureRandom.bytes(1_003)  // not a multiple of the 8 bytes of a draw
        #expect(long.count == 1_003)
        #expect(Set(long).count > 200)  // all 256 values are near-certain; a stuck buffer is not
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }

    /// 36 characters do not divide 256: without rejecting the bytes from 252 up, the first four
    /// characters would come 8/7 as often as the rest (≈ 1,130 against 990 in 36,000 draws).
    @Test func stringsDrawEveryCharacterEquallyOften() {
        let alphabet = SecureRandom.lowercaseAlphanumerics
        let text = SecureRandom.string(length: 36_000, alphabet: alphabet)
        #expect(text.count == 36_000)
        var counts: [Character: Int] = [:]
        for character in text { counts[character, default: 0] += 1 }
        #expect(Set(counts.keys) == Set(alphabet))
        // Each count is binomial(36,000, 1/36): mean 1,000, standard deviation ≈ 31.
        for (character, count) in counts { #expect((870...1_130).contains(count), "\(character): \(count)") }
        let firstFour = alphabet.prefix(4).reduce(0) { $0 + (counts[$1] ?? 0) }
        #expect(firstFour < 4_300)  // biased: ≈ 4,520
        #expect(SecureRandom.string(length: 0, alphabet: alphabet).isEmpty)
        #expect(SecureRandom.string(length: 12, alphabet: ["x"]) == "xxxxxxxxxxxx")
    }
}
