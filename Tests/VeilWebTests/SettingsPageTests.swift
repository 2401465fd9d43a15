import Foundation
import HTTPTypes
import Testing
import VeilAPI
import VeilCore
import VeilStore
@testable import VeilWeb

@Suite struct SettingsPageTests {
    @Test func mfaNeedsSudoThenAConfirmingCodeAndGivesRecoveryCodesThatWorkOnce() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let settings = try await browser.get("/dashboard/setting")
            #expect(settings.html.contains("Off. A code from your phone"))

            // Sensitive: the password again first.
            let gate = try await browser.get("/dashboard/mfa_setup")
            #expect(gate.status == .seeOther && gate.location == "/dashboard/sudo?next=/dashboard/mfa_setup")
            let sudo = try await browser.get(try #require(gate.location))
            let wrong = try await browser.submit("/dashboard/sudo", from: sudo, [("password", "nope"), ("next", "/dashboard/mfa_setup")])
            #expect(wrong.status == .badRequest && wrong.html.contains("Wrong password."))
            let passed = try await browser.submit("/dashboard/sudo", from: sudo, [("password", "password123"), ("next", "/dashboard/mfa_setup")])
            #expect(passed.location == "/dashboard/mfa_setup")

            let setup = try await browser.get("/dashboard/mfa_setup")
            #expect(setup.status == .ok)
            #expect(setup.html.contains("<svg"), "a QR code is drawn")
            let shown = try #require(setup.firstMatch(#"<code id="mfa-secret">([A-Z2-7 ]+)</code>"#))
            let secret = shown.replacingOccurrences(of: " ", with: "")
            let pending = try #require(try harness.store.mfaSecret(userId: user.id))
            #expect(pending.base32Secret == secret && !pending.enabled)
            let totp = try #require(TOTP(base32Secret: secret))

            let bad = try await browser.submit("/dashboard/mfa_setup", from: setup, [("code", "000000")])
            #expect(bad.status == .badRequest)
            #expect(bad.html.contains(shown), "the same secret is shown again after a wrong code")
            #expect(try harness.store.mfaSecret(userId: user.id)?.enabled == false)

            let done = try await browser.submit("/dashboard/mfa_setup", from: setup, [("code", totp.code(at: Date()))])
            #expect(done.status == .ok)
            let codes = done.allMatches(#"<li><code>([a-z0-9-]+)</code></li>"#)
            #expect(codes.count == 8)
            #expect(try harness.store.mfaSecret(userId: user.id)?.enabled == true)
            #expect(try harness.store.unusedRecoveryCodeCount(userId: user.id) == 8)

            // Logging in again asks for a code; a recovery code works once.
            let home = try await browser.get("/dashboard/")
            try await browser.submit("/auth/logout", from: home)
            let form = try await browser.get("/auth/login")
            let challenge = try await browser.submit("/auth/login", from: form, [("email", user.email), ("password", "password123")])
            let mfaKey = try #require(challenge.firstMatch(#"name="mfa_key" value="([^"]+)""#))
            let recovered = try await browser.submit("/auth/mfa", from: challenge, [("mfa_key", mfaKey), ("code", codes[0].uppercased())])
            #expect(recovered.status == .seeOther)
            #expect(try harness.store.unusedRecoveryCodeCount(userId: user.id) == 7)
            let after = try await browser.get("/dashboard/setting")
            #expect(after.html.contains("On. 7 unused recovery codes."))
            try await browser.submit("/auth/logout", from: after)
            let again = try await browser.submit("/auth/login", from: form, [("email", user.email), ("password", "password123")])
            let reused = try await browser.submit("/auth/mfa", from: again, [("mfa_key", mfaKey), ("code", codes[0])])
            #expect(reused.status == .badRequest, "a recovery code is spent once used")
        }
    }

