import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI
import VeilServices

@Suite struct AliasOptionsTests {
    @Test func v4OptionsWithoutHostname() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/v4/alias/options", key: user.key)
            #expect(reply.status == .ok && reply["can_create"] == true && reply["prefix_suggestion"] == "")
            let suffixes = try #require(reply["suffixes"]?.array)
            #expect(!suffixes.isEmpty)
            for pair in suffixes {
                let items = try #require(pair.array)
                let suffix = try #require(items[0].string), signed = try #require(items[1].string)
                #expect(signed.hasPrefix(suffix))
                #expect(suffix.wholeMatch(of: /\.[a-z]+[0-9]{3}@veil\.test/) != nil)
            }
            #expect(reply["recommendation"] == nil)
        }
    }

    @Test func v5OptionsSuggestAndRecommend() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/v5/alias/options?hostname=www.test.com", key: user.key)
            #expect(reply["prefix_suggestion"] == "test")
            let first = try #require(reply["suffixes"]?.array?.first)
            #expect(keys(first) == ["is_custom", "is_premium", "signed_suffix", "suffix"])
            #expect(first["signed_suffix"]?.string?.hasPrefix(first["suffix"]?.string ?? "?") == true)
            #expect(try await client.get("/api/v5/alias/options?hostname=wwww.numberoneshoes.co.nz", key: user.key)["prefix_suggestion"] == "numberoneshoes")
            let created = try await client.post("/api/alias/random/new?hostname=www.test.com", key: user.key)
            let email = try #require(created["alias"]?.string)
            let again = try await client.get("/api/v5/alias/options?hostname=www.test.com", key: user.key)
            #expect(again["recommendation"] == ["alias": .string(email), "hostname": "www.test.com"])
        }
    }

    @Test func customDomainsComeFirst() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try harness.verifiedDomain(user, "my.tld", randomPrefix: true)
        try await harness.test { (client: Client) async throws in
            let suffixes = try #require(try await client.get("/api/v5/alias/options", key: user.key)["suffixes"]?.array)
            #expect(suffixes.count == 3)
            #expect(suffixes[0]["suffix"]?.string?.wholeMatch(of: /\.[a-z]+@my\.tld/) != nil)
            #expect(suffixes[1]["suffix"] == "@my.tld" && suffixes[1]["is_custom"] == true)
            #expect(suffixes[2]["is_custom"] == false)
        }
    }
}

@Suite struct AliasCreationTests {
    func signed(_ harness: Harness, _ suffix: String, at date: Date = Date()) -> String {
        harness.services.suffixSigner.sign(suffix, at: date)
    }

