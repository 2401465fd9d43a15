import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Mustache
import Testing
import VeilAPI
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct AliasPageTests {
    @Test func createRandomAliasesToggleJSONAndPlainPinAndList() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            let empty = try await browser.logIn(user.email)
            #expect(empty.html.contains("No alias yet"))
            let created = try await browser.submit("/dashboard/aliases/random", from: empty, [("mode", "word")])
            #expect(created.location == "/dashboard/?notice=alias-created")
            try await browser.submit("/dashboard/aliases/random", from: empty, [("mode", "uuid")])
            let list = try await browser.get("/dashboard/?notice=alias-created")
            #expect(list.html.contains("Alias created."))
            let addresses = list.allMatches(#"<code class="email">([^<]+)</code>"#)
            #expect(addresses.count == 2)
            #expect(addresses.allSatisfy { $0.hasSuffix("@veil.test") })
            #expect(addresses.contains { $0.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-"#, options: .regularExpression) != nil })
            let aliases = try harness.store.aliasPage(userId: user.id, page: 0, filter: .all, query: nil)
            let id = try #require(aliases.first?.alias.id)

            // The page's script asks for JSON; a plain form gets a redirect.
            let json = try await browser.request(.post, "/dashboard/aliases/\(id)/toggle", form: [("csrf_token", list.csrf ?? "")],
                                                 headers: [.accept: "application/json"])
            #expect(json.html == #"{"enabled":false}"#)
            let plain = try await browser.submit("/dashboard/aliases/\(id)/toggle", from: list)
            #expect(plain.status == .seeOther)
            #expect(try harness.store.alias(id: id, userId: user.id)?.enabled == true)
            try await browser.submit("/dashboard/aliases/\(id)/toggle", from: list)

            let disabled = try await browser.get("/dashboard/?filter=disabled")
            #expect(disabled.allMatches(#"<code class="email">([^<]+)</code>"#) == [aliases[0].alias.email])
            #expect(disabled.html.contains(#"<option value="disabled" selected>"#))
            try await browser.submit("/dashboard/aliases/\(id)/pin", from: list)
            let pinned = try await browser.get("/dashboard/?filter=pinned")
            #expect(pinned.allMatches(#"<code class="email">([^<]+)</code>"#) == [aliases[0].alias.email])
        }
    }

    @Test func searchAndPages() async throws {
        let harness = try WebHarness(freeLimit: 100)
        let user = try harness.user()
        let start = Date().addingTimeInterval(-1000)
        for index in 0..<25 {
            _ = try harness.store.createAlias(userId: user.id, email: "shop\(index)@veil.test", mailboxIds: [user.mailboxId],
                                              now: start.addingTimeInterval(Double(index)))
        }
        _ = try harness.store.createAlias(userId: user.id, email: "newsletter@veil.test", mailboxIds: [user.mailboxId])
        try await harness.test { browser in
            let first = try await browser.logIn(user.email)
            #expect(first.allMatches(#"<code class="email">([^<]+)</code>"#).count == 20)
            let next = try #require(first.firstMatch(#"<a href="([^"]+)" rel="next">"#))
            #expect(next == "/dashboard/?page=1")
            let second = try await browser.get(next)
            #expect(second.allMatches(#"<code class="email">([^<]+)</code>"#).count == 6)
            #expect(second.html.contains(#"rel="prev""#) && !second.html.contains(#"rel="next""#))
            let found = try await browser.get("/dashboard/?query=NEWS")
            #expect(found.allMatches(#"<code class="email">([^<]+)</code>"#) == ["newsletter@veil.test"])
            #expect(found.html.contains(#"value="NEWS""#))
            let none = try await browser.get("/dashboard/?query=nothing")
            #expect(none.html.contains("No alias matches."))
            // Nonsense parameters are a normal page, not an error.
            #expect(try await browser.get("/dashboard/?page=-4&filter=bogus").status == .ok)
            #expect(try await browser.get("/dashboard/?page=99999999999999999999").status == .ok)
        }
    }

    @Test func customAliasFromTheOfferedSuffixAndRefusalsShownOnTheForm() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let second = try #require(try harness.store.createMailbox(userId: user.id, email: "second@example.com", verified: true).id)
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/custom_alias")
            #expect(page.status == .ok)
            let signed = try #require(page.firstMatch(#"<option value="([^"]+)">\.[a-z0-9]+@veil\.test</option>"#))
            let suffix = try #require(page.firstMatch(#"<option value="[^"]+">(\.[a-z0-9]+@veil\.test)</option>"#))
            let bad = try await browser.submit("/dashboard/aliases/custom", from: page,
                                               [("prefix", String(repeating: "a", count: 70)), ("signed_suffix", signed), ("mailbox_id", "\(user.mailboxId)")])
            #expect(bad.status == .badRequest)
            #expect(bad.html.contains("alias prefix invalid format or too long"))
            #expect(bad.html.contains(#"<p class="error" role="alert" id="custom-error">"#))
            #expect(bad.html.contains(#"value="\#(String(repeating: "a", count: 70))""#), "the prefix is kept")
            let tampered = try await browser.submit("/dashboard/aliases/custom", from: page,
                                                    [("prefix", "shop"), ("signed_suffix", ".other@veil.test"), ("mailbox_id", "\(user.mailboxId)")])
            #expect(tampered.html.contains("Tampered suffix"))
            let noMailbox = try await browser.submit("/dashboard/aliases/custom", from: page, [("prefix", "shop"), ("signed_suffix", signed)])
            #expect(noMailbox.html.contains("At least one mailbox must be selected"))

            let made = try await browser.submit("/dashboard/aliases/custom", from: page, [
                ("prefix", "Shop"), ("signed_suffix", signed), ("mailbox_id", "\(user.mailboxId)"), ("mailbox_id", "\(second)"),
                ("note", "<script>alert(1)</script>"), ("name", "Shopper"),
            ])
            #expect(made.location == "/dashboard/?notice=alias-created")
            let alias = try #require(try harness.store.alias(email: "shop" + suffix))
            #expect(alias.note == "<script>alert(1)</script>" && alias.name == "Shopper")
            #expect(try harness.store.mailboxes(ofAlias: alias).count == 2)
            let list = try await browser.get("/dashboard/")
            #expect(list.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!list.html.contains("<script>alert(1)"))
            #expect(list.html.contains("user@example.com, second@example.com") || list.html.contains("second@example.com, user@example.com"))
            let again = try await browser.submit("/dashboard/aliases/custom", from: page,
                                                 [("prefix", "shop"), ("signed_suffix", signed), ("mailbox_id", "\(user.mailboxId)")])
            #expect(again.html.contains("alias shop\(suffix) already exists"))
        }
    }

    @Test func deleteGoesToTheTrashAndRestoreBringsItBack() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let alias = try harness.store.createAlias(userId: user.id, email: "kept@veil.test", mailboxIds: [user.mailboxId])
        let id = try #require(alias.id)
        try await harness.test { browser in
            let page = try await browser.logIn(user.email)
            let deleted = try await browser.submit("/dashboard/aliases/\(id)/delete", from: page)
            #expect(deleted.location == "/dashboard/?notice=alias-trashed")
            #expect(!(try await browser.get("/dashboard/")).html.contains("kept@veil.test"))
            let trash = try await browser.get("/dashboard/trash")
            #expect(trash.html.contains("kept@veil.test"))
            // A trashed alias cannot be toggled.
            #expect(try await browser.submit("/dashboard/aliases/\(id)/toggle", from: page).status == .notFound)
            let restored = try await browser.submit("/dashboard/aliases/\(id)/restore", from: trash)
            #expect(restored.location == "/dashboard/?notice=alias-restored")
            #expect(try harness.store.alias(id: id, userId: user.id)?.trashedAt == nil)
            #expect(try await browser.get("/dashboard/").html.contains("kept@veil.test"))
            #expect(!(try await browser.get("/dashboard/trash")).html.contains("kept@veil.test"))
        }
    }

    @Test func anotherUsersAliasIsNotFound() async throws {
        let harness = try WebHarness()
        let owner = try harness.user("owner@example.com")
        let intruder = try harness.user("intruder@example.com")
        let alias = try harness.store.createAlias(userId: owner.id, email: "private@veil.test", mailboxIds: [owner.mailboxId])
        let id = try #require(alias.id)
        try harness.store.trashAlias(id: id, userId: owner.id)
        _ = try harness.store.restoreAlias(id: id, userId: owner.id, canHave: { _ in true })
        try await harness.test { browser in
            let page = try await browser.logIn(intruder.email)
            for action in ["toggle", "pin", "delete", "restore"] {
                let answer = try await browser.submit("/dashboard/aliases/\(id)/\(action)", from: page)
                #expect(answer.status == .notFound, "\(action)")
            }
            #expect(try await browser.submit("/dashboard/aliases/abc/toggle", from: page).status == .notFound)
            let untouched = try #require(try harness.store.alias(id: id, userId: owner.id))
            #expect(untouched.enabled && !untouched.pinned && untouched.trashedAt == nil)
        }
    }

    @Test func theFreeQuotaHolds() async throws {
        let harness = try WebHarness(freeLimit: 1)
        let user = try harness.user()
        try await harness.test { browser in
            let page = try await browser.logIn(user.email)
            #expect(try await browser.submit("/dashboard/aliases/random", from: page).status == .seeOther)
            let refused = try await browser.submit("/dashboard/aliases/random", from: page)
            #expect(refused.status == .forbidden)
            #expect(refused.html.contains("maximum of 1 aliases"))
            #expect(try harness.store.aliasCount(userId: user.id) == 1)
        }
    }
}

