import Foundation
import HTTPTypes
import Testing
import VeilAPI
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct AuthPageTests {
    @Test func pagesNeedASessionAndComeBackAfterLogin() async throws {
        let harness = try WebHarness()
        try harness.user()
        try await harness.test { browser in
            for path in ["/dashboard/", "/dashboard/trash", "/dashboard/api_key", "/dashboard/pricing", "/onboarding/final", "/dashboard/setup_done"] {
                let page = try await browser.get(path)
                #expect(page.status == .seeOther, "\(path)")
                #expect(page.location?.hasPrefix("/auth/login?next=") == true, "\(path): \(page.location ?? "")")
            }
            let form = try await browser.get("/auth/login?next=/dashboard/api_key")
            #expect(form.html.contains(#"name="next" value="/dashboard/api_key""#))
            let answer = try await browser.submit("/auth/login", from: form,
                                                  [("email", "USER@example.com"), ("password", "password123"), ("next", "/dashboard/api_key")])
            #expect(answer.status == .seeOther)
            #expect(answer.location == "/dashboard/api_key")
            let cookie = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix("veil_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"))
            #expect(try await browser.get("/dashboard/api_key").status == .ok)
        }
    }

    @Test func wrongPasswordIsShownOnTheFormAndNoSessionOpens() async throws {
        let harness = try WebHarness()
        try harness.user()
        try await harness.test { browser in
            let form = try await browser.get("/auth/login")
            let page = try await browser.submit("/auth/login", from: form, [("email", "user@example.com"), ("password", "wrong-password")])
            #expect(page.status == .badRequest)
            #expect(page.html.contains("Email or password incorrect"))
            #expect(page.html.contains(#"value="user@example.com""#))
            #expect(browser.cookies["veil_session"] == nil)
        }
    }

    @Test func formsWithoutTheRightCSRFTokenAreRefused() async throws {
        let harness = try WebHarness()
        try harness.user()
        try await harness.test { browser in
            _ = try await browser.get("/auth/login")
            let forged = try await browser.request(.post, "/auth/login", form: [("csrf_token", "x"), ("email", "user@example.com"), ("password", "password123")])
            #expect(forged.status == .forbidden)
            #expect(browser.cookies["veil_session"] == nil)
            // Logged in, the session's token is the one that counts: the pre-login cookie's is not enough.
            let dashboard = try await browser.logIn("user@example.com")
            let preLogin = try #require(browser.cookies["veil_csrf"])
            #expect(dashboard.csrf != preLogin)
            let refused = try await browser.request(.post, "/dashboard/aliases/random", form: [("csrf_token", preLogin)])
            #expect(refused.status == .forbidden)
            #expect(try harness.store.aliasCount(userId: 1) == 0)
        }
    }

    @Test func registerActivateWithTheMailedCodeThenLogIn() async throws {
        let harness = try WebHarness()
        try await harness.test { browser in
            let form = try await browser.get("/auth/register")
            let short = try await browser.submit("/auth/register", from: form, [("email", "new@example.com"), ("password", "short")])
            #expect(short.status == .badRequest)
            #expect(short.html.contains("password too short"))
            #expect(short.html.contains(#"aria-describedby="password-error""#))
            let bad = try await browser.submit("/auth/register", from: form, [("email", "x@veil.test"), ("password", "password123")])
            #expect(bad.html.contains("cannot use x@veil.test as personal inbox"))

            let registered = try await browser.submit("/auth/register", from: form, [("email", "new@example.com"), ("password", "password123")])
            #expect(registered.status == .seeOther)
            #expect(registered.location == "/auth/activate?email=new%40example%2Ecom")
            // Not active yet: login sends to activation.
            let early = try await browser.submit("/auth/login", from: try await browser.get("/auth/login"),
                                                 [("email", "new@example.com"), ("password", "password123")])
            #expect(early.location?.hasPrefix("/auth/activate") == true)

            let activation = try await browser.get("/auth/activate?email=new%40example.com")
            #expect(activation.html.contains("new@example.com"))
            let wrong = try await browser.submit("/auth/activate", from: activation, [("email", "new@example.com"), ("code", "000000")])
            #expect(wrong.status == .badRequest)
            #expect(wrong.html.contains("Wrong email or code"))
            let code = try #require(harness.outbox.activationCode(to: "new@example.com"))
            let done = try await browser.submit("/auth/activate", from: activation, [("email", "new@example.com"), ("code", code)])
            #expect(done.location == "/auth/login?notice=activated")
            let dashboard = try await browser.logIn("new@example.com")
            #expect(dashboard.status == .ok)
            #expect(dashboard.html.contains("new@example.com"))
        }
    }

    @Test func closedRegistrationShowsNoForm() async throws {
        let harness = try WebHarness(registrationOpen: false)
        try await harness.test { browser in
            let page = try await browser.get("/auth/register")
            #expect(page.html.contains("Registration is closed"))
            #expect(!page.html.contains(#"action="/auth/register""#))
        }
    }

    @Test func totpIsAskedAfterThePasswordAndAWrongCodeWarnsByMail() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let secret = TOTP.generateSecret()
        try harness.store.enableMFA(userId: user.id, base32Secret: secret)
        let totp = try #require(TOTP(base32Secret: secret))
        try await harness.test { browser in
            let form = try await browser.get("/auth/login")
            let challenge = try await browser.submit("/auth/login", from: form, [("email", user.email), ("password", "password123")])
            #expect(challenge.status == .ok)
            #expect(browser.cookies["veil_session"] == nil)
            let mfaKey = try #require(challenge.firstMatch(#"name="mfa_key" value="([^"]+)""#))
            let wrong = try await browser.submit("/auth/mfa", from: challenge, [("mfa_key", mfaKey), ("code", "000000")])
            #expect(wrong.status == .badRequest)
            #expect(wrong.html.contains("Wrong code"))
            #expect(harness.outbox.all.contains { $0.text.contains("Failed two-factor login") })
            let tampered = try await browser.submit("/auth/mfa", from: challenge, [("mfa_key", mfaKey + "x"), ("code", totp.code(at: Date()))])
            #expect(tampered.html.contains("Log in again"))
            let good = try await browser.submit("/auth/mfa", from: challenge, [("mfa_key", mfaKey), ("code", totp.code(at: Date()))])
            #expect(good.status == .seeOther)
            #expect(browser.cookies["veil_session"] != nil)
            #expect(try await browser.get("/dashboard/").status == .ok)
        }
    }

    @Test func logoutEndsTheSessionOnTheServer() async throws {
        let harness = try WebHarness()
        try harness.user()
        try await harness.test { browser in
            let dashboard = try await browser.logIn("user@example.com")
            let token = try #require(browser.cookies["veil_session"])
            let out = try await browser.submit("/auth/logout", from: dashboard)
            #expect(out.location == "/auth/login?notice=logged-out")
            #expect(browser.cookies["veil_session"] == nil)
            #expect(try harness.store.webSession(token: token) == nil)
            browser.setCookie("veil_session", token)
            #expect(try await browser.get("/dashboard/").status == .seeOther)
        }
    }

    @Test func aNewPasswordEndsEverySession() throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let (token, _) = try harness.store.createWebSession(userId: user.id, userAgent: nil)
        #expect(try harness.store.webSession(token: token) != nil)
        try harness.store.setPassword(userId: user.id, hash: PasswordRule.hash("another-password", cost: 4))
        #expect(try harness.store.webSession(token: token) == nil)
    }

    @Test func sessionsExpireWhenIdle() throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let start = Date()
        let (token, _) = try harness.store.createWebSession(userId: user.id, userAgent: nil, now: start)
        let later = start.addingTimeInterval(Store.webSessionLifetime - 10)
        #expect(try harness.store.webSession(token: token, now: later) != nil)
        // The use above moved the end forward.
        #expect(try harness.store.webSession(token: token, now: later.addingTimeInterval(Store.webSessionLifetime - 10)) != nil)
        #expect(try harness.store.webSession(token: token, now: later.addingTimeInterval(3 * Store.webSessionLifetime)) == nil)
    }

    @Test func onlyInternalPathsAreFollowedAfterLogin() {
        #expect(Dashboard<APIContextForTests>.safeNext("/dashboard/trash") == "/dashboard/trash")
        for hostile in ["//evil.example/", "https://evil.example/", "/\\evil.example", "", nil] as [String?] {
            #expect(Dashboard<APIContextForTests>.safeNext(hostile) == "/dashboard/")
        }
    }

    @Test func everyPageCarriesTheSecurityHeaders() async throws {
        let harness = try WebHarness()
        try await harness.test { browser in
            let page = try await browser.get("/auth/login")
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(page.headers[.cacheControl] == "no-store")
        }
    }
}