    @Test func disablingMFANeedsSudoAndRemovesTheCodes() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let secret = TOTP.generateSecret()
        try harness.store.enableMFA(userId: user.id, base32Secret: secret)
        _ = try harness.store.newRecoveryCodes(userId: user.id)
        let session = try harness.store.createWebSession(userId: user.id, userAgent: nil)
        try await harness.test { browser in
            browser.setCookie("veil_session", session.token)
            let settings = try await browser.get("/dashboard/setting")
            let gated = try await browser.submit("/dashboard/mfa_cancel", from: settings)
            #expect(gated.location?.hasPrefix("/dashboard/sudo?next=") == true)
            #expect(try harness.store.mfaSecret(userId: user.id)?.enabled == true)
            let sudo = try await browser.get(try #require(gated.location))
            try await browser.submit("/dashboard/sudo", from: sudo, [("password", "password123"), ("next", "/dashboard/setting")])
            let off = try await browser.submit("/dashboard/mfa_cancel", from: settings)
            #expect(off.location == "/dashboard/setting?notice=mfa-disabled")
            #expect(try harness.store.mfaSecret(userId: user.id) == nil)
            #expect(try harness.store.unusedRecoveryCodeCount(userId: user.id) == 0)
        }
    }

    @Test func passwordChangeKeepsThisSessionAndEndsTheOthers() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let elsewhere = try harness.store.createWebSession(userId: user.id, userAgent: "old laptop")
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let settings = try await browser.get("/dashboard/setting")
            let wrong = try await browser.submit("/dashboard/setting/password", from: settings,
                                                 [("current_password", "nope"), ("new_password", "a new password")])
            #expect(wrong.status == .badRequest && wrong.html.contains(#"id="password-error">The current password is wrong."#))
            let short = try await browser.submit("/dashboard/setting/password", from: settings,
                                                 [("current_password", "password123"), ("new_password", "short")])
            #expect(short.status == .badRequest)
            let changed = try await browser.submit("/dashboard/setting/password", from: settings,
                                                   [("current_password", "password123"), ("new_password", "a new password")])
            #expect(changed.location == "/dashboard/setting?notice=password-updated")
            #expect(try harness.store.webSession(token: elsewhere.token) == nil)
            #expect(try await browser.get("/dashboard/setting").status == .ok, "this session stays")
            let hash = try #require(try harness.store.user(id: user.id)?.passwordHash)
            #expect(PasswordRule.verify("a new password", hash: hash))
        }
    }

    @Test func preferencesAndProfileRoundTrip() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let settings = try await browser.get("/dashboard/setting")
            #expect(settings.html.contains(#"<option value="word" selected>Random words</option>"#))
            #expect(settings.html.contains(#"id="notification" checked"#))
            let saved = try await browser.submit("/dashboard/setting/preferences", from: settings, [
                ("checkboxes", "1"), ("alias_generator", "uuid"), ("sender_format", "NAME_ONLY"),
                ("random_alias_suffix", "random_string"), ("block_behaviour", "return_5xx"),
                ("random_alias_default_domain", "veil.test"), ("include_sender", "on"),
            ])
            #expect(saved.location == "/dashboard/setting?notice=settings-saved")
            let stored = try #require(try harness.store.user(id: user.id))
            #expect(stored.aliasGenerator == .uuid && stored.senderFormat == .nameOnly && stored.randomAliasSuffix == .randomString)
            #expect(stored.blockBehaviour == .return5xx && stored.includeSenderInReverseAlias && !stored.notification)
            let shown = try await browser.get("/dashboard/setting")
            #expect(shown.html.contains(#"<option value="uuid" selected>UUID</option>"#))
            #expect(!shown.html.contains(#"id="notification" checked"#))

            let badDomain = try await browser.submit("/dashboard/setting/preferences", from: settings, [
                ("checkboxes", "1"), ("alias_generator", "word"), ("random_alias_default_domain", "evil.example"),
            ])
            #expect(badDomain.status == .badRequest && badDomain.html.contains("invalid domain"))
            #expect(try harness.store.user(id: user.id)?.aliasGenerator == .uuid, "a refused change changes nothing")

            try await browser.submit("/dashboard/setting/profile", from: settings, [("name", "Ada\nLovelace")])
            #expect(try harness.store.user(id: user.id)?.name == "AdaLovelace")
        }
    }

    @Test func logOutEverywhereElse() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let elsewhere = try harness.store.createWebSession(userId: user.id, userAgent: "phone")
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let settings = try await browser.get("/dashboard/setting")
            let ended = try await browser.submit("/dashboard/setting/sessions", from: settings)
            #expect(ended.location == "/dashboard/setting?notice=sessions-ended")
            #expect(try harness.store.webSession(token: elsewhere.token) == nil)
            #expect(try await browser.get("/dashboard/setting").status == .ok)
        }
    }

    @Test func theQRCodeEncodesTheOtpauthURI() throws {
        let uri = Dashboard<VeilAPI.APIContext>.otpauthURI(secret: "JBSWY3DPEHPK3PXP", account: "ada+x@example.com", issuer: "veil.test")
        #expect(uri == "otpauth://totp/veil.test%3Aada%2Bx@example.com?secret=JBSWY3DPEHPK3PXP&issuer=veil.test&algorithm=SHA1&digits=6&period=30")
        let code = try #require(QRCode.modules(uri))
        // Version 5 and up for this length; every QR code is 17 + 4 × version modules wide.
        #expect((code.width - 17) % 4 == 0 && code.width >= 37)
        #expect(code.dark.count == code.width * code.width)
        // The three finder patterns: 7 × 7 dark rings at the corners.
        for (row, column) in [(0, 0), (0, code.width - 7), (code.width - 7, 0)] {
            #expect(code.dark[row * code.width + column] && code.dark[(row + 6) * code.width + column + 6])
            #expect(!code.dark[(row + 1) * code.width + column + 1])
        }
        #expect(QRCode.svg(uri, label: "x")?.hasPrefix("<svg") == true)
    }
}

