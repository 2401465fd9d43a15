import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct AliasDetailPageTests {
    @Test func contactsAreCreatedWithTheirReverseAliasBlockedAndDeleted() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let alias = try harness.store.createAlias(userId: user.id, email: "shop@veil.test", mailboxIds: [user.mailboxId])
        let aliasId = try #require(alias.id)
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/aliases/\(aliasId)")
            #expect(page.status == .ok)
            #expect(page.html.contains(#"<code class="email" id="alias-email">shop@veil.test</code>"#))
            #expect(page.html.contains("No contact yet."))

            let bad = try await browser.submit("/dashboard/aliases/\(aliasId)/contacts", from: page, [("contact", "not an address")])
            #expect(bad.status == .badRequest)
            #expect(bad.html.contains(#"<p class="error" role="alert" id="contact-error">not an address is not a valid email address</p>"#))
            #expect(bad.html.contains(#"value="not an address""#))

            let created = try await browser.submit("/dashboard/aliases/\(aliasId)/contacts", from: page, [("contact", "Jane Doe <jane@example.com>")])
            #expect(created.status == .seeOther)
            let contact = try #require(try harness.store.contactPage(aliasId: aliasId, page: 0).first)
            #expect(contact.websiteEmail == "jane@example.com" && contact.name == "Jane Doe")
            #expect(created.location == "/dashboard/aliases/\(aliasId)?notice=contact-created#contact-\(contact.id ?? 0)")
            let withContact = try await browser.get("/dashboard/aliases/\(aliasId)")
            #expect(withContact.firstMatch(#"<code class="reverse-alias">([^<]+)</code>"#) == contact.replyEmail)
            #expect(contact.replyEmail.hasSuffix("@veil.test"))
            let again = try await browser.submit("/dashboard/aliases/\(aliasId)/contacts", from: page, [("contact", "jane@example.com")])
            #expect(again.location?.contains("notice=contact-existed") == true)
            #expect(try harness.store.contactPage(aliasId: aliasId, page: 0).count == 1)

            // A reverse-alias is not a contact.
            let loop = try await browser.submit("/dashboard/aliases/\(aliasId)/contacts", from: page, [("contact", contact.replyEmail)])
            #expect(loop.status == .badRequest)

            let contactId = try #require(contact.id)
            try await browser.submit("/dashboard/contacts/\(contactId)/toggle", from: page)
            #expect(try harness.store.contact(id: contactId, userId: user.id)?.blockForward == true)
            #expect(try await browser.get("/dashboard/aliases/\(aliasId)").html.contains(#"<span class="badge off">blocked</span>"#))
            try await browser.submit("/dashboard/contacts/\(contactId)/toggle", from: page)
            #expect(try harness.store.contact(id: contactId, userId: user.id)?.blockForward == false)
            let deleted = try await browser.submit("/dashboard/contacts/\(contactId)/delete", from: page)
            #expect(deleted.location == "/dashboard/aliases/\(aliasId)?notice=contact-deleted")
            #expect(try harness.store.contact(id: contactId, userId: user.id) == nil)
        }
    }

    @Test func activityIsListedNewestFirstInPages() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let alias = try harness.store.createAlias(userId: user.id, email: "news@veil.test", mailboxIds: [user.mailboxId])
        let aliasId = try #require(alias.id)
        let contact = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "sender@example.com", name: nil,
                                                            reverseAliasDomain: "veil.test", includeSender: false).contact
        for index in 0..<23 {
            var log = EmailLog(userId: user.id, aliasId: aliasId, contactId: contact.id, mailboxId: user.mailboxId,
                               isReply: index == 22, blocked: index == 21, createdAt: Date().addingTimeInterval(Double(index - 100)))
            log.bounced = index == 20
            try harness.store.insertEmailLog(log)
        }
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let first = try await browser.get("/dashboard/aliases/\(aliasId)")
            let rows = first.allMatches(#"<tr><td>([A-Za-z]+)</td>"#)
            #expect(rows.count == 20)
            #expect(Array(rows.prefix(4)) == ["Replied", "Blocked", "Bounced", "Forwarded"])
            #expect(first.html.contains("<tr><td>Replied</td><td>news@veil.test</td><td>sender@example.com</td>"))
            #expect(first.html.contains("<tr><td>Forwarded</td><td>sender@example.com</td><td>news@veil.test</td>"))
            #expect(first.html.contains(#"href="/dashboard/aliases/\#(aliasId)?page=1&amp;contacts_page=0""#))
            let second = try await browser.get("/dashboard/aliases/\(aliasId)?page=1")
            #expect(second.allMatches(#"<tr><td>([A-Za-z]+)</td>"#).count == 3)
            #expect(!second.html.contains("page=2"))
        }
    }

    @Test func editingNoteNameAndMailboxes() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let second = try harness.store.createMailbox(userId: user.id, email: "second@example.com", verified: true)
        let unverified = try harness.store.createMailbox(userId: user.id, email: "pending@example.com", verified: false)
        let alias = try harness.store.createAlias(userId: user.id, email: "edit@veil.test", mailboxIds: [user.mailboxId])
        let aliasId = try #require(alias.id)
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/aliases/\(aliasId)")
            #expect(!page.html.contains("pending@example.com"), "only verified mailboxes are offered")
            let saved = try await browser.submit("/dashboard/aliases/\(aliasId)/edit", from: page, [
                ("note", "for the shop"), ("name", "Shopper\r\nBcc: x@y"),
                ("mailbox_id", "\(second.id ?? 0)"), ("mailbox_id", "\(user.mailboxId)"),
            ])
            #expect(saved.location == "/dashboard/aliases/\(aliasId)?notice=alias-updated")
            let stored = try #require(try harness.store.alias(id: aliasId, userId: user.id))
            #expect(stored.note == "for the shop")
            #expect(stored.name == "ShopperBcc: x@y")
            #expect(stored.mailboxId == user.mailboxId, "the primary stays first")
            #expect(Set(try harness.store.mailboxes(ofAlias: stored).map(\.email)) == ["user@example.com", "second@example.com"])

            let none = try await browser.submit("/dashboard/aliases/\(aliasId)/edit", from: page, [("note", "x")])
            #expect(none.status == .badRequest)
            let notVerified = try await browser.submit("/dashboard/aliases/\(aliasId)/edit", from: page, [("mailbox_id", "\(unverified.id ?? 0)")])
            #expect(notVerified.status == .badRequest)
            #expect(try harness.store.alias(id: aliasId, userId: user.id)?.note == "for the shop", "a refused edit changes nothing")
        }
    }

    @Test func anotherUsersAliasAndContactsAre404AndOldPathsRedirect() async throws {
        let harness = try WebHarness()
        let owner = try harness.user("owner@example.com")
        let other = try harness.user("other@example.com")
        let alias = try harness.store.createAlias(userId: owner.id, email: "private@veil.test", mailboxIds: [owner.mailboxId])
        let aliasId = try #require(alias.id)
        let contact = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "c@example.com", name: nil,
                                                            reverseAliasDomain: "veil.test", includeSender: false).contact
        let contactId = try #require(contact.id)
        try await harness.test { browser in
            let home = try await browser.logIn(other.email)
            #expect(try await browser.get("/dashboard/aliases/\(aliasId)").status == .notFound)
            #expect(try await browser.get("/dashboard/aliases/abc").status == .notFound)
            #expect(try await browser.submit("/dashboard/aliases/\(aliasId)/contacts", from: home, [("contact", "x@example.com")]).status == .notFound)
            #expect(try await browser.submit("/dashboard/aliases/\(aliasId)/edit", from: home, [("mailbox_id", "\(other.mailboxId)")]).status == .notFound)
            #expect(try await browser.submit("/dashboard/contacts/\(contactId)/toggle", from: home).status == .notFound)
            #expect(try await browser.submit("/dashboard/contacts/\(contactId)/delete", from: home).status == .notFound)
            #expect(try harness.store.contact(id: contactId, userId: owner.id)?.blockForward == false)
            let old = try await browser.get("/dashboard/alias_contact_manager/\(aliasId)/")
            #expect(old.status == .movedPermanently && old.location == "/dashboard/aliases/\(aliasId)")
        }
        try await harness.test { browser in
            let loggedOut = try await browser.get("/dashboard/aliases/\(aliasId)")
            #expect(loggedOut.status == .seeOther)
            #expect(loggedOut.location == "/auth/login?next=/dashboard/aliases/\(aliasId)")
        }
    }
}
