import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct AdminPageTests {
    @Test func adminsSeeFiguresAndUsersAndActOnThem() async throws {
        let harness = try WebHarness()
        let admin = try harness.user("admin@example.com")
        #expect(try harness.store.setAdmin(email: admin.email, true))
        let user = try harness.user("someone@example.com")
        let alias = try harness.store.createAlias(userId: user.id, email: "a@veil.test", mailboxIds: [user.mailboxId])
        try harness.store.insertEmailLog(EmailLog(userId: user.id, aliasId: alias.id ?? 0, contactId: nil, mailboxId: user.mailboxId,
                                                  createdAt: Date()))
        try harness.store.insertEmailLog(EmailLog(userId: user.id, aliasId: alias.id ?? 0, contactId: nil, mailboxId: user.mailboxId,
                                                  blocked: true, createdAt: Date()))
        try harness.store.insertEmailLog(EmailLog(userId: user.id, aliasId: alias.id ?? 0, contactId: nil, mailboxId: user.mailboxId,
                                                  createdAt: Date().addingTimeInterval(-3 * 86_400)))
        let theirSession = try harness.store.createWebSession(userId: user.id, userAgent: nil)
        try await harness.test { browser in
            try await browser.logIn(admin.email)
            let page = try await browser.get("/admin/")
            #expect(page.status == .ok)
            #expect(page.firstMatch(#"<td id="figure-forwarded">(\d+)</td>"#) == "1", "today only")
            #expect(page.firstMatch(#"<td id="figure-blocked">(\d+)</td>"#) == "1")
            #expect(page.html.contains("someone@example.com"))
            #expect(page.html.contains(#"<a href="/admin/">Admin</a>"#))
            let searched = try await browser.get("/admin/?query=someone")
            #expect(searched.html.contains("someone@example.com") && !searched.html.contains(#"<span class="email">admin@example.com"#))
            let underscore = try await browser.get("/admin/?query=_")
            #expect(!underscore.html.contains("someone@example.com"), "LIKE wildcards in the query are literal")

            try await browser.submit("/admin/users/\(user.id)/premium", from: page, [("premium", "on")])
            #expect(try harness.store.user(id: user.id)?.isPremium == true)
            try await browser.submit("/admin/users/\(user.id)/premium", from: page)
            #expect(try harness.store.user(id: user.id)?.isPremium == false)
            try await browser.submit("/admin/users/\(user.id)/disable", from: page, [("disabled", "on")])
            #expect(try harness.store.user(id: user.id)?.disabled == true)
            #expect(try harness.store.webSession(token: theirSession.token) == nil, "a disabled user's sessions end")
            #expect(try await browser.submit("/admin/users/\(admin.id)/disable", from: page, [("disabled", "on")]).status == .badRequest)
            let unconfirmed = try await browser.submit("/admin/users/\(user.id)/delete", from: page, [("confirm", "x")])
            #expect(unconfirmed.status == .badRequest)
            let deleted = try await browser.submit("/admin/users/\(user.id)/delete", from: page, [("confirm", user.email)])
            #expect(deleted.location == "/admin/?notice=user-deleted")
            #expect(try harness.store.user(id: user.id)?.deleteOn != nil)
        }
    }

    @Test func theAdminPagesDoNotExistForOthers() async throws {
        let harness = try WebHarness()
        let admin = try harness.user("admin@example.com")
        _ = try harness.store.setAdmin(email: admin.email, true)
        let user = try harness.user("someone@example.com")
        try await harness.test { browser in
            let home = try await browser.logIn(user.email)
            #expect(!home.html.contains(#"href="/admin/""#))
            #expect(try await browser.get("/admin/").status == .notFound)
            #expect(try await browser.submit("/admin/users/\(admin.id)/disable", from: home, [("disabled", "on")]).status == .notFound)
            #expect(try harness.store.user(id: admin.id)?.disabled == false)
        }
    }
}