    @Test func v2CustomAliasWithDefaultMailbox() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            let body = "{\"alias_prefix\": \"prefix\", \"signed_suffix\": \"\(signed(harness, ".meow123@veil.test"))\"}"
            let reply = try await client.post("/api/v2/alias/custom/new", key: user.key, json: body)
            #expect(reply.status == .created)
            #expect(reply["alias"] == "prefix.meow123@veil.test" && reply["email"] == "prefix.meow123@veil.test")
            #expect(keys(reply.json) == ["alias", "creation_date", "creation_timestamp", "disable_pgp", "email", "enabled", "id", "latest_activity",
                                         "mailbox", "mailboxes", "name", "nb_block", "nb_forward", "nb_reply", "note", "pinned", "support_pgp"])
            #expect(reply["mailboxes"]?.array?.count == 1)
            #expect(reply["mailbox"] == ["id": .int(user.mailboxId), "email": "user@example.com"])
            #expect(reply["name"] == .null && reply["note"] == .null && reply["latest_activity"] == .null)
            #expect(reply.headers[.contentType] == "application/json")
        }
    }

    @Test func v3CustomAliasWithEverything() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let second = try harness.verifiedMailbox(user, "second@example.com")
        try await harness.test { (client: Client) async throws in
            let body = """
                {"alias_prefix": "Prefix Ünï!", "signed_suffix": "\(signed(harness, ".cat456@veil.test"))",
                 "mailbox_ids": ["\(user.mailboxId)", \(second)], "note": "test note", "name": "your\\nname"}
                """
            let reply = try await client.post("/api/v3/alias/custom/new?hostname=example.com", key: user.key, json: body)
            #expect(reply.status == .created)
            #expect(reply["alias"] == "prefixuni_.cat456@veil.test")
            #expect(reply["note"] == "test note" && reply["name"] == "yourname")
            #expect(reply["mailboxes"]?.array?.count == 2)
            let id = try #require(reply["id"]?.int)
            #expect(try harness.store.hostnames(aliasId: id) == ["example.com"])
        }
    }

    @Test func v3Errors() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let suffix = signed(harness, ".word123@veil.test")
        try await harness.test { (client: Client) async throws in
            let post = { (json: String) in try await client.post("/api/v3/alias/custom/new", key: user.key, json: json) }
            #expect(try await post("\"string isn't a dict\"").text == #"{"error": "request body does not follow the required format"}"#)
            #expect(try await post("{\"alias_prefix\": \"p\", \"signed_suffix\": \"\(suffix)\", \"mailbox_ids\": 1}").text
                == #"{"error": "mailbox_ids must be an array of id"}"#)
            #expect(try await post("{\"alias_prefix\": \"p\", \"signed_suffix\": \"\(suffix)\", \"mailbox_ids\": []}").error
                == "At least one mailbox must be selected")
            #expect(try await post("{\"alias_prefix\": \"p\", \"signed_suffix\": \"\(suffix)\", \"mailbox_ids\": [999]}").error == "Errors with Mailbox")
            #expect(try await post("{\"alias_prefix\": \"prefix.\", \"signed_suffix\": \"\(suffix)\", \"mailbox_ids\": [\(user.mailboxId)]}").text
                == #"{"error": "2 consecutive dot signs aren't allowed in an email address"}"#)
            let old = signed(harness, ".word123@veil.test", at: Date().addingTimeInterval(-601))
            let expired = try await post("{\"alias_prefix\": \"p\", \"signed_suffix\": \"\(old)\", \"mailbox_ids\": [\(user.mailboxId)]}")
            #expect(expired.status == .preconditionFailed && expired.error == "Alias creation time is expired, please retry")
            let foreign = signed(harness, ".word123@elsewhere.com")
            #expect(try await post("{\"alias_prefix\": \"p\", \"signed_suffix\": \"\(foreign)\", \"mailbox_ids\": [\(user.mailboxId)]}").error
                == "wrong alias prefix or suffix")
            #expect(try await post("{\"alias_prefix\": \"\(String(repeating: "a", count: 41))\", \"signed_suffix\": \"\(suffix)\", \"mailbox_ids\": [\(user.mailboxId)]}").error
                == "alias prefix invalid format or too long")
        }
    }

    @Test func deletedAliasIsNeverCreatedAgain() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try harness.verifiedDomain(user, "my.tld")
        try await harness.test { (client: Client) async throws in
            let body = "{\"alias_prefix\": \"prefix\", \"signed_suffix\": \"\(signed(harness, "@my.tld"))\", \"mailbox_ids\": [\(user.mailboxId)]}"
            let created = try await client.post("/api/v3/alias/custom/new", key: user.key, json: body)
            #expect(created.status == .created && created["alias"] == "prefix@my.tld")
            let id = try #require(created["id"]?.int)
            #expect(try await client.delete("/api/aliases/\(id)", key: user.key).text == #"{"deleted": true}"#)
            let again = try await client.post("/api/v3/alias/custom/new", key: user.key, json: body)
            #expect(again.status == .conflict && again.error == "alias prefix@my.tld already exists")
        }
    }

    @Test func freeQuotaIsEnforced() async throws {
        let harness = try await Harness(freeLimit: 2)
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/alias/random/new", key: user.key).status == .created)
            #expect(try await client.post("/api/alias/random/new", key: user.key).status == .created)
            let third = try await client.post("/api/alias/random/new", key: user.key)
            #expect(third.status == .badRequest)
            #expect(third.error == "You have reached the limitation of a free account with the maximum of 2 aliases, please upgrade your plan to create more aliases")
            let body = "{\"alias_prefix\": \"p\", \"signed_suffix\": \"\(signed(harness, ".a123@veil.test"))\", \"mailbox_ids\": [\(user.mailboxId)]}"
            #expect(try await client.post("/api/v3/alias/custom/new", key: user.key, json: body).error == third.error)
            #expect(try await client.get("/api/v5/alias/options", key: user.key)["can_create"] == false)
        }
    }

    @Test func creationIsRateLimited() async throws {
        let harness = try await Harness(rateLimits: true)
        let user = try harness.user(premium: true)
        try await harness.test { (client: Client) async throws in
            var statuses: [Int] = []
            for _ in 0..<7 { statuses.append(try await client.post("/api/alias/random/new", key: user.key).status.code) }
            #expect(statuses.prefix(5).allSatisfy { $0 == 201 })
            let last = try await client.post("/api/alias/random/new", key: user.key)
            #expect(last.text == #"{"error": "Rate limit exceeded"}"#)
            #expect(last.status == .tooManyRequests)
        }
    }

    @Test func randomAliasModesAndNote() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try await harness.test { (client: Client) async throws in
            let word = try await client.post("/api/alias/random/new", key: user.key)
            #expect(word.status == .created)
            #expect(word["alias"]?.string?.wholeMatch(of: /[a-z]+_[a-z]+[0-9]{3}@veil\.test/) != nil)
            let uuid = try await client.post("/api/alias/random/new?mode=uuid", key: user.key, json: #"{"note": "test note"}"#)
            let local = try #require(uuid["alias"]?.string?.split(separator: "@").first)
            #expect(UUID(uuidString: String(local)) != nil)
            #expect(uuid["note"] == "test note")
            let bad = try await client.post("/api/alias/random/new?mode=foo", key: user.key)
            #expect(bad.status == .badRequest && bad.error == "foo must be either word or uuid")
            let junkBody = try await client.post("/api/alias/random/new", key: user.key, json: "not json")
            #expect(junkBody.status == .created && junkBody["note"] == .null)
        }
    }

    @Test func oneClickAliasForAWebsite() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try await harness.test { (client: Client) async throws in
            let reply = try await client.post("/api/alias/random/new?hostname=www.test.com", key: user.key)
            let email = try #require(reply["alias"]?.string)
            #expect(email.hasPrefix("test") && email.hasSuffix("@veil.test"))
            let id = try #require(reply["id"]?.int)
            #expect(try harness.store.hostnames(aliasId: id) == ["www.test.com"])
        }
    }

    @Test func oneClickAliasOnACustomDomainIsReused() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try harness.verifiedDomain(user, "my.tld")
        try await harness.test { (client: Client) async throws in
            let first = try await client.post("/api/alias/random/new?hostname=www.test.com", key: user.key)
            #expect(first.status == .created && first["alias"] == "test@my.tld")
            let second = try await client.post("/api/alias/random/new?hostname=www.test.com", key: user.key)
            #expect(second.status == .created && second["alias"] == "test@my.tld")
            #expect(try harness.store.aliasCount(userId: user.id) == 1)
        }
    }
}

