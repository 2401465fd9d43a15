import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilWeb

@Suite struct DomainPageTests {
    @Test func addPublishVerifyAgainstARealDNSServerConfigureAndDelete() async throws {
        let dns = try await DNSTestServer()
        let harness = try WebHarness(dnsResolver: dns.address)
        let user = try harness.user(premium: true)
        let second = try harness.store.createMailbox(userId: user.id, email: "second@example.com", verified: true)
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let list = try await browser.get("/dashboard/custom_domain")
            #expect(list.html.contains("No custom domain yet."))
            let bad = try await browser.submit("/dashboard/custom_domain", from: list, [("domain", "not a domain")])
            #expect(bad.status == .badRequest && bad.html.contains("not a domain is not a valid domain"))
            let added = try await browser.submit("/dashboard/custom_domain", from: list, [("domain", "Shop.Example.")])
            let domain = try #require(try harness.store.customDomainViews(userId: user.id).first?.domain)
            let id = try #require(domain.id)
            #expect(added.location == "/dashboard/domains/\(id)/dns?notice=domain-added")
            let again = try await browser.submit("/dashboard/custom_domain", from: list, [("domain", "shop.example")])
            #expect(again.status == .conflict)

            let records = try await browser.get("/dashboard/domains/\(id)/dns")
            let values = records.allMatches(#"<code class="record">([^<]+)</code>"#).map {
                $0.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            }
            #expect(values.count == 5)
            #expect(values[0] == "veil-verification=\(domain.ownershipToken)")
            #expect(values[1] == "mx.veil.test")
            #expect(records.html.contains("Not checked yet."))
            #expect(records.html.components(separatedBy: #"<span class="badge off">not checked</span>"#).count - 1 == 5)

            dns.set("shop.example", [.txt(values[0]), .txt(values[2]), .mx(priority: 10, host: "mail.elsewhere.example")])
            dns.set("veil._domainkey.shop.example", [.txt(values[3])])
            dns.set("_dmarc.shop.example", [.txt(values[4])])
            let checked = try await browser.submit("/dashboard/domains/\(id)/verify", from: records)
            #expect(checked.status == .ok)
            #expect(checked.html.contains("Published now: <code>10 mail.elsewhere.example</code>"))
            #expect(checked.html.components(separatedBy: #"<span class="badge">found</span>"#).count - 1 == 4, "all but MX pass")
            #expect(checked.html.components(separatedBy: #"<span class="badge off">not found</span>"#).count - 1 == 1)
            // Receiving needs ownership and MX: the domain is not verified yet.
            let stored = try #require(try harness.store.customDomain(id: id))
            #expect(!stored.verified && !stored.mxVerified && stored.dkimVerified && stored.spfVerified)
            #expect(checked.html.contains("Publish these records"))

            let settings = try await browser.get("/dashboard/domains/\(id)/info")
            let saved = try await browser.submit("/dashboard/domains/\(id)/info", from: settings, [
                ("catch_all", "on"), ("mailbox_id", "\(second.id ?? 0)"), ("name", "Shop"),
            ])
            #expect(saved.location == "/dashboard/domains/\(id)/info?notice=domain-updated")
            let view = try #require(try harness.store.customDomainView(id: id, userId: user.id))
            #expect(view.domain.catchAll && !view.domain.randomPrefixGeneration && view.domain.name == "Shop")
            #expect(view.mailboxes.map(\.email) == ["second@example.com"])
            let noMailbox = try await browser.submit("/dashboard/domains/\(id)/info", from: settings, [("catch_all", "on")])
            #expect(noMailbox.status == .badRequest)

            let unconfirmed = try await browser.submit("/dashboard/domains/\(id)/delete", from: settings, [("confirm", "other.example")])
            #expect(unconfirmed.status == .badRequest)
            #expect(try harness.store.customDomain(id: id) != nil)
            let deleted = try await browser.submit("/dashboard/domains/\(id)/delete", from: settings, [("confirm", "shop.example")])
            #expect(deleted.location == "/dashboard/custom_domain?notice=domain-deleted")
            #expect(try harness.store.customDomain(id: id) == nil)
        }
        await dns.shutdown()
    }

    @Test func freeAccountsCannotAddAndOthersDomainsAre404() async throws {
        let harness = try WebHarness()
        let owner = try harness.user("owner@example.com", premium: true)
        let free = try harness.user("free@example.com")
        let domain = try harness.store.createCustomDomain(userId: owner.id, domain: "owned.example", dkimPrivateKey: "")
        let id = try #require(domain.id)
        try await harness.test { browser in
            let home = try await browser.logIn(free.email)
            let list = try await browser.get("/dashboard/custom_domain")
            #expect(list.html.contains("Custom domains come with the premium plan"))
            let refused = try await browser.submit("/dashboard/custom_domain", from: list, [("domain", "mine.example")])
            #expect(refused.status == .badRequest && refused.html.contains("Only available for paid plans"))
            #expect(try await browser.get("/dashboard/domains/\(id)/dns").status == .notFound)
            #expect(try await browser.get("/dashboard/domains/\(id)/info").status == .notFound)
            #expect(try await browser.submit("/dashboard/domains/\(id)/verify", from: home).status == .notFound)
            #expect(try await browser.submit("/dashboard/domains/\(id)/delete", from: home, [("confirm", "owned.example")]).status == .notFound)
            #expect(try harness.store.customDomain(id: id) != nil)
        }
    }
}
