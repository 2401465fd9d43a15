import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct MailboxPageTests {
    @Test func addVerifyMakeDefaultAndDeleteMovingTheAliases() async throws {
        let harness = try WebHarness()
        let user = try harness.user(premium: true)
        let alias = try harness.store.createAlias(userId: user.id, email: "moving@veil.test", mailboxIds: [user.mailboxId])
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/mailbox")
            #expect(page.html.contains(#"<span class="badge">default</span>"#))
            let bad = try await browser.submit("/dashboard/mailbox", from: page, [("email", "x@veil.test")])
            #expect(bad.status == .badRequest && bad.html.contains("Invalid email: This email is a Veil domain"))
            let added = try await browser.submit("/dashboard/mailbox", from: page, [("email", "Second@Example.com")])
            #expect(added.location == "/dashboard/mailbox?notice=mailbox-added")
            let mailbox = try #require(try harness.store.mailboxes(userId: user.id).first { $0.email == "second@example.com" })
            #expect(!mailbox.verified)
            let mail = try #require(harness.outbox.all.last { $0.to == ["second@example.com"] })
            let link = try #require(mail.text.range(of: #"/mailbox/verify\?token=[A-Za-z0-9_-]+"#, options: .regularExpression).map { String(mail.text[$0]) })
            #expect(try await browser.get("/dashboard/mailbox").html.contains(#"<span class="badge off">not verified</span>"#))

            let confirmed = try await browser.get(link)
            #expect(confirmed.status == .ok)
            #expect(try harness.store.mailbox(id: mailbox.id ?? 0, userId: user.id)?.verified == true)

            let made = try await browser.submit("/dashboard/mailbox/\(mailbox.id ?? 0)/default", from: page)
            #expect(made.location == "/dashboard/mailbox?notice=mailbox-updated")
            #expect(try harness.store.user(id: user.id)?.defaultMailboxId == mailbox.id)

            let refused = try await browser.submit("/dashboard/mailbox/\(mailbox.id ?? 0)/delete", from: page, [("transfer_to", "\(user.mailboxId)")])
            #expect(refused.status == .badRequest && refused.html.contains("Cannot delete your default mailbox"))
            let deleted = try await browser.submit("/dashboard/mailbox/\(user.mailboxId)/delete", from: page, [("transfer_to", "\(mailbox.id ?? 0)")])
            #expect(deleted.location == "/dashboard/mailbox?notice=mailbox-deleted")
            #expect(try harness.store.alias(id: alias.id ?? 0, userId: user.id)?.mailboxId == mailbox.id, "the alias moved")
        }
    }

    @Test func freeAccountsAreToldAndRefused() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/mailbox")
            #expect(page.html.contains("More mailboxes come with the premium plan"))
            let refused = try await browser.submit("/dashboard/mailbox", from: page, [("email", "second@example.com")])
            #expect(refused.status == .badRequest && refused.html.contains("Only available for paid plans"))
            #expect(try harness.store.mailboxes(userId: user.id).count == 1)
        }
    }

    @Test func aBouncingMailboxShowsItsStateAndComesBack() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        _ = try harness.store.updateMailbox(id: user.mailboxId, userId: user.id) {
            $0.disabled = true
            $0.disabledAt = Date()
        }
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/mailbox")
            #expect(page.html.contains("disabled after repeated bounces"))
            let enabled = try await browser.submit("/dashboard/mailbox/\(user.mailboxId)/enable", from: page)
            #expect(enabled.location == "/dashboard/mailbox?notice=mailbox-enabled")
            let mailbox = try #require(try harness.store.mailbox(id: user.mailboxId, userId: user.id))
            #expect(!mailbox.disabled && mailbox.disabledAt == nil)
            #expect(!(try await browser.get("/dashboard/mailbox").html.contains("repeated bounces")))
        }
    }

    @Test func anotherUsersMailboxIs404() async throws {
        let harness = try WebHarness()
        let owner = try harness.user("owner@example.com", premium: true)
        let other = try harness.user("other@example.com", premium: true)
        try await harness.test { browser in
            let home = try await browser.logIn(other.email)
            for action in ["default", "enable", "resend", "delete"] {
                let answer = try await browser.submit("/dashboard/mailbox/\(owner.mailboxId)/\(action)", from: home, [("transfer_to", "\(other.mailboxId)")])
                #expect(answer.status == .notFound, "\(action)")
            }
            #expect(try harness.store.mailbox(id: owner.mailboxId, userId: owner.id) != nil)
        }
    }
}