@Suite struct EmailChangeTests {
    @Test func theAccountsAddressChangesOnceTheNewOneIsVerified() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        _ = try harness.user("taken@example.com")
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let sudo = try await browser.get("/dashboard/sudo?next=/dashboard/setting")
            try await browser.submit("/dashboard/sudo", from: sudo, [("password", "password123"), ("next", "/dashboard/setting")])
            let settings = try await browser.get("/dashboard/setting")
            let taken = try await browser.submit("/dashboard/setting/email", from: settings, [("email", "taken@example.com")])
            #expect(taken.status == .badRequest && taken.html.contains("Email already used"))
            let aliasDomain = try await browser.submit("/dashboard/setting/email", from: settings, [("email", "me@veil.test")])
            #expect(aliasDomain.status == .badRequest)
            let asked = try await browser.submit("/dashboard/setting/email", from: settings, [("email", "New@Example.org")])
            #expect(asked.location == "/dashboard/setting?notice=email-change-sent")
            #expect(try harness.store.user(id: user.id)?.email == "user@example.com", "not before the link is opened")
            #expect(try await browser.get("/dashboard/setting").html.contains("Waiting for you to open the link sent to new@example.org."))
            let mail = try #require(harness.outbox.all.last { $0.to == ["new@example.org"] })
            let link = try #require(mail.text.range(of: #"/mailbox/verify\?token=[A-Za-z0-9_-]+"#, options: .regularExpression).map { String(mail.text[$0]) })
            #expect(try await browser.get(link).status == .ok)
            #expect(try harness.store.user(id: user.id)?.email == "new@example.org")
            #expect(try harness.store.mailbox(id: user.mailboxId, userId: user.id)?.email == "new@example.org")
            let home = try await browser.get("/dashboard/")
            try await browser.submit("/auth/logout", from: home)
            try await browser.logIn("new@example.org")
        }
    }

    @Test func changingTheAddressNeedsSudo() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        try await harness.test { browser in
            let home = try await browser.logIn(user.email)
            let gated = try await browser.submit("/dashboard/setting/email", from: home, [("email", "new@example.org")])
            #expect(gated.location?.hasPrefix("/dashboard/sudo") == true)
            #expect(try harness.store.mailbox(id: user.mailboxId, userId: user.id)?.newEmail == nil)
        }
    }
}