@Suite struct AccountPageTests {
    @Test func apiKeyShownOnceWorksAndCanBeRevoked() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            _ = try await browser.logIn(user.email)
            let page = try await browser.get("/dashboard/api_key")
            #expect(page.html.contains("No API key yet"))
            let empty = try await browser.submit("/dashboard/api_key", from: page, [("name", "  ")])
            #expect(empty.status == .badRequest)
            let created = try await browser.submit("/dashboard/api_key", from: page, [("name", "laptop script")])
            let key = try #require(created.firstMatch(#"<code id="new-api-key">([a-z]{60})</code>"#))
            let info = try await browser.request(.get, "/api/user_info", headers: [HTTPField.Name("Authentication")!: key], sendCookies: false)
            #expect(info.status == .ok && info.html.contains(user.email))
            let listed = try await browser.get("/dashboard/api_key")
            #expect(!listed.html.contains(key))
            #expect(listed.html.contains("laptop script"))
            let keyId = try #require(listed.firstMatch(#"id="key-([0-9]+)""#))
            let revoked = try await browser.submit("/dashboard/api_key/\(keyId)/delete", from: listed)
            #expect(revoked.location == "/dashboard/api_key?notice=key-revoked")
            let after = try await browser.request(.get, "/api/user_info", headers: [HTTPField.Name("Authentication")!: key], sendCookies: false)
            #expect(after.status == .unauthorized)
        }
    }

    @Test func anotherUsersKeyCannotBeRevoked() async throws {
        let harness = try WebHarness()
        let owner = try harness.user("owner@example.com")
        let intruder = try harness.user("intruder@example.com")
        let key = try harness.store.createApiKey(userId: owner.id, name: "owner's")
        let keyId = try #require(try harness.store.apiKeys(userId: owner.id).first?.id)
        try await harness.test { browser in
            let page = try await browser.logIn(intruder.email)
            #expect(try await browser.submit("/dashboard/api_key/\(keyId)/delete", from: page).status == .notFound)
            #expect(try harness.store.authenticate(apiKey: key) != nil)
        }
    }

    /// SimpleLogin's extension: `POST /api/api_key` with the session cookie and `X-Sl-Allowcookies`.
    @Test func theExtensionGetsAKeyWithTheSessionCookie() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            _ = try await browser.logIn(user.email)
            let session = "veil_session=\(browser.cookies["veil_session"] ?? "")"
            func allow(_ cookie: String) -> HTTPFields {
                [HTTPField.Name("X-Sl-Allowcookies")!: "true", .contentType: "application/json", .cookie: cookie]
            }
            let answer = try await browser.client.execute(
                uri: "/api/api_key", method: .post,
                headers: allow(session),
                body: .init(string: #"{"device": "Firefox extension"}"#))
            #expect(answer.status == .created)
            let body = String(buffer: answer.body)
            let key = try #require(body.firstMatch(of: /"api_key": ?"([a-z]{60})"/)?.1)
            #expect(try harness.store.authenticate(apiKey: String(key))?.user.id == user.id)
            #expect(try harness.store.apiKeys(userId: user.id).contains { $0.name == "Firefox extension" })

            // Without the header, or with a session that does not exist, the cookie counts for nothing.
            let noHeader = try await browser.client.execute(
                uri: "/api/api_key", method: .post,
                headers: [.cookie: session, .contentType: "application/json"],
                body: .init(string: #"{"device": "x"}"#))
            #expect(noHeader.status == .unauthorized)
            let forged = try await browser.client.execute(
                uri: "/api/api_key", method: .post, headers: allow("veil_session=forged"),
                body: .init(string: #"{"device": "x"}"#))
            #expect(forged.status == .unauthorized)
        }
    }

    /// The mobile apps: `GET /api/user/cookie_token` → `/auth/api_to_cookie?token=`, once.
    @Test func theAppsOpenTheDashboardWithAOneUseToken() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let key = try harness.store.createApiKey(userId: user.id, name: "ios")
        try await harness.test { browser in
            let answer = try await browser.request(.get, "/api/user/cookie_token", headers: [HTTPField.Name("Authentication")!: key])
            #expect(answer.status == .ok)
            let token = try #require(answer.html.firstMatch(of: /"token": ?"([a-z0-9]+)"/)?.1)
            let opened = try await browser.get("/auth/api_to_cookie?token=\(token)&next=/dashboard/api_key")
            #expect(opened.status == .seeOther)
            #expect(opened.location == "/dashboard/api_key")
            #expect(try await browser.get("/dashboard/api_key").status == .ok)
            browser.setCookie("veil_session", nil)
            let reused = try await browser.get("/auth/api_to_cookie?token=\(token)")
            #expect(reused.status == .badRequest)
            #expect(browser.cookies["veil_session"] == nil)
        }
    }

    @Test func clientPagesSayWhatTheClientsExpect() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            _ = try await browser.logIn(user.email)
            let pricing = try await browser.get("/dashboard/pricing")
            #expect(pricing.html.contains("<strong>free</strong> plan, with up to 5 aliases"))
            #expect(pricing.html.contains("admin@veil.test"))
            #expect(try await browser.get("/dashboard/setup_done").html.contains("extension is connected"))
            #expect(try await browser.get("/onboarding/final").status == .ok)
            let css = try await browser.get("/static/veil.css")
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.html.contains("prefers-color-scheme: dark"))
        }
    }

    @Test func everyTemplateParses() {
        for name in Templates.sources.keys {
            #expect(Templates.shared.library.getTemplate(named: name) != nil, "\(name)")
        }
    }
}

