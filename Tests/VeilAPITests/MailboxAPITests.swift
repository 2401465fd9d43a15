import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI

@Suite struct MailboxAPITests {
    @Test func createVerifyByLinkAndList() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        try await harness.test { (client: Client) async throws in
            let created = try await client.post("/api/mailboxes", key: user.key, json: #"{"email": "mailbox@gmail.com"}"#)
            #expect(created.status == .created)
            #expect(keys(created.json) == ["creation_timestamp", "default", "disabled_for_bounces", "email", "enabled", "id", "nb_alias", "verified"])
            #expect(created["email"] == "mailbox@gmail.com" && created["verified"] == false && created["default"] == false && created["nb_alias"] == 0)
            #expect((created["id"]?.int ?? 0) > 0)
            #expect(try await client.get("/api/mailboxes", key: user.key)["mailboxes"]?.array?.count == 1)
            #expect(try await client.get("/api/v2/mailboxes", key: user.key)["mailboxes"]?.array?.count == 2)
            let mail = try #require(try await harness.sink.waitForMessages(1).first)
            #expect(mail.recipients == ["mailbox@gmail.com"])
            let link = try #require(mail.data.range(of: "/mailbox/verify\\?token=[A-Za-z0-9_-]+", options: .regularExpression).map { String(mail.data[$0]) })
            let page = try await client.get(link)
            #expect(page.status == .ok && page.text.contains("Mailbox confirmed"))
            #expect(try await client.get(link).status == .badRequest)
            let verified = try #require(try await client.get("/api/mailboxes", key: user.key)["mailboxes"]?.array)
            #expect(verified.count == 2)
            #expect(verified.allSatisfy { keys($0) == ["creation_timestamp", "default", "disabled_for_bounces", "email", "enabled", "id", "nb_alias", "verified"] })
        }
    }

    /// A mailbox Veil disabled after bounces shows it, and its owner brings it back.
    @Test func aBouncingMailboxIsShownAndReenabled() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let second = try harness.verifiedMailbox(user, "second@example.com")
        try harness.store.markMailboxBouncing(id: second)
        try await harness.test { (client: Client) async throws in
            func state() async throws -> JSON? {
                try await client.get("/api/v2/mailboxes", key: user.key)["mailboxes"]?.array?.first { $0["id"]?.int == second }
            }
            let stateFalseTrue = try await state()
            #expect(stateFalseTrue?["enabled"] == false && stateFalseTrue?["disabled_for_bounces"] == true)
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"enabled": "yes"}"#).error
                    == "enabled must be a boolean")
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"enabled": true}"#).json == ["updated": true])
            let stateTrueFalse = try await state()
            #expect(stateTrueFalse?["enabled"] == true && stateTrueFalse?["disabled_for_bounces"] == false)
            let mailbox = try #require(try harness.store.mailbox(id: second, userId: user.id))
            #expect(!mailbox.disabled && mailbox.disabledAt == nil && mailbox.bouncesCountedSince != nil)
            // Its owner may also stop it: not a bounce, so no grace period.
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"enabled": false}"#).json == ["updated": true])
            let stateFalseFalse = try await state()
            #expect(stateFalseFalse?["enabled"] == false && stateFalseFalse?["disabled_for_bounces"] == false)
        }
    }

    @Test func createErrors() async throws {
        let harness = try await Harness()
        let free = try harness.user("free@example.com")
        let premium = try harness.user("premium@example.com", premium: true)
        try await harness.test { (client: Client) async throws in
            for body in [#"{"email": "gmail.com"}"#, "{}", #"{"email": ""}"#] {
                #expect(try await client.post("/api/mailboxes", key: premium.key, json: body).text == #"{"error": "Invalid email"}"#)
            }
            #expect(try await client.post("/api/mailboxes", key: premium.key).error == "Invalid email")
            #expect(try await client.post("/api/mailboxes", key: free.key, json: #"{"email": "x@example.com"}"#).text
                == #"{"error": "Only available for paid plans"}"#)
            #expect(try await client.post("/api/mailboxes", key: premium.key, json: #"{"email": "free@example.com"}"#).error == "Email already used")
            #expect(try await client.post("/api/mailboxes", key: premium.key, json: #"{"email": "x@veil.test"}"#).error?.hasPrefix("Invalid email: ") == true)
        }
    }

    @Test func defaultChangeAndDelete() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let second = try harness.verifiedMailbox(user, "second@example.com")
        let unverified = try #require(try harness.store.createMailbox(userId: user.id, email: "u@example.com", verified: false).id)
        let alias = try harness.alias(user, "moving@veil.test", mailboxIds: [second])
        try await harness.test { (client: Client) async throws in
            #expect(try await client.put("/api/mailboxes/\(unverified)", key: user.key, json: #"{"default": true}"#).text
                == #"{"error": "Unverified mailbox cannot be used as default mailbox"}"#)
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"default": true}"#).json == ["updated": true])
            #expect(try harness.store.user(id: user.id)?.defaultMailboxId == second)
            #expect(try await client.delete("/api/mailboxes/\(second)", key: user.key).error == "Cannot delete your default mailbox")
            #expect(try await client.put("/api/mailboxes/\(user.mailboxId)", key: user.key, json: #"{"default": true}"#).status == .ok)
            #expect(try await client.delete("/api/mailboxes/\(second)", key: user.key, json: "{\"transfer_aliases_to\": \(unverified)}").error
                == "Your new mailbox is not verified")
            #expect(try await client.delete("/api/mailboxes/\(second)", key: user.key, json: "{\"transfer_aliases_to\": \(second)}").error
                == "You can not transfer the aliases to the mailbox you want to delete")
            #expect(try await client.delete("/api/mailboxes/\(second)", key: user.key, json: "{\"transfer_aliases_to\": \(user.mailboxId)}").json
                == ["deleted": true])
            #expect(try harness.store.alias(email: "moving@veil.test")?.mailboxId == user.mailboxId)
            _ = alias
        }
    }

    @Test func emailChangeAndCancel() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let second = try harness.verifiedMailbox(user, "second@example.com")
        try await harness.test { (client: Client) async throws in
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"email": "second@example.com"}"#).error == "Same email")
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"email": "new-email@gmail.com"}"#).status == .ok)
            #expect(try harness.store.mailbox(id: second, userId: user.id)?.newEmail == "new-email@gmail.com")
            #expect(try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"cancel_email_change": true}"#).status == .ok)
            #expect(try harness.store.mailbox(id: second, userId: user.id)?.newEmail == nil)
            // A second change, confirmed through the link sent to the new address.
            _ = try await client.put("/api/mailboxes/\(second)", key: user.key, json: #"{"email": "third@example.com"}"#)
            let mails = try await harness.sink.waitForMessages(2)
            let last = try #require(mails.last)
            #expect(last.recipients == ["third@example.com"])
            let link = try #require(last.data.range(of: "/mailbox/verify\\?token=[A-Za-z0-9_-]+", options: .regularExpression).map { String(last.data[$0]) })
            #expect(try await client.get(link).status == .ok)
            #expect(try harness.store.mailbox(id: second, userId: user.id)?.email == "third@example.com")
        }
    }
}