@Suite struct AliasManagementTests {
    @Test func v1ListPagesAndSearch() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        for index in 0..<22 { try harness.alias(user, "prefix\(index)@veil.test", at: Date(timeIntervalSince1970: TimeInterval(1000 + index))) }
        try await harness.test { (client: Client) async throws in
            #expect(try await client.get("/api/aliases", key: user.key).error == "page_id must be provided in request query")
            let first = try #require(try await client.get("/api/aliases?page_id=0", key: user.key)["aliases"]?.array)
            #expect(first.count == 20)
            #expect(keys(first[0]) == ["creation_date", "creation_timestamp", "email", "enabled", "id", "nb_block", "nb_forward", "nb_reply", "note"])
            #expect(try await client.get("/api/aliases?page_id=1", key: user.key)["aliases"]?.array?.count == 2)
            let found = try await client.get("/api/aliases?page_id=0", key: user.key, json: #"{"query": "prefix11"}"#)
            #expect(found["aliases"]?.array?.map { $0["email"] } == ["prefix11@veil.test"])
        }
    }

    @Test func v2ListOrderFiltersAndPinning() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        var aliases: [Alias] = []
        for index in 0..<41 { aliases.append(try harness.alias(user, "a\(index)@veil.test", at: Date(timeIntervalSince1970: TimeInterval(1000 + index)))) }
        let oldest = try #require(aliases[0].id)
        try await harness.test { (client: Client) async throws in
            let page0 = try #require(try await client.get("/api/v2/aliases?page_id=0", key: user.key)["aliases"]?.array)
            #expect(page0.count == 20 && page0.first?["email"] == "a40@veil.test")
            #expect(!page0.contains { $0["id"]?.int == oldest })
            #expect(try await client.patch("/api/aliases/\(oldest)", key: user.key, json: #"{"pinned": true}"#).json == ["ok": true])
            let pinnedFirst = try #require(try await client.get("/api/v2/aliases?page_id=0", key: user.key)["aliases"]?.array)
            #expect(pinnedFirst.count == 20 && pinnedFirst.first?["id"]?.int == oldest && pinnedFirst.first?["pinned"] == true)
            #expect(try await client.get("/api/v2/aliases?page_id=0&pinned=false", key: user.key)["aliases"]?.array?.count == 1)
            #expect(try await client.post("/api/aliases/\(oldest)/toggle", key: user.key).text == #"{"enabled": false}"#)
            #expect(try await client.get("/api/v2/aliases?page_id=0&disabled", key: user.key)["aliases"]?.array?.count == 1)
            #expect(try await client.get("/api/v2/aliases?page_id=2&enabled=1", key: user.key)["aliases"]?.array?.count == 0)
            #expect(try await client.get("/api/v2/aliases?page_id=0", key: user.key, json: #"{"query": "no match"}"#)["aliases"]?.array?.count == 0)
            #expect(try await client.post("/api/v2/aliases?page_id=0", key: user.key, json: #"{"query": "a39@"}"#)["aliases"]?.array?.count == 1)
            _ = try await client.delete("/api/aliases/\(oldest)", key: user.key)
            let afterDelete = try #require(try await client.get("/api/v2/aliases?page_id=0", key: user.key)["aliases"]?.array)
            #expect(!afterDelete.contains { $0["id"]?.int == oldest })
        }
    }

    @Test func latestActivityAndActivities() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let alias = try harness.alias(user, "shop@veil.test")
        let aliasId = try #require(alias.id)
        let contact = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "c1@example.com", name: "C One",
                                                            reverseAliasDomain: "veil.test", includeSender: false).contact
        for index in 0..<22 {
            try harness.store.insertEmailLog(EmailLog(userId: user.id, aliasId: aliasId, contactId: contact.id, mailboxId: user.mailboxId,
                                                      isReply: index == 21, createdAt: Date(timeIntervalSince1970: TimeInterval(2000 + index))))
        }
        try await harness.test { (client: Client) async throws in
            let view = try await client.get("/api/aliases/\(aliasId)", key: user.key)
            let latest = try #require(view["latest_activity"])
            #expect(latest["action"] == "reply" && latest["timestamp"] == 2021)
            #expect(latest["contact"] == ["email": "c1@example.com", "name": "C One",
                                          "reverse_alias": .string("\"C One | c1 at example.com\" <\(contact.replyEmail)>")])
            #expect(view["nb_forward"] == 21 && view["nb_reply"] == 1 && view["nb_block"] == 0)
            let page0 = try #require(try await client.get("/api/aliases/\(aliasId)/activities?page_id=0", key: user.key)["activities"]?.array)
            #expect(page0.count == 20)
            #expect(page0[0]["action"] == "reply" && page0[0]["from"] == "shop@veil.test" && page0[0]["to"] == "c1@example.com")
            #expect(page0[1]["action"] == "forward" && page0[1]["from"] == "c1@example.com" && page0[1]["to"] == "shop@veil.test")
            #expect(page0.allSatisfy { $0["reverse_alias_address"]?.string == contact.replyEmail })
            #expect(try await client.get("/api/aliases/\(aliasId)/activities?page_id=1", key: user.key)["activities"]?.array?.count == 2)
            let stats = try await client.get("/api/stats", key: user.key)
            #expect(stats["nb_forward"] == 21 && stats["nb_reply"] == 1)
        }
    }

    @Test func supportPGPFollowsTheMailboxesKeys() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let alias = try harness.alias(user, "pgp@veil.test")
        let id = try #require(alias.id)
        try await harness.test { (client: Client) async throws in
            #expect(try await client.get("/api/aliases/\(id)", key: user.key)["support_pgp"] == false)
            _ = try harness.store.updateMailbox(id: user.mailboxId, userId: user.id) { $0.pgpPublicKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----" }
            _ = try await client.patch("/api/aliases/\(id)", key: user.key, json: #"{"disable_pgp": true}"#)
            let view = try await client.get("/api/aliases/\(id)", key: user.key)
            #expect(view["support_pgp"] == true && view["disable_pgp"] == true)
        }
    }

    /// Found by schemathesis: a page id whose offset overflows trapped the server.
    @Test func aHugePageIsEmptyNotACrash() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let id = try #require(try harness.alias(user, "page@veil.test").id)
        try await harness.test { (client: Client) async throws in
            let huge = "page_id=3485042622640137728"
            #expect(try await client.get("/api/v2/aliases?\(huge)", key: user.key)["aliases"]?.array?.isEmpty == true)
            #expect(try await client.post("/api/aliases?\(huge)", key: user.key)["aliases"]?.array?.isEmpty == true)
            #expect(try await client.get("/api/aliases/\(id)/activities?\(huge)", key: user.key)["activities"]?.array?.isEmpty == true)
            #expect(try await client.get("/api/aliases/\(id)/contacts?\(huge)", key: user.key)["contacts"]?.array?.isEmpty == true)
            #expect(try await client.get("/api/notifications?page=\(Int.max)", key: user.key).status == .ok)
        }
    }

    @Test func getUnknownAliasIs400AndOthersAre403() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            let missing = try await client.get("/api/aliases/99999999", key: user.key)
            #expect(missing.status == .badRequest && missing.error == "Unknown error")
            #expect(try await client.delete("/api/aliases/99999999", key: user.key).status == .forbidden)
            let contacts = try await client.get("/api/aliases/99999999/contacts?page_id=0", key: user.key)
            #expect(contacts.status == .notFound && contacts.error == "No such alias")
        }
    }

    /// A deleted alias is in the trash: missing for the whole API until restored, purged after 30 days.
    @Test func aTrashedAliasAnswersAsMissingEverywhereUntilRestored() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let alias = try harness.alias(user, "trash@veil.test")
        let id = try #require(alias.id)
        let (contact, _) = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "c@example.com", name: nil,
                                                                  reverseAliasDomain: "veil.test", includeSender: false)
        let contactId = try #require(contact.id)
        try await harness.test { (client: Client) async throws in
            let path = "/api/aliases/\(id)"
            #expect(try await client.delete(path, key: user.key).json == ["deleted": true])
            let trashedAt = try #require(try harness.store.alias(id: id, userId: user.id)?.trashedAt)
            let get = try await client.get(path, key: user.key)
            #expect(get.status == .badRequest && get.error == "Unknown error")
            #expect(try await client.patch(path, key: user.key, json: #"{"note": "x"}"#).status == .forbidden)
            #expect(try await client.put(path, key: user.key, json: #"{"note": "x"}"#).status == .forbidden)
            #expect(try await client.post("\(path)/toggle", key: user.key).status == .forbidden)
            #expect(try await client.get("\(path)/activities?page_id=0", key: user.key).status == .forbidden)
            let contacts = try await client.get("\(path)/contacts?page_id=0", key: user.key)
            #expect(contacts.status == .notFound && contacts.error == "No such alias")
            #expect(try await client.post("\(path)/contacts", key: user.key, json: #"{"contact": "new@example.com"}"#).status == .forbidden)
            #expect(try await client.post("/api/contacts/\(contactId)/toggle", key: user.key).status == .forbidden)
            #expect(try await client.delete("/api/contacts/\(contactId)", key: user.key).status == .forbidden)
            // A second delete does not push the purge date back.
            try await Task.sleep(for: .milliseconds(1_100))
            #expect(try await client.delete(path, key: user.key).status == .forbidden)
            #expect(try harness.store.alias(id: id, userId: user.id)?.trashedAt == trashedAt)
            #expect(try harness.store.alias(id: id, userId: user.id)?.note == nil)
            let list = try await client.get("/api/v2/aliases?page_id=0", key: user.key)
            #expect(list["aliases"]?.array?.isEmpty == true)

            let restored = try await client.post("\(path)/restore", key: user.key)
            #expect(restored.status == .ok && restored["email"] == "trash@veil.test" && restored["enabled"] == true)
            #expect(try await client.post("\(path)/restore", key: user.key).error == "Alias is not in the trash")
            #expect(try await client.post("/api/aliases/99999999/restore", key: user.key).status == .forbidden)
            #expect(try await client.get(path, key: user.key).status == .ok)
            #expect(try await client.post("/api/contacts/\(contactId)/toggle", key: user.key).json == ["block_forward": true])
        }
        // Purged after 30 days: gone, and the address can never be created again.
        #expect(try harness.store.trashAlias(id: id, userId: user.id, now: Date().addingTimeInterval(-31 * 86_400)))
        #expect(try harness.store.purgeTrashedAliases(trashedBefore: Date().addingTimeInterval(-30 * 86_400)) == 1)
        #expect(try harness.store.alias(id: id, userId: user.id) == nil)
        #expect(try harness.store.isAddressTaken("trash@veil.test"))
    }

    @Test func restoringRespectsTheFreeQuota() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let first = try #require(try harness.alias(user, "one@veil.test").id)
        try harness.store.trashAlias(id: first, userId: user.id)
        for index in 0..<5 { _ = try harness.alias(user, "live\(index)@veil.test") }
        try await harness.test { (client: Client) async throws in
            let refused = try await client.post("/api/aliases/\(first)/restore", key: user.key)
            #expect(refused.status == .badRequest && refused.error?.hasPrefix("You have reached the limitation of a free account") == true)
        }
    }

    @Test func patchFieldsAndErrors() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let second = try harness.verifiedMailbox(user, "second@example.com")
        let alias = try harness.alias(user, "p@veil.test")
        let id = try #require(alias.id)
        try await harness.test { (client: Client) async throws in
            let path = "/api/aliases/\(id)"
            #expect(try await client.patch(path, key: user.key, json: #"{"note": "test note"}"#).status == .ok)
            #expect(try await client.put(path, key: user.key, json: #"{"name": "Test \nName"}"#).status == .ok)
            #expect(try await client.patch(path, key: user.key, json: "{\"mailbox_id\": \(second)}").status == .ok)
            #expect(try await client.patch(path, key: user.key, json: #"{"mailbox_id": -1}"#).status == .badRequest)
            #expect(try await client.patch(path, key: user.key, json: "{\"mailbox_ids\": [\(user.mailboxId), \(second)]}").status == .ok)
            #expect(try await client.patch(path, key: user.key, json: #"{"mailbox_ids": []}"#).error == "Must choose at least one mailbox")
            #expect(try await client.patch(path, key: user.key, json: #"{"mailbox_ids": ["x"]}"#).error == "Invalid mailbox_id")
            #expect(try await client.patch(path, key: user.key, json: #"{"mailbox_ids": ["-1"]}"#).error == "Invalid mailbox_id")
            // Digit strings, as the Raycast extension sends them (§1.6b).
            #expect(try await client.patch(path, key: user.key, json: "{\"mailbox_ids\": [\"\(second)\"]}").status == .ok)
            #expect(try harness.store.alias(id: id, userId: user.id)?.mailboxId == second)
            #expect(try await client.patch(path, key: user.key, json: "{\"mailbox_ids\": [\"\(user.mailboxId)\", \(second)]}").status == .ok)
            #expect(try await client.patch(path, key: user.key, json: "{\"name\": \"\(String(repeating: "n", count: 129))\"}").error
                == "Name can't be longer than 128 characters")
            #expect(try await client.patch(path, key: user.key, json: #"{"disable_pgp": true, "pinned": true}"#).status == .ok)
            #expect(try await client.patch(path, key: user.key).error == "request body cannot be empty")
            let view = try await client.get(path, key: user.key)
            #expect(view["note"] == "test note" && view["name"] == "Test Name" && view["disable_pgp"] == true && view["pinned"] == true)
            #expect(view["mailbox"]?["id"]?.int == user.mailboxId)
            #expect(view["mailboxes"]?.array?.count == 2)
        }
    }
}

