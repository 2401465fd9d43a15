import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct NotificationPageTests {
    @Test func notificationsAreListedUnreadFirstAndMarkedRead() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let other = try harness.user("other@example.com")
        let old = try harness.store.insertNotification(userId: user.id, title: "Mailbox disabled", message: "It bounced <5 times>",
                                                       now: Date().addingTimeInterval(-3600))
        try harness.store.insertNotification(userId: user.id, title: nil, message: "Welcome")
        let foreign = try harness.store.insertNotification(userId: other.id, title: "Theirs", message: "not yours")
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/notifications")
            #expect(page.html.contains("It bounced &lt;5 times&gt;"), "escaped")
            #expect(!page.html.contains("not yours"))
            #expect(page.allMatches(#"<span class="badge">(new)</span>"#).count == 2)
            let read = try await browser.submit("/dashboard/notifications/\(old.id ?? 0)/read", from: page)
            #expect(read.location == "/dashboard/notifications")
            #expect(try await browser.get("/dashboard/notifications").allMatches(#"<span class="badge">(new)</span>"#).count == 1)
            #expect(try await browser.submit("/dashboard/notifications/\(foreign.id ?? 0)/read", from: page).status == .notFound)
        }
    }

    @Test func refusedMailListsBlockedBouncedAndSpamButNotDelivered() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let other = try harness.user("other@example.com")
        let alias = try harness.store.createAlias(userId: user.id, email: "shop@veil.test", mailboxIds: [user.mailboxId])
        let theirs = try harness.store.createAlias(userId: other.id, email: "theirs@veil.test", mailboxIds: [other.mailboxId])
        let contact = try harness.store.findOrCreateContact(alias: alias, websiteEmail: "spammer@example.com", name: nil,
                                                            reverseAliasDomain: "veil.test", includeSender: false).contact
        let now = Date()
        func log(_ alias: Alias, blocked: Bool = false, bounced: Bool = false, spam: Bool = false, reply: Bool = false, ago: Double) throws {
            var entry = EmailLog(userId: alias.userId, aliasId: alias.id ?? 0, contactId: alias.id == theirs.id ? nil : contact.id,
                                 mailboxId: alias.mailboxId, isReply: reply, blocked: blocked, createdAt: now.addingTimeInterval(-ago))
            entry.bounced = bounced
            entry.isSpam = spam
            if bounced { entry.bounceReason = "550 5.1.1 mailbox full" }
            try harness.store.insertEmailLog(entry)
        }
        try log(alias, ago: 10)                    // delivered: not listed
        try log(alias, blocked: true, ago: 20)
        try log(alias, bounced: true, ago: 30)
        try log(alias, spam: true, ago: 40)
        try log(alias, blocked: true, reply: true, ago: 50)   // the user's own reply: not listed
        try log(theirs, blocked: true, ago: 5)     // another user's
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/quarantine")
            let reasons = page.allMatches(#"<p class="meta">([^·<]+) · "#).map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(reasons == ["Blocked (disabled alias or blocked sender)", "Your mailbox refused it", "Spam"])
            #expect(page.html.contains("550 5.1.1 mailbox full"))
            #expect(page.html.contains("spammer@example.com"))
            #expect(!page.html.contains("theirs@veil.test"))
        }
    }
}
