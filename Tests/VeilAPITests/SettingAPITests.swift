import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI

@Suite struct NotificationAPITests {
    @Test func pagesUnreadFirstAndMarkRead() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let other = try harness.user("other@example.com")
        let old = try harness.store.insertNotification(userId: user.id, title: "Old", message: "<b>old</b>", now: Date().addingTimeInterval(-150))
        let new = try harness.store.insertNotification(userId: user.id, title: nil, message: "new")
        let theirs = try harness.store.insertNotification(userId: other.id, title: nil, message: "theirs")
        try await harness.test { (client: Client) async throws in
            let page = try await client.get("/api/notifications?page=0", key: user.key)
            #expect(page.status == .ok && keys(page.json) == ["more", "notifications"] && page["more"] == false)
            let items = try #require(page["notifications"]?.array)
            #expect(items.count == 2 && items.allSatisfy { keys($0) == ["created_at", "id", "message", "read", "title"] })
            #expect(items[0]["id"]?.int == new.id && items[0]["title"] == .null && items[0]["created_at"] == "just now" && items[0]["read"] == false)
            #expect(items[1]["message"] == "<b>old</b>" && items[1]["title"] == "Old" && items[1]["created_at"] == "2 minutes ago")
            #expect(try await client.get("/api/notifications?page=1", key: user.key).json == ["more": false, "notifications": []])
            #expect(try await client.get("/api/notifications", key: user.key).text == #"{"error": "page must be provided in request query"}"#)
            #expect(try await client.get("/api/notifications?page=x", key: user.key).status == .badRequest)

            #expect(try await client.post("/api/notifications/\(try #require(new.id))/read", key: user.key).json == ["done": true])
            #expect(try await client.post("/api/notifications/\(try #require(old.id))", key: user.key).json == ["done": true])
            #expect(try await client.post("/api/notifications/\(try #require(theirs.id))", key: user.key).text == #"{"error": "Forbidden"}"#)
            let reread = try #require(try await client.get("/api/notifications?page=0", key: user.key)["notifications"]?.array)
            #expect(reread.allSatisfy { $0["read"] == true })
            // Read ones sort after unread ones.
            try harness.store.insertNotification(userId: user.id, title: nil, message: "newest unread", now: Date().addingTimeInterval(-3_600))
            let sorted = try #require(try await client.get("/api/notifications?page=0", key: user.key)["notifications"]?.array)
            #expect(sorted.first?["message"] == "newest unread" && sorted.first?["created_at"] == "an hour ago")
        }
    }

    @Test func moreWhenAnotherPageExists() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        for index in 0..<21 { try harness.store.insertNotification(userId: user.id, title: nil, message: "n\(index)") }
        try await harness.test { (client: Client) async throws in
            let first = try await client.get("/api/notifications?page=0", key: user.key)
            #expect(first["more"] == true && first["notifications"]?.array?.count == 20)
            let second = try await client.get("/api/notifications?page=1", key: user.key)
            #expect(second["more"] == false && second["notifications"]?.array?.count == 1)
        }
    }
}