@Suite struct ContactAPITests {
    @Test func createListToggleDelete() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let alias = try harness.alias(user, "c@veil.test")
        let id = try #require(alias.id)
        try await harness.test { (client: Client) async throws in
            let created = try await client.post("/api/aliases/\(id)/contacts", key: user.key, json: #"{"contact": "First Last <first@example.com>"}"#)
            #expect(created.status == .created)
            #expect(keys(created.json) == ["block_forward", "contact", "creation_date", "creation_timestamp", "existed", "id",
                                           "last_email_sent_date", "last_email_sent_timestamp", "reverse_alias", "reverse_alias_address"])
            #expect(created["contact"] == "first@example.com" && created["existed"] == false)
            #expect(created["last_email_sent_date"] == .null && created["last_email_sent_timestamp"] == .null)
            let address = try #require(created["reverse_alias_address"]?.string)
            #expect(address.hasSuffix("@veil.test"))
            #expect(created["reverse_alias"]?.string == "\"First Last | first at example.com\" <\(address)>")
            let again = try await client.post("/api/aliases/\(id)/contacts", key: user.key, json: #"{"contact": "First2 Last2 <first@example.com>"}"#)
            #expect(again.status == .ok && again["existed"] == true && again["id"] == created["id"])
            #expect(try await client.post("/api/aliases/\(id)/contacts", key: user.key, json: #"{"contact": ""}"#).error
                == "Empty address is not a valid email address")
            #expect(try await client.post("/api/aliases/\(id)/contacts", key: user.key, json: #"{"contact": "@gmail.com"}"#).error
                == "@gmail.com is not a valid email address")
            #expect(try await client.post("/api/aliases/\(id)/contacts", key: user.key, json: "{\"contact\": \"\(address)\"}").status == .badRequest)
            let list = try #require(try await client.get("/api/aliases/\(id)/contacts?page_id=0", key: user.key)["contacts"]?.array)
            #expect(list.count == 1 && list[0]["existed"] == false)
            let contactId = try #require(created["id"]?.int)
            #expect(try await client.post("/api/contacts/\(contactId)/toggle", key: user.key).text == #"{"block_forward": true}"#)
            #expect(try await client.delete("/api/contacts/\(contactId)", key: user.key).text == #"{"deleted": true}"#)
            #expect(try await client.delete("/api/contacts/\(contactId)", key: user.key).status == .forbidden)
        }
    }

    @Test func contactPagesAndLastSent() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let alias = try harness.alias(user, "c@veil.test")
        let id = try #require(alias.id)
        for index in 0..<21 {
            let contact = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "c\(index)@example.com", name: nil,
                                                                reverseAliasDomain: "veil.test", includeSender: false).contact
            try harness.store.insertEmailLog(EmailLog(userId: user.id, aliasId: id, contactId: contact.id, mailboxId: user.mailboxId,
                                                      isReply: true, createdAt: Date()))
        }
        try await harness.test { (client: Client) async throws in
            let page0 = try #require(try await client.get("/api/aliases/\(id)/contacts?page_id=0", key: user.key)["contacts"]?.array)
            #expect(page0.count == 20)
            #expect(page0.allSatisfy { $0["last_email_sent_timestamp"]?.int != nil && $0["last_email_sent_date"]?.string != nil })
            #expect(page0.first?["contact"] == "c20@example.com")
            #expect(try await client.get("/api/aliases/\(id)/contacts?page_id=1", key: user.key)["contacts"]?.array?.count == 1)
        }
    }

    @Test func freeUsersWithTheFlagCannotCreateContactsWhenTheSwitchIsOn() async throws {
        for switchOn in [false, true] {
            let harness = try await Harness(disableContactsForFree: switchOn)
            let user = try harness.user()
            _ = try harness.store.updateUser(id: user.id) { $0.cannotCreateContacts = true }
            let alias = try harness.alias(user, "c@veil.test")
            try await harness.test { (client: Client) async throws in
                let reply = try await client.post("/api/aliases/\(alias.id ?? 0)/contacts", key: user.key, json: #"{"contact": "x@example.com"}"#)
                #expect(reply.status == (switchOn ? .forbidden : .created))
                if switchOn { #expect(reply.error == "Please upgrade to premium to create reverse-alias") }
            }
        }
    }
}
