import Testing
@testable import VeilCore

@Suite struct OTPExtractorTests {
    @Test func findsTheCode() {
        let cases: [(String, String?)] = [
            ("Your OTP is 123456. Do not share this code.", "123456"),
            ("G-482913 is your Google verification code.", "482913"),
            ("Use 7781 to sign in", "7781"),
            ("Your code: 123 456", "123456"),
            ("Call +14155550123 if this wasn't you. Your verification code is 9021", "9021"),
            ("Order 2024 shipped. Code 55123", "55123"),
            ("You paid 1234.50 EUR", nil),
            ("Hello there", nil),
            ("Ваш код: 4821", "4821"),
            ("123456789 is not a code", nil),
        ]
        for (text, expected) in cases { #expect(OTPExtractor.code(in: text) == expected, "\(text)") }
    }
}