/// The API's context, named for the generic helpers' static tests.
typealias APIContextForTests = APIContext

@Suite struct UnknownPageTests {
    @Test func unknownDashboardPathsAreHTML404sAndAPIPathsStayJSON() async throws {
        let harness = try WebHarness()
        try await harness.test { browser in
            for path in ["/dashboard/nothing", "/dashboard/aliases/1/nothing", "/auth/nothing", "/onboarding/x"] {
                let page = try await browser.get(path)
                #expect(page.status == .notFound, "\(path)")
                #expect(page.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                #expect(page.html.contains("There is no such page."), "\(path)")
            }
            let api = try await browser.get("/api/nothing")
            #expect(api.status == .notFound && api.html.contains(#""error""#) && api.html.contains("Not found"), "\(api.html)")
            // The real pages still win over the catch-all.
            #expect(try await browser.get("/auth/login").status == .ok)
        }
    }
}

@Suite struct ActivationLinkTests {
    @Test func theLinkInTheMailActivatesOnceAndTheCodeStillWorksUntilThen() async throws {
        let harness = try WebHarness()
        try await harness.test { browser in
            let form = try await browser.get("/auth/register")
            try await browser.submit("/auth/register", from: form, [("email", "new@example.com"), ("password", "password123")])
            let mail = try #require(harness.outbox.all.last { $0.to == ["new@example.com"] }?.text)
            #expect(mail.contains("activation code is: "))
            let link = try #require(mail.range(of: #"/auth/activate\?token=[A-Za-z0-9_-]+"#, options: .regularExpression).map { String(mail[$0]) })
            #expect(harness.outbox.activationCode(to: "new@example.com") != nil, "the code is there too")
            let user = try #require(try harness.store.user(email: "new@example.com"))
            #expect(!user.activated)
            let opened = try await browser.get(link)
            #expect(opened.location == "/auth/login?notice=activated")
            #expect(try harness.store.user(email: "new@example.com")?.activated == true)
            let again = try await browser.get(link)
            #expect(again.status == .badRequest && again.html.contains("This link is invalid or has expired"))
            let forged = try await browser.get("/auth/activate?token=AAAAAAAAAAAAAAAAAAAAAA")
            #expect(forged.status == .badRequest)
        }
    }
}