@Suite struct SettingAPITests {
    @Test func defaultsAndEachField() async throws {
        let harness = try await Harness(premiumDomains: ["premium.test"])
        let user = try harness.user(premium: false)
        try harness.verifiedDomain(user, "mine.example")
        try await harness.test { (client: Client) async throws in
            let initial = try await client.get("/api/setting", key: user.key)
            #expect(initial.json == ["alias_generator": "word", "notification": true, "random_alias_default_domain": "veil.test",
                                     "sender_format": "AT", "random_alias_suffix": "word"])
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"notification": false}"#)["notification"] == false)
            #expect(try harness.store.user(id: user.id)?.notification == false)
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"alias_generator": "invalid"}"#).text == #"{"error": "Invalid alias_generator"}"#)
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"alias_generator": "uuid"}"#)["alias_generator"] == "uuid")
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"sender_format": "invalid"}"#).error == "Invalid sender_format")
            for format in ["A", "NAME_ONLY", "AT_ONLY", "NO_NAME"] {
                #expect(try await client.patch("/api/setting", key: user.key, json: #"{"sender_format": "\#(format)"}"#)["sender_format"] == .string(format))
            }
            #expect(try harness.store.user(id: user.id)?.senderFormat == .noName)
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"random_alias_suffix": "invalid"}"#).error == "Invalid random_alias_suffix")
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"random_alias_suffix": "random_string"}"#)["random_alias_suffix"] == "random_string")
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"random_alias_default_domain": "invalid"}"#).text == #"{"error": "invalid domain"}"#)
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"random_alias_default_domain": "premium.test"}"#).text
                == #"{"error": "You cannot use this domain"}"#)
            let custom = try await client.patch("/api/setting", key: user.key, json: #"{"random_alias_default_domain": "mine.example"}"#)
            #expect(custom["random_alias_default_domain"] == "mine.example")
            let created = try await client.post("/api/alias/random/new", key: user.key)
            #expect(created["alias"]?.string?.hasSuffix("@mine.example") == true)
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"random_alias_default_domain": "veil.test"}"#)["random_alias_default_domain"] == "veil.test")
            #expect(try harness.store.user(id: user.id)?.defaultCustomDomainId == nil)
            // A bad field later in the body changes nothing before it.
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"notification": true, "sender_format": "bad"}"#).status == .badRequest)
            #expect(try harness.store.user(id: user.id)?.notification == false)
            #expect(try await client.patch("/api/setting", key: user.key, json: #"{"notification": "yes"}"#).error == "notification must be a boolean")
            #expect(try await client.patch("/api/setting", key: user.key, json: "{}").status == .ok)
        }
    }

    @Test func domainLists() async throws {
        let harness = try await Harness(premiumDomains: ["premium.test"])
        let free = try harness.user("free@example.com")
        let premium = try harness.user("premium@example.com", premium: true)
        try harness.verifiedDomain(premium, "mine.example")
        try harness.store.insertCustomDomain(CustomDomain(userId: premium.id, domain: "unverified.example", ownershipToken: "t", createdAt: Date()))
        try await harness.test { (client: Client) async throws in
            #expect(try await client.get("/api/v2/setting/domains", key: free.key).json == [["domain": "veil.test", "is_custom": false]])
            #expect(try await client.get("/api/v2/setting/domains", key: premium.key).json == [
                ["domain": "veil.test", "is_custom": false], ["domain": "premium.test", "is_custom": false],
                ["domain": "mine.example", "is_custom": true],
            ])
            #expect(try await client.get("/api/setting/domains", key: premium.key).json == [[true, "veil.test"], [true, "premium.test"], [false, "mine.example"]])
        }
    }
}

