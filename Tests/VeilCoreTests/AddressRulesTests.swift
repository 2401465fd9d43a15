import Foundation
import Testing
@testable import VeilCore

@Suite struct EmailAddressTests {
    @Test func sanitizeTrimsLowercasesAndDropsRightToLeftMark() {
        #expect(EmailAddress.sanitize("  Jo hn@Example.COM\u{200F} ") == "john@example.com")
    }

    @Test func canonicalFormDropsDotsAndTagsOnlyForKnownProviders() {
        #expect(EmailAddress.canonical("First.Last+news@GMail.com") == "firstlast@gmail.com")
        #expect(EmailAddress.canonical("a.b+c@proton.me") == "ab@proton.me")
        #expect(EmailAddress.canonical("first.last+news@example.com") == "first.last+news@example.com")
    }

    @Test(arguments: ["a@b.co", "first.last@example.com", "x+tag@sub.example.org", "o'brien@example.ie"])
    func acceptsOrdinaryAddresses(_ email: String) {
        #expect(EmailAddress.isValid(email))
    }

    @Test(arguments: ["", "gmail.com", "@gmail.com", "a@", "a@b", "a..b@example.com", ".a@example.com",
                      "a b@example.com", "a@-example.com", "a@example..com", "a@1.2.3.4", "ü@example.com",
                      String(repeating: "a", count: 65) + "@example.com"])
    func refusesMalformedAddresses(_ email: String) {
        #expect(!EmailAddress.isValid(email))
    }
}

@Suite struct AliasPrefixTests {
    @Test func normalisationFollowsTheSpecExample() {
        #expect(AliasPrefix.normalize("Prefix Ünï!") == "prefixuni_")
        #expect(AliasPrefix.normalize("  My.Shop-1 ") == "my.shop-1")
        #expect(AliasPrefix.normalize(String(repeating: "a", count: 100)).count == 64)
    }

    @Test func validityIsOneToFortyAllowedCharacters() {
        #expect(AliasPrefix.isValid("prefix"))
        #expect(AliasPrefix.isValid("a.b_c-9"))
        #expect(AliasPrefix.isValid(String(repeating: "a", count: 40)))
        #expect(!AliasPrefix.isValid(String(repeating: "a", count: 41)))
        #expect(!AliasPrefix.isValid(""))
        #expect(!AliasPrefix.isValid("Upper"))
        #expect(!AliasPrefix.isValid("with space"))
        #expect(!AliasPrefix.isValid("a+b"))
    }

    @Test func suggestionIsTheRegistrableLabel() {
        #expect(AliasPrefix.suggestion(forHostname: "www.test.com") == "test")
        #expect(AliasPrefix.suggestion(forHostname: "wwww.numberoneshoes.co.nz") == "numberoneshoes")
        #expect(AliasPrefix.suggestion(forHostname: "shop.example.co.uk") == "example")
        #expect(AliasPrefix.suggestion(forHostname: "groupon.com") == "groupon")
        #expect(AliasPrefix.suggestion(forHostname: "me.github.io") == "me")
        #expect(AliasPrefix.suggestion(forHostname: "localhost") == "localhost")
        #expect(AliasPrefix.suggestion(forHostname: "") == "")
    }
}

@Suite struct ReverseAliasTests {
    @Test func defaultFormIsTwentyToFiftyLowercaseLetters() throws {
        for _ in 0..<200 {
            let address = ReverseAlias.generate(senderAddress: "john@example.com", includeSender: false, domain: "veil.test")
            let (local, domain) = try #require(EmailAddress.split(address))
            #expect(domain == "veil.test")
            #expect((20...50).contains(local.count))
            #expect(local.allSatisfy { ("a"..."z").contains($0) })
        }
    }

    @Test func senderSlugMatchesTheSpecExamples() {
        #expect(ReverseAlias.senderSlug("test@example.org") == "test_at_example_org")
        #expect(ReverseAlias.senderSlug("TEST@example.org") == "test_at_example_org")
        #expect(ReverseAlias.senderSlug("test.dot@example.org") == "test_dot_at_example_org")
        // Veil transliterates CJK with ICU (汉字 → "han zi"); emoji are dropped.
        #expect(ReverseAlias.senderSlug("👌汉字@example.org") == "hanzi_at_example_org")
        #expect(ReverseAlias.senderSlug(String(repeating: "x", count: 80) + "@example.org").count == 45)
    }

