import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct DataPageTests {
    @Test func exportsAreSimpleLoginsFormatsAndOnlyTheUsers() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let other = try harness.user("other@example.com")
        _ = try harness.store.createAlias(userId: user.id, email: "one@veil.test", mailboxIds: [user.mailboxId], note: "a, \"quoted\" note")
        _ = try harness.store.createAlias(userId: other.id, email: "theirs@veil.test", mailboxIds: [other.mailboxId])
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let json = try await browser.get("/dashboard/export/data")
            #expect(json.status == .ok && json.headers[.contentType] == "application/json")
            #expect(json.headers[.contentDisposition] == "attachment; filename=veil-data.json")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.html.utf8)) as? [String: Any])
            #expect(Set(document.keys) == ["email", "name", "aliases", "custom_domains", "apps"])
            #expect(document["email"] as? String == "user@example.com" && document["name"] is NSNull)
            #expect((document["aliases"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["one@veil.test"])
            let csv = try await browser.get("/dashboard/export/aliases")
            #expect(csv.headers[.contentType] == "text/csv")
            #expect(csv.html == "alias,note,enabled,mailboxes\r\none@veil.test,\"a, \"\"quoted\"\" note\",True,user@example.com\r\n")
        }
        try await harness.test { browser in
            let anonymous = try await browser.get("/dashboard/export/data")
            #expect(anonymous.status == .seeOther)
        }
    }

    @Test func importShowsWhatWasCreatedAndWhatWasSkippedWithWhy() async throws {
        let harness = try WebHarness()
        let user = try harness.user(premium: true)
        let domain = try harness.store.createCustomDomain(userId: user.id, domain: "mine.example", dkimPrivateKey: "")
        try harness.store.updateCustomDomain(id: domain.id ?? 0, userId: user.id) { $0.verified = true }
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let form = try await browser.get("/dashboard/import")
            let bad = try await browser.submit("/dashboard/import", from: form, [("csv", "no,header\r\nx,y\r\n")])
            #expect(bad.status == .badRequest && bad.html.contains("The header must be alias,note,enabled,mailboxes"))
            let result = try await browser.submit("/dashboard/import", from: form, [("csv", """
                alias,note,enabled,mailboxes\r
                shop@mine.example,the shop,True,user@example.com\r
                x@elsewhere.example,,True,user@example.com\r
                """)])
            #expect(result.status == .ok)
            #expect(result.html.contains(#"<p id="import-summary">1 aliases created, 1 skipped.</p>"#))
            #expect(result.html.contains("<td>3</td><td>x@elsewhere.example</td><td>elsewhere.example is not one of your verified custom domains</td>"))
            #expect(try harness.store.aliasPage(userId: user.id, page: 0, filter: .all, query: "shop").map(\.alias.email) == ["shop@mine.example"])
        }
    }

    @Test func deletingTheAccountNeedsSudoAndTheAddressAndEndsEverySession() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let elsewhere = try harness.store.createWebSession(userId: user.id, userAgent: "phone")
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let settings = try await browser.get("/dashboard/setting")
            let gated = try await browser.submit("/dashboard/setting/delete", from: settings, [("confirm", user.email)])
            #expect(gated.location == "/dashboard/sudo?next=/dashboard/setting%23delete")
            #expect(try harness.store.user(id: user.id)?.deleteOn == nil)
            let sudo = try await browser.get(try #require(gated.location))
            try await browser.submit("/dashboard/sudo", from: sudo, [("password", "password123"), ("next", "/dashboard/setting")])
            let unconfirmed = try await browser.submit("/dashboard/setting/delete", from: settings, [("confirm", "someone@else.example")])
            #expect(unconfirmed.status == .badRequest && unconfirmed.html.contains("Type your e-mail address to confirm."))
            let deleted = try await browser.submit("/dashboard/setting/delete", from: settings, [("confirm", "USER@example.com")])
            #expect(deleted.location == "/auth/login?notice=account-deleted")
            #expect(try harness.store.user(id: user.id)?.deleteOn != nil)
            #expect(try harness.store.pendingJobs(named: "delete_account").count == 1)
            #expect(try harness.store.webSession(token: elsewhere.token) == nil)
            #expect(try await browser.get("/dashboard/").status == .seeOther, "logged out")
        }
    }
}