@Suite struct ExportImportAPITests {
    @Test func exportDataAndCSV() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let other = try harness.user("other@example.com", premium: true)
        let second = try harness.verifiedMailbox(user, "b@x.com")
        let domain = try harness.verifiedDomain(user, "mine.example")
        try harness.store.createAlias(userId: user.id, email: "abc@mine.example", mailboxIds: [user.mailboxId, second],
                                                  customDomainId: domain.id, note: "Used on Facebook, Instagram.", now: Date(timeIntervalSince1970: 1000))
        let disabled = try harness.alias(user, "off@veil.test", at: Date(timeIntervalSince1970: 2000))
        try harness.store.updateAlias(id: try #require(disabled.id), userId: user.id) { $0.enabled = false }
        let trashed = try harness.alias(user, "gone@veil.test", at: Date(timeIntervalSince1970: 3000))
        try harness.store.trashAlias(id: try #require(trashed.id), userId: user.id)
        try harness.alias(other, "theirs@veil.test")
        try await harness.test { (client: Client) async throws in
            let data = try await client.get("/api/export/data", key: user.key)
            #expect(data.json == ["email": "user@example.com", "name": "Test User",
                                  "aliases": [["email": "abc@mine.example", "enabled": true], ["email": "off@veil.test", "enabled": false]],
                                  "custom_domains": ["mine.example"], "apps": []])
            let csv = try await client.get("/api/export/aliases", key: user.key)
            #expect(csv.status == .ok && csv.headers[.contentType] == "text/csv")
            #expect(csv.headers[.contentDisposition] == "attachment; filename=aliases.csv")
            #expect(csv.text == "alias,note,enabled,mailboxes\r\n"
                + "abc@mine.example,\"Used on Facebook, Instagram.\",True,user@example.com b@x.com\r\n"
                + "off@veil.test,,False,user@example.com\r\n")
        }
    }

    /// Export from one Veil, import into a fresh user of another: nothing is lost.
    @Test func csvRoundTripIntoAFreshUser() async throws {
        let source = try await Harness()
        let owner = try source.user("owner@example.com", premium: true)
        let work = try source.verifiedMailbox(owner, "work@example.net")
        let domain = try source.verifiedDomain(owner, "mine.example")
        let notes = ["Shop, \"the big one\"\nsecond line", "Ünïcödé — 東京", "", "plain"]
        for (index, note) in notes.enumerated() {
            let alias = try source.store.createAlias(userId: owner.id, email: "a\(index)@mine.example",
                                                     mailboxIds: index == 0 ? [work, owner.mailboxId] : [owner.mailboxId],
                                                     customDomainId: domain.id, note: note.isEmpty ? nil : note,
                                                     now: Date(timeIntervalSince1970: TimeInterval(1000 + index)))
            if index == 1 { try source.store.updateAlias(id: try #require(alias.id), userId: owner.id) { $0.enabled = false } }
        }
        let exported = try await Self.exported(source, key: owner.key)
        let target = try await Harness()
        let fresh = try target.user("owner@example.com", premium: true)
        try target.verifiedMailbox(fresh, "work@example.net")
        try target.verifiedDomain(fresh, "mine.example")
        try await target.test { (client: Client) async throws in
            let imported = try await client.call(.post, "/api/import/aliases", key: fresh.key, json: exported)
            #expect(imported.status == .ok && imported.json == ["created": 4, "skipped": 0, "errors": []])
            #expect(try await client.get("/api/export/aliases", key: fresh.key).text == exported)
            let again = try await client.call(.post, "/api/import/aliases", key: fresh.key, json: exported)
            #expect(again["created"] == 0 && again["skipped"] == 4)
            #expect(again["errors"]?.array?.first == ["line": 2, "alias": "a0@mine.example", "error": "a0@mine.example already exists"])
            #expect(again["errors"]?.array?.dropFirst().first?["line"] == 4)
        }
    }

    static func exported(_ harness: Harness, key: String) async throws -> String {
        try await harness.application.test(.router) { client in
            try await String(buffer: client.execute(uri: "/api/export/aliases", method: .get, headers: [HTTPField.Name("Authentication")!: key]).body)
        }
    }

    @Test func importSkipsWhatItCannotCreate() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        let other = try harness.user("other@example.com", premium: true)
        try harness.verifiedDomain(user, "mine.example")
        try harness.verifiedDomain(other, "theirs.example")
        let deleted = try harness.store.createAlias(userId: user.id, email: "old@mine.example", mailboxIds: [user.mailboxId],
                                                    customDomainId: try harness.store.customDomain(named: "mine.example")?.id)
        try harness.store.deleteAliasPermanently(id: try #require(deleted.id), userId: user.id)
        let csv = """
            alias,note,enabled,mailboxes
            new@mine.example,hello,True,
            x@veil.test,,True,
            y@theirs.example,,True,
            not an address,,True,
            old@mine.example,,True,
            z@mine.example,,True,stranger@example.com

            """
        try await harness.test { (client: Client) async throws in
            let reply = try await client.call(.post, "/api/import/aliases", key: user.key, json: csv)
            #expect(reply["created"] == 1 && reply["skipped"] == 5)
            let errors = try #require(reply["errors"]?.array)
            #expect(errors.compactMap { $0["line"]?.int } == [3, 4, 5, 6, 7])
            #expect(errors[0]["error"] == "veil.test is not one of your verified custom domains")
            #expect(errors[2]["error"] == "not an address is not a valid email address")
            #expect(errors[3]["error"] == "old@mine.example was deleted and cannot be created again")
            #expect(errors[4]["error"] == "stranger@example.com is not one of your verified mailboxes")
            #expect(try harness.store.alias(email: "new@mine.example")?.note == "hello")
            #expect(try await client.call(.post, "/api/import/aliases", key: user.key).text == #"{"error": "request body cannot be empty"}"#)
            #expect(try await client.call(.post, "/api/import/aliases", key: user.key, json: "email\nx").error == "The header must be alias,note,enabled,mailboxes")
            #expect(try await client.call(.post, "/api/import/aliases", key: user.key, json: "alias\n\"open").error
                == "Invalid CSV: unterminated quoted field starting on line 2")
        }
    }
}