    @Test func includeSenderFormHasSlugAndFiveToTenLetters() throws {
        for _ in 0..<100 {
            let address = ReverseAlias.generate(
                senderAddress: String(repeating: "long", count: 30) + "@example.org", includeSender: true, domain: "veil.test")
            let (local, _) = try #require(EmailAddress.split(address))
            #expect(local.utf8.count <= 64)
            let random = try #require(local.split(separator: "_").last)
            #expect((5...10).contains(random.count))
            #expect(local.hasPrefix(String(repeating: "long", count: 11)))
            #expect(EmailAddress.isValid(address))
        }
    }

    @Test func uniqueRetriesUntilFreeAndGivesUp() {
        var calls = 0
        let found = ReverseAlias.unique(senderAddress: "a@b.c", includeSender: false, domain: "veil.test") { _ in
            calls += 1
            return calls < 3
        }
        #expect(found != nil)
        #expect(calls == 3)
        let none = ReverseAlias.unique(senderAddress: "a@b.c", includeSender: false, domain: "veil.test") { _ in true }
        #expect(none == nil)
    }

    @Test func apiDisplayFormFollowsSenderFormat() {
        let display = { (format: SenderFormat, name: String?) in
            ReverseAlias.display(contactName: name, contactEmail: "first@example.com",
                                 reverseAlias: "qjcv@veil.example", format: format)
        }
        #expect(display(.at, "First Last") == "\"First Last | first at example.com\" <qjcv@veil.example>")
        #expect(display(.at, nil) == "\"first at example.com\" <qjcv@veil.example>")
        #expect(display(.at, "") == "\"first at example.com\" <qjcv@veil.example>")
        #expect(display(.at, "\"\"") == "\"first at example.com\" <qjcv@veil.example>")
        #expect(display(.atOnly, "Zoë") == "\"Zoë | first@example.com\" <qjcv@veil.example>")
        #expect(display(.a, nil) == "\"first(a)example.com\" <qjcv@veil.example>")
        #expect(display(.noName, "Say \"hi\"") == "\"Say hi | first@example.com\" <qjcv@veil.example>")
    }
}

@Suite struct SenderFormatTests {
    let reverse = "rev@veil.test"

    @Test func theFiveFormatsRenderExactly() {
        let from = { (format: SenderFormat) in
            format.fromHeader(contactName: "First Last", contactEmail: "john@example.com", reverseAlias: reverse)
        }
        #expect(from(.at) == "\"First Last - john at example.com\" <rev@veil.test>")
        #expect(from(.a) == "\"First Last - john(a)example.com\" <rev@veil.test>")
        #expect(from(.nameOnly) == "First Last <rev@veil.test>")
        #expect(from(.atOnly) == "\"john at example.com\" <rev@veil.test>")
        #expect(from(.noName) == "rev@veil.test")
    }

    @Test func missingNameOrNameEqualToAddressShowsOnlyTheAddress() {
        #expect(SenderFormat.at.fromHeader(contactName: nil, contactEmail: "p@example.com", reverseAlias: reverse)
            == "\"p at example.com\" <rev@veil.test>")
        #expect(SenderFormat.at.fromHeader(contactName: "p@example.com", contactEmail: "p@example.com", reverseAlias: reverse)
            == "\"p at example.com\" <rev@veil.test>")
        #expect(SenderFormat.nameOnly.fromHeader(contactName: nil, contactEmail: "p@example.com", reverseAlias: reverse)
            == "rev@veil.test")
    }

    @Test func unicodeNamesBecomeUTF8QEncodedWords() {
        #expect(SenderFormat.at.fromHeader(contactName: "Nhơn Nguyễn", contactEmail: "abc@example.com", reverseAlias: reverse)
            == "=?utf-8?q?Nh=C6=A1n_Nguy=E1=BB=85n_-_abc_at_example=2Ecom?= <rev@veil.test>")
    }

    @Test func quotesAndBackslashesAreEscaped() {
        #expect(MailboxFormatting.format(displayName: "a \"b\" c", address: "x@y.z") == "\"a \\\"b\\\" c\" <x@y.z>")
    }

    @Test func longEncodedNamesSplitIntoWordsOfAtMost75Characters() {
        let encoded = EncodedWord.qEncode(String(repeating: "é", count: 60))
        let words = encoded.split(separator: " ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.count <= 75 && $0.hasPrefix("=?utf-8?q?") && $0.hasSuffix("?=") })
        #expect(words.map { $0.dropFirst(10).dropLast(2) }.joined() == String(repeating: "=C3=A9", count: 60))
    }
}