@Suite struct HTMLWriterTests {
    @Test func escapesLikeTheTemplates() {
        var html = HTMLWriter()
        html.raw("<p>")
        html.text(#"a & b < c > d "e" 'f' é 🙂"#)
        html.raw("</p>")
        html.number(Int64(-42))
        #expect(html.string == "<p>a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39; é 🙂</p>-42")
    }

    @Test func theLayoutEscapesWhatItIsGivenAndShowsAdminsTheirLink() {
        let html = String(decoding: Layout(title: "<t>", account: .init(email: "a&b@example.com", isAdmin: true), csrf: #"x"y"#,
                                           notice: "<n>").write(content: "<p>page</p>"), as: UTF8.self)
        #expect(html.contains("<title>&lt;t&gt; · Veil</title>"))
        #expect(html.contains(#"<span class="who">a&amp;b@example.com</span>"#))
        #expect(html.contains(#"value="x&quot;y""#))
        #expect(html.contains(#"<p class="notice" role="status">&lt;n&gt;</p>"#))
        #expect(html.contains(#"<a href="/admin/">Admin</a>"#))
        #expect(html.contains("</p>\n<p>page</p></main>"))
        let anonymous = String(decoding: Layout(title: "Log in").write(content: ""), as: UTF8.self)
        #expect(!anonymous.contains("<nav") && !anonymous.contains("Log out"))
    }

    @Test func aHostileNoteOrAddressStaysText() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        _ = try harness.store.createAlias(userId: user.id, email: "x@veil.test", mailboxIds: [user.mailboxId],
                                          note: #"<script>alert(1)</script>" onmouseover="x"#)
        try await harness.test { browser in
            let page = try await browser.logIn(user.email)
            #expect(!page.html.contains("<script>alert"))
            #expect(page.html.contains(#"<p class="note">&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x</p>"#))
        }
    }
}

@Suite struct AliasSortTests {
    @Test func theListSortsByActivityAgeAndName() async throws {
        let harness = try WebHarness(freeLimit: 100)
        let user = try harness.user()
        let start = Date().addingTimeInterval(-1000)
        for (index, name) in ["bravo", "alpha", "delta", "charlie"].enumerated() {
            _ = try harness.store.createAlias(userId: user.id, email: "\(name)@veil.test", mailboxIds: [user.mailboxId],
                                              now: start.addingTimeInterval(Double(index)))
        }
        try await harness.test { browser in
            try await browser.logIn(user.email)
            func order(_ sort: String) async throws -> [String] {
                try await browser.get("/dashboard/?sort=\(sort)").allMatches(#"<code class="email">([a-z]+)@veil\.test</code>"#)
            }
            #expect(try await order("newest") == ["charlie", "delta", "alpha", "bravo"])
            #expect(try await order("oldest") == ["bravo", "alpha", "delta", "charlie"])
            #expect(try await order("a-z") == ["alpha", "bravo", "charlie", "delta"])
            #expect(try await order("z-a") == ["delta", "charlie", "bravo", "alpha"])
            #expect(try await order("nonsense") == order("activity"))
            #expect(try await browser.get("/dashboard/?sort=a-z").html.contains(#"<option value="a-z" selected>A to Z</option>"#))
        }
    }
}