/// The path a new user of the browser extension takes, with the activation code read from the
/// e-mail caught by a real SMTP listener.
@Suite struct BrowserExtensionJourneyTests {
    @Test func registerActivateLoginAndManageAliases() async throws {
        let harness = try await Harness()
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/auth/register", json: #"{"email": "jane@example.com", "password": "correct horse"}"#).status == .ok)
            let code = try #require(sixDigits(in: try await harness.sink.waitForMessages(1).first?.data))
            #expect(try await client.post("/api/auth/activate", json: "{\"email\": \"jane@example.com\", \"code\": \"\(code)\"}").status == .ok)
            let login = try await client.post("/api/auth/login", json: #"{"email": "jane@example.com", "password": "correct horse", "device": "Firefox"}"#)
            let key = try #require(login["api_key"]?.string)

            let options = try await client.get("/api/v5/alias/options?hostname=shop.example.org", key: key)
            #expect(options["can_create"] == true && options["prefix_suggestion"] == "example")
            let suffix = try #require(options["suffixes"]?.array?.first?["signed_suffix"]?.string)
            let mailboxId = try #require(try await client.get("/api/v2/mailboxes", key: key)["mailboxes"]?.array?.first?["id"]?.int)
            let custom = try await client.post("/api/v3/alias/custom/new?hostname=shop.example.org", key: key,
                                               json: "{\"alias_prefix\": \"shop\", \"signed_suffix\": \"\(suffix)\", \"mailbox_ids\": [\(mailboxId)]}")
            #expect(custom.status == .created)
            let customId = try #require(custom["id"]?.int)
            let random = try await client.post("/api/alias/random/new", key: key)
            #expect(random.status == .created && random["alias"]?.string?.hasSuffix("@veil.test") == true)

            let list = try #require(try await client.get("/api/v2/aliases?page_id=0", key: key)["aliases"]?.array)
            #expect(list.count == 2)
            #expect(try await client.post("/api/aliases/\(customId)/toggle", key: key).json == ["enabled": false])
            let contact = try await client.post("/api/aliases/\(customId)/contacts", key: key, json: #"{"contact": "Shop <orders@shop.example.org>"}"#)
            #expect(contact.status == .created)
            #expect(try await client.delete("/api/aliases/\(customId)", key: key).json == ["deleted": true])
            #expect(try await client.get("/api/v2/aliases?page_id=0", key: key)["aliases"]?.array?.count == 1)
        }
    }
}
