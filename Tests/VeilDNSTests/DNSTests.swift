import Foundation
import Testing
import VeilCore
import VeilTestSupport
@testable import VeilDNS

@Suite struct ResolverTests {
    @Test func mxTxtAndCnameThroughGlibcAgainstALoopbackServer() async throws {
        let server = try await DNSTestServer()
        let long = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        server.set("example.org", [.mx(priority: 10, host: "mx.veil.test"), .mx(priority: 20, host: "mx2.veil.test"),
                                   .txt("v=spf1 include:veil.test ~all"), .txt("hello")])
        server.set("veil._domainkey.example.org", [.txt(long)])
        server.set("alias.example.org", [.cname("target.veil.test")])
        let resolver = try SystemResolver(address: server.address)
        let mx = try await resolver.mx("example.org")
        #expect(mx.map(\.priority) == [10, 20] && mx.map(\.host) == ["mx.veil.test", "mx2.veil.test"])
        #expect(try await resolver.txt("example.org") == ["v=spf1 include:veil.test ~all", "hello"])
        // 410 characters arrive as two character-strings and are read as one value.
        #expect(try await resolver.txt("veil._domainkey.example.org") == [long])
        #expect(try await resolver.cname("alias.example.org") == ["target.veil.test"])
        #expect(try await resolver.txt("missing.example.org") == [])
        #expect(try await resolver.mx("veil._domainkey.example.org").isEmpty)
        server.fail("broken.example.org")
        await #expect(throws: DNSError.failure("broken.example.org")) { try await resolver.txt("broken.example.org") }
        await server.shutdown()
    }

    @Test func resolverAddressIsChecked() {
        #expect(throws: DNSError.self) { try SystemResolver(address: "localhost:53") }
        #expect(throws: DNSError.self) { try SystemResolver(address: "127.0.0.1:99999") }
        #expect((try? SystemResolver(address: "127.0.0.1:5353"))?.port == 5353)
        #expect((try? SystemResolver(address: nil))?.server == nil)
    }
}

@Suite struct DomainVerificationTests {
    static func expected(dkim: String = "v=DKIM1; k=rsa; p=KEY") -> DomainRecords {
        DomainRecords(domain: "Example.org", ownershipToken: "tok", mxHosts: ["mx.veil.test"], spfInclude: "veil.test",
                      dkimSelector: "veil", dkimRecord: dkim)
    }

    @Test func recordsToPublishInZoneForm() {
        let lines = Self.expected().records.map(\.zoneLine)
        #expect(lines == [
            #"example.org. IN TXT "veil-verification=tok""#,
            "example.org. IN MX 10 mx.veil.test.",
            #"example.org. IN TXT "v=spf1 include:veil.test ~all""#,
            #"veil._domainkey.example.org. IN TXT "v=DKIM1; k=rsa; p=KEY""#,
            #"_dmarc.example.org. IN TXT "v=DMARC1; p=quarantine; pct=100; adkim=s; aspf=s""#,
        ])
    }

    @Test func rules() {
        let expected = Self.expected()
        #expect(expected.mxPasses([(10, "mx.veil.test.")]))
        #expect(!expected.mxPasses([(10, "mx.veil.test"), (20, "mail.other.example")]))
        #expect(!expected.mxPasses([]))
        #expect(expected.spfPasses(rootTXT: ["v=spf1 mx include:veil.test -all", "other"]))
        #expect(!expected.spfPasses(rootTXT: ["v=spf1 include:veil.test ~all", "v=spf1 -all"]))
        #expect(!expected.spfPasses(rootTXT: ["v=spf1 include:veil.test.evil ~all"]))
        #expect(expected.dkimPasses(["v=DKIM1; k=rsa; p=KEY"]) && !expected.dkimPasses(["v=DKIM1; k=rsa; p=OTHER"]))
        #expect(expected.dmarcPasses(["v=DMARC1; p=reject"]) && !expected.dmarcPasses(["v=DMARC1; p=none"]))
        #expect(expected.ownershipPasses(rootTXT: ["veil-verification=tok"]) && !expected.ownershipPasses(rootTXT: ["veil-verification=tok2"]))
    }

    @Test func verifyPassAndFailAgainstALoopbackServer() async throws {
        let server = try await DNSTestServer()
        let pem = try DKIMKeyMaterial.generateRSAPEM()
        let record = try #require(DKIMKeyMaterial.rsaRecord(pem: pem))
        let expected = Self.expected(dkim: record)
        let verifier = DomainVerifier(resolver: try SystemResolver(address: server.address))

        let nothing = await verifier.verify(expected, dkimSelector: "veil")
        #expect(DomainRecords.Check.allCases.allSatisfy { !nothing.ok($0) })
        #expect(nothing.errors.isEmpty)

        server.set("example.org", [.txt("veil-verification=tok"), .txt("v=spf1 include:veil.test ~all"), .mx(priority: 10, host: "mx.veil.test")])
        // DKIM delegated by CNAME to a name that holds the key.
        server.set("veil._domainkey.example.org", [.cname("keys.example.net")])
        server.set("keys.example.net", [.txt(record)])
        server.set("_dmarc.example.org", [.txt("v=DMARC1; p=quarantine; pct=100; adkim=s; aspf=s")])
        let all = await verifier.verify(expected, dkimSelector: "veil")
        #expect(DomainRecords.Check.allCases.allSatisfy { all.ok($0) })
        #expect(all.found[.mx] == ["10 mx.veil.test"])

        server.set("_dmarc.example.org", [.txt("v=DMARC1; p=none")])
        server.fail("example.org")
        let partial = await verifier.verify(expected, dkimSelector: "veil")
        #expect(!partial.ok(.dmarc) && partial.ok(.dkim))
        #expect(partial.errors[.mx] != nil && partial.errors[.ownership] != nil && !partial.ok(.mx))
        await server.shutdown()
    }
}
