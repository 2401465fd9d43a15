import Testing
@testable import VeilMail

@Suite struct AuthenticationResultsTests {
    @Test func readsOpenDMARCAndSPFStyleResults() throws {
        let results = try #require(AuthenticationResults.parse(
            "mx.veil.test; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=shop.example; dkim=fail (bad sig; x=y) header.d=shop.example; "
                + "dkim=pass header.d=esp.example; dmarc=fail (p=reject dis=none) header.from=shop.example"))
        #expect(results.authservID == "mx.veil.test")
        #expect(results.spf == "pass")
        #expect(results.dkim == "pass")
        #expect(results.dmarc == "fail" && results.dmarcPolicy == "reject")
        #expect(results.dmarcRejectsOrQuarantines)
        #expect(!results.unauthenticated)
    }

    @Test func unauthenticatedAndVersionedIDs() throws {
        let results = try #require(AuthenticationResults.parse("mx.veil.test 1; spf=softfail smtp.mailfrom=x; dkim=none"))
        #expect(results.authservID == "mx.veil.test")
        #expect(results.unauthenticated)
        #expect(results.dmarc == nil && !results.dmarcRejectsOrQuarantines)
        #expect(AuthenticationResults.parse("") == nil)
        #expect(AuthenticationResults.parse("mx.veil.test; none")?.spf == nil)
    }

    @Test func onlyTheTrustedServiceCounts() throws {
        let message = try Message(parsing: Array("""
            Authentication-Results: mx.veil.test; spf=fail smtp.mailfrom=a; dmarc=fail (p=quarantine) header.from=a\r
            Authentication-Results: forged.example; spf=pass; dkim=pass; dmarc=pass\r
            From: a@a.example\r
            \r
            x\r

            """.utf8))
        #expect(AuthenticationResults.trusted(in: message, trustedID: nil)?.authservID == "mx.veil.test")
        #expect(AuthenticationResults.trusted(in: message, trustedID: "MX.veil.test")?.dmarcRejectsOrQuarantines == true)
        #expect(AuthenticationResults.trusted(in: message, trustedID: "other.example") == nil)
    }
}
