import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI

@Suite struct CustomDomainAPITests {
    static let domainKeys = ["catch_all", "creation_date", "creation_timestamp", "domain_name", "id", "is_verified", "mailboxes",
                             "name", "nb_alias", "random_prefix_generation"]

    @Test func listShape() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let other = try harness.user("other@example.com", premium: true)
        let first = try harness.verifiedDomain(user, "one.example")
        try harness.store.insertCustomDomain(CustomDomain(userId: user.id, domain: "two.example", ownershipToken: "t", createdAt: Date()))
        try harness.verifiedDomain(other, "theirs.example")
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/custom_domains", key: user.key)
            #expect(reply.status == .ok)
            let domains = try #require(reply["custom_domains"]?.array)
            #expect(domains.count == 2)
            for domain in domains {
                #expect(keys(domain) == Self.domainKeys)
                #expect(domain["nb_alias"] == 0 && domain["catch_all"] == false && domain["name"] == .null)
                #expect(domain["random_prefix_generation"] == false && (domain["id"]?.int ?? 0) > 0)
                #expect(domain["creation_date"]?.string?.hasSuffix("+00:00") == true && domain["creation_timestamp"]?.int != nil)
                // No mailbox set: the default mailbox stands in.
                #expect(domain["mailboxes"] == [["id": .int(user.mailboxId), "email": "user@example.com"]])
            }
            #expect(domains[0]["domain_name"] == "one.example" && domains[0]["is_verified"] == true && domains[0]["id"]?.int == first.id)
            #expect(domains[1]["domain_name"] == "two.example" && domains[1]["is_verified"] == false)
            #expect(try await client.get("/api/custom_domains").text == #"{"error": "Wrong api key"}"#)
        }
    }

    @Test func updateEachFieldAndErrors() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let other = try harness.user("other@example.com", premium: true)
        let second = try harness.verifiedMailbox(user, "second@example.com")
        let unverified = try #require(try harness.store.createMailbox(userId: user.id, email: "u@example.com", verified: false).id)
        let domainId = try #require(try harness.verifiedDomain(user, "mine.example").id)
        let theirs = try #require(try harness.verifiedDomain(other, "theirs.example").id)
        try await harness.test { (client: Client) async throws in
            let path = "/api/custom_domains/\(domainId)"
            let catchAll = try await client.patch(path, key: user.key, json: #"{"catch_all": true}"#)
            #expect(catchAll.status == .ok && keys(catchAll["custom_domain"]) == Self.domainKeys)
            #expect(catchAll["custom_domain"]?["catch_all"] == true)
            #expect(try await client.patch(path, key: user.key, json: #"{"random_prefix_generation": true}"#)["custom_domain"]?["random_prefix_generation"] == true)
            #expect(try await client.patch(path, key: user.key, json: #"{"name": "test name"}"#)["custom_domain"]?["name"] == "test name")
            let moved = try await client.patch(path, key: user.key, json: #"{"mailbox_ids": [\#(second), "\#(user.mailboxId)"]}"#)
            #expect(moved["custom_domain"]?["mailboxes"]?.array?.compactMap { $0["id"]?.int }.sorted() == [user.mailboxId, second].sorted())
            let stored = try #require(try harness.store.customDomain(id: domainId))
            #expect(stored.catchAll && stored.randomPrefixGeneration && stored.name == "test name")
            #expect(try await client.patch(path, key: user.key, json: #"{"name": null}"#)["custom_domain"]?["name"] == .null)

            #expect(try await client.patch(path, key: user.key, json: "{}").text == #"{"error": "request body cannot be empty"}"#)
            #expect(try await client.patch(path, key: user.key).error == "request body cannot be empty")
            for bad in [#"{"mailbox_ids": []}"#, #"{"mailbox_ids": [\#(unverified)]}"#, #"{"mailbox_ids": [999999]}"#] {
                let reply = try await client.patch(path, key: user.key, json: bad)
                #expect(reply.status == .badRequest && reply.text == #"{"error": "Forbidden"}"#)
            }
            #expect(try await client.patch(path, key: user.key, json: #"{"mailbox_ids": 3}"#).error == "mailbox_ids must be an array of id")
            #expect(try await client.patch(path, key: user.key, json: #"{"catch_all": "yes"}"#).error == "catch_all must be a boolean")
            let foreign = try await client.patch("/api/custom_domains/\(theirs)", key: user.key, json: #"{"catch_all": true}"#)
            #expect(foreign.status == .forbidden && foreign.text == #"{"error": "Forbidden"}"#)
            #expect(try harness.store.customDomain(id: theirs)?.catchAll == false)
            #expect(try await client.patch("/api/custom_domains/abc", key: user.key, json: #"{"catch_all": true}"#).status == .notFound)
        }
    }

    @Test func trashListsDeletedAliasesOfTheDomain() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let other = try harness.user("other@example.com", premium: true)
        let domainId = try #require(try harness.verifiedDomain(user, "mine.example").id)
        let alias = try harness.store.createAlias(userId: user.id, email: "shop@mine.example", mailboxIds: [user.mailboxId], customDomainId: domainId)
        try await harness.test { (client: Client) async throws in
            #expect(try await client.get("/api/custom_domains/\(domainId)/trash", key: user.key).json == ["aliases": []])
            #expect(try await client.delete("/api/aliases/\(try #require(alias.id))", key: user.key).status == .ok)
            let trash = try await client.get("/api/custom_domains/\(domainId)/trash", key: user.key)
            let items = try #require(trash["aliases"]?.array)
            #expect(items.count == 1 && keys(items[0]) == ["alias", "deletion_timestamp"])
            #expect(items[0]["alias"] == "shop@mine.example" && (items[0]["deletion_timestamp"]?.int ?? 0) > 0)
            #expect(try await client.get("/api/custom_domains/\(domainId)/trash", key: other.key).status == .forbidden)
        }
    }

    @Test func addPublishVerifyAndDeleteAgainstARealDNSServer() async throws {
        let dns = try await DNSTestServer()
        let harness = try await Harness(dnsResolver: dns.address)
        let user = try harness.user(premium: true)
        let other = try harness.user("other@example.com", premium: true)
        try await harness.test { (client: Client) async throws in
            let created = try await client.post("/api/custom_domains", key: user.key, json: #"{"domain": "Shop.Example."}"#)
            #expect(created.status == .created && keys(created["custom_domain"]) == Self.domainKeys)
            #expect(created["custom_domain"]?["domain_name"] == "shop.example" && created["custom_domain"]?["is_verified"] == false)
            let id = try #require(created["custom_domain"]?["id"]?.int)
            let stored = try #require(try harness.store.customDomain(id: id))
            let pem = try #require(stored.dkimPrivateKey)
            #expect(pem.contains("PRIVATE KEY"))

            let dnsReply = try await client.get("/api/custom_domains/\(id)/dns", key: user.key)
            let records = try #require(dnsReply["records"]?.array)
            #expect(records.compactMap { $0["purpose"]?.string } == ["ownership", "mx", "spf", "dkim", "dmarc"])
            #expect(records.allSatisfy { keys($0) == ["name", "priority", "purpose", "type", "value", "verified"] && $0["verified"] == false })
            #expect(records[0]["value"] == .string("veil-verification=\(stored.ownershipToken)"))
            #expect(records[1]["type"] == "MX" && records[1]["value"] == "mx.veil.test" && records[1]["priority"] == 10)
            #expect(records[2]["value"] == "v=spf1 include:veil.test ~all")
            let dkimValue = try #require(records[3]["value"]?.string)
            #expect(records[3]["name"] == "veil._domainkey.shop.example." && dkimValue == DKIMKeyMaterial.rsaRecord(pem: pem))
            #expect(dnsReply["zone"]?.string?.contains("veil._domainkey.shop.example. IN TXT \"v=DKIM1; k=rsa; p=") == true)

            // Nothing published yet: every check fails, nothing is verified.
            let before = try await client.post("/api/custom_domains/\(id)/verify", key: user.key)
            #expect(before.status == .ok && keys(before["checks"]) == ["dkim", "dmarc", "mx", "ownership", "spf"])
            #expect(before["checks"]?["mx"] == ["ok": false, "found": [], "error": .null])
            #expect(before["custom_domain"]?["is_verified"] == false)

            // A wrong MX and the right rest.
            dns.set("shop.example", [.txt(records[0]["value"]?.string ?? ""), .txt("v=spf1 include:veil.test ~all"),
                                     .mx(priority: 10, host: "mail.elsewhere.example")])
            dns.set("veil._domainkey.shop.example", [.txt(dkimValue)])
            dns.set("_dmarc.shop.example", [.txt("v=DMARC1; p=reject")])
            let wrongMX = try await client.post("/api/custom_domains/\(id)/verify", key: user.key)
            #expect(wrongMX["checks"]?["mx"]?["ok"] == false && wrongMX["checks"]?["mx"]?["found"] == ["10 mail.elsewhere.example"])
            #expect(wrongMX["checks"]?["ownership"]?["ok"] == true && wrongMX["checks"]?["dkim"]?["ok"] == true)
            #expect(wrongMX["custom_domain"]?["is_verified"] == false)

            dns.set("shop.example", [.txt(records[0]["value"]?.string ?? ""), .txt("v=spf1 include:veil.test ~all"),
                                     .mx(priority: 10, host: "mx.veil.test")])
            let passed = try await client.post("/api/custom_domains/\(id)/verify", key: user.key)
            #expect(["ownership", "mx", "spf", "dkim", "dmarc"].allSatisfy { passed["checks"]?[$0]?["ok"] == true })
            #expect(passed["custom_domain"]?["is_verified"] == true)
            let after = try #require(try harness.store.customDomain(id: id))
            #expect(after.verified && after.mxVerified && after.spfVerified && after.dkimVerified && after.dmarcVerified && after.lastCheckedAt != nil)
            #expect(try await client.get("/api/custom_domains/\(id)/dns", key: user.key)["records"]?.array?.allSatisfy { $0["verified"] == true } == true)

            // A failing DNS server is reported, not a 500, and does not undo ownership.
            dns.fail("shop.example")
            let failing = try await client.post("/api/custom_domains/\(id)/verify", key: user.key)
            #expect(failing.status == .ok && failing["checks"]?["mx"]?["error"]?.string?.contains("failed") == true)
            #expect(failing["custom_domain"]?["is_verified"] == true)

            #expect(try await client.post("/api/custom_domains/\(id)/verify", key: other.key).status == .forbidden)
            #expect(try await client.get("/api/custom_domains/\(id)/dns", key: other.key).status == .forbidden)
            #expect(try await client.delete("/api/custom_domains/\(id)", key: other.key).status == .forbidden)
            _ = try harness.store.createAlias(userId: user.id, email: "a@shop.example", mailboxIds: [user.mailboxId], customDomainId: id)
            #expect(try await client.delete("/api/custom_domains/\(id)", key: user.key).json == ["deleted": true])
            #expect(try harness.store.customDomain(id: id) == nil && (try harness.store.alias(email: "a@shop.example")) == nil)
        }
        await dns.shutdown()
    }

    @Test func addErrors() async throws {
        let harness = try await Harness()
        let premium = try harness.user(premium: true)
        let free = try harness.user("free@example.com")
        try harness.verifiedDomain(premium, "taken.example")
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/custom_domains", key: premium.key).text == #"{"error": "request body cannot be empty"}"#)
            #expect(try await client.post("/api/custom_domains", key: premium.key, json: #"{"domain": 5}"#).error == "domain must be a string")
            #expect(try await client.post("/api/custom_domains", key: premium.key, json: #"{"domain": "not a domain"}"#).error == "not a domain is not a valid domain")
            #expect(try await client.post("/api/custom_domains", key: free.key, json: #"{"domain": "free.example"}"#).error == "Only available for paid plans")
            #expect(try await client.post("/api/custom_domains", key: premium.key, json: #"{"domain": "sub.veil.test"}"#).error == "sub.veil.test is a Veil domain")
            #expect(try await client.post("/api/custom_domains", key: premium.key, json: #"{"domain": "example.com"}"#).error
                == "You cannot add a domain that you are currently using for a personal mailbox")
            let taken = try await client.post("/api/custom_domains", key: premium.key, json: #"{"domain": "TAKEN.example"}"#)
            #expect(taken.status == .conflict && taken.error == "taken.example already used")
        }
    }
}
