import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI

@Suite struct AccountAPITests {
    @Test func userInfoOfATrialUserHasTheExactShape() async throws {
        let harness = try await Harness()
        let user = try harness.user(trial: true)
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/user_info", key: user.key)
            #expect(reply.status == .ok)
            #expect(keys(reply.json) == ["can_create_reverse_alias", "connected_proton_address", "email", "in_trial", "is_premium",
                                         "max_alias_free_plan", "name", "profile_picture_url", "trial_end_timestamp"])
            #expect(reply["is_premium"] == true && reply["in_trial"] == true)
            #expect(reply["name"] == "Test User" && reply["email"] == "user@example.com")
            #expect(reply["trial_end_timestamp"]?.int != nil)
            #expect(reply["profile_picture_url"] == .null && reply["connected_proton_address"] == .null)
            #expect(reply["max_alias_free_plan"] == 5 && reply["can_create_reverse_alias"] == true)
        }
    }

    @Test func userInfoWithoutTrialHasNullTrialEnd() async throws {
        let harness = try await Harness()
        let user = try harness.user(name: nil)
        try await harness.test { (client: Client) async throws in
            let reply = try await client.get("/api/user_info", key: user.key)
            #expect(reply["trial_end_timestamp"] == .null && reply["in_trial"] == false && reply["is_premium"] == false)
            #expect(reply["name"] == "")
        }
    }

    @Test func patchUserInfoNameAndPicture() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]).base64EncodedString()
        try await harness.test { (client: Client) async throws in
            let named = try await client.patch("/api/user_info", key: user.key, json: #"{"name": "new name"}"#)
            #expect(named.status == .ok && named["name"] == "new name")
            let pictured = try await client.patch("/api/user_info", key: user.key, json: "{\"profile_picture\": \"\(png)\"}")
            let url = try #require(pictured["profile_picture_url"]?.string)
            #expect(url.hasPrefix("https://veil.test/profile_picture/"))
            let path = String(url.dropFirst("https://veil.test".count))
            let served = try await client.get(path)
            #expect(served.status == .ok && served.headers[.contentType] == "image/png")
            #expect(try await client.get(path + "x").status == .notFound)
            #expect(try await client.get("/profile_picture/\(user.id).000000.AAAA").status == .notFound)
            let notImage = try await client.patch("/api/user_info", key: user.key, json: #"{"profile_picture": "aGVsbG8="}"#)
            #expect(notImage.status == .badRequest && notImage.error == "Unsupported image format")
            let removed = try await client.patch("/api/user_info", key: user.key, json: #"{"profile_picture": null}"#)
            #expect(removed["profile_picture_url"] == .null)
        }
    }

    @Test func sudoGuardsApiKeyCreationAndAccountDeletion() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try await harness.test { (client: Client) async throws in
            let withoutSudo = try await client.post("/api/api_key", key: user.key, json: #"{"device": "phone"}"#)
            #expect(withoutSudo.status.code == 440 && withoutSudo.error == "Need sudo")
            #expect(try await client.delete("/api/user", key: user.key).status.code == 440)
            #expect(try harness.store.pendingJobs(named: "delete_account").isEmpty)
            let wrong = try await client.patch("/api/sudo", key: user.key, json: #"{"password": "invalid"}"#)
            #expect(wrong.status == .forbidden && wrong.error == "Invalid password")
            let sudo = try await client.patch("/api/sudo", key: user.key, json: #"{"password": "password123"}"#)
            #expect(sudo.status == .ok && sudo.text == "{\"ok\": true}")
            let created = try await client.post("/api/api_key", key: user.key, json: #"{"device": "phone"}"#)
            #expect(created.status == .created)
            let newKey = try #require(created["api_key"]?.string)
            #expect(try await client.get("/api/user_info", key: newKey).status == .ok)
            #expect(try await client.delete("/api/user", key: user.key).status == .ok)
            #expect(try harness.store.pendingJobs(named: "delete_account").count == 1)
        }
    }

    @Test func logoutAndStats() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        try harness.alias(user, "one@veil.test")
        try await harness.test { (client: Client) async throws in
            let logout = try await client.get("/api/logout", key: user.key)
            #expect(logout.status == .ok && logout["msg"] == "User is logged out")
            let stats = try await client.get("/api/stats", key: user.key)
            #expect(stats.json == ["nb_alias": 1, "nb_block": 0, "nb_forward": 0, "nb_reply": 0])
        }
    }
}

@Suite struct AuthAPITests {
    @Test func loginReturnsTheSameKeyPerDevice() async throws {
        let harness = try await Harness()
        try harness.user()
        try await harness.test { (client: Client) async throws in
            let body = #"{"email": "User@Example.com", "password": "password123", "device": "Test Device"}"#
            let first = try await client.post("/api/auth/login", json: body)
            #expect(first.status == .ok)
            #expect(keys(first.json) == ["api_key", "email", "mfa_enabled", "mfa_key", "name"])
            #expect(first["name"] == "Test User" && first["mfa_enabled"] == false && first["mfa_key"] == .null)
            let key = try #require(first["api_key"]?.string)
            let second = try await client.post("/api/auth/login", json: body)
            #expect(second["api_key"]?.string == key)
            #expect(try await client.get("/api/user_info", key: key).status == .ok)
            let other = try await client.post("/api/auth/login", json: #"{"email": "user@example.com", "password": "password123", "device": "Other"}"#)
            #expect(other["api_key"]?.string != key)
        }
    }

    @Test func loginErrors() async throws {
        let harness = try await Harness()
        try harness.user()
        let inactive = try harness.store.createUser(email: "new@example.com", name: nil, passwordHash: PasswordRule.hash("password123", cost: 4),
                                                    activated: false, isPremium: false)
        _ = inactive
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/auth/login").error == "request body cannot be empty")
            #expect(try await client.post("/api/auth/login", json: "{}").error == "request body cannot be empty")
            let wrong = try await client.post("/api/auth/login", json: #"{"email": "user@example.com", "password": "nope"}"#)
            #expect(wrong.status == .badRequest && wrong.error == "Email or password incorrect")
            let unknown = try await client.post("/api/auth/login", json: #"{"email": "who@example.com", "password": "password123"}"#)
            #expect(unknown.error == "Email or password incorrect")
            let notActivated = try await client.post("/api/auth/login", json: #"{"email": "new@example.com", "password": "password123"}"#)
            #expect(notActivated.status == .unprocessableContent && notActivated.error == "Account not activated")
        }
    }

    @Test func loginIsRateLimitedPerClient() async throws {
        let harness = try await Harness(rateLimits: true)
        try harness.user()
        try await harness.test { (client: Client) async throws in
            var statuses: [Int] = []
            for _ in 0..<11 {
                statuses.append(try await client.post("/api/auth/login", json: #"{"email": "user@example.com", "password": "wrong"}"#).status.code)
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == 400 })
            #expect(statuses.last == 429)
        }
    }

    @Test func mfaLoginWithTOTP() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let secret = TOTP.generateSecret()
        try harness.store.enableMFA(userId: user.id, base32Secret: secret)
        try await harness.test { (client: Client) async throws in
            let login = try await client.post("/api/auth/login", json: #"{"email": "user@example.com", "password": "password123", "device": "d"}"#)
            #expect(login["mfa_enabled"] == true && login["api_key"] == .null)
            let mfaKey = try #require(login["mfa_key"]?.string)
            let forged = try await client.post("/api/auth/mfa", json: "{\"mfa_token\": \"123456\", \"mfa_key\": \"\(user.id).1.AAAA\", \"device\": \"d\"}")
            #expect(forged.status == .badRequest && forged.error == "Invalid mfa_key")
            let totp = try #require(TOTP(base32Secret: secret))
            let now = Date()
            let bad = totp.code(at: now.addingTimeInterval(3600))
            let wrong = try await client.post("/api/auth/mfa", json: "{\"mfa_token\": \"\(bad)\", \"mfa_key\": \"\(mfaKey)\", \"device\": \"d\"}")
            #expect(wrong.error == "Wrong TOTP Token")
            let token = totp.code(at: now)
            let ok = try await client.post("/api/auth/mfa", json: "{\"mfa_token\": \"\(token)\", \"mfa_key\": \"\(mfaKey)\", \"device\": \"Test Device\"}")
            #expect(ok.status == .ok && ok["name"] == "Test User" && ok["email"] == "user@example.com")
            #expect(ok["api_key"]?.string?.isEmpty == false)
            let replay = try await client.post("/api/auth/mfa", json: "{\"mfa_token\": \"\(token)\", \"mfa_key\": \"\(mfaKey)\", \"device\": \"d\"}")
            #expect(replay.error == "Wrong TOTP Token")
            let warnings = try await harness.sink.waitForMessages(2)
            #expect(warnings.filter { header("Subject", in: $0.data)?.contains("Failed two-factor") == true }.count == 2)
        }
    }

    @Test func registerValidatesAndSendsACode() async throws {
        let harness = try await Harness()
        try harness.user("taken@example.com")
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/auth/register", json: #"{"email": "a@example.com", "password": "short"}"#).error == "password too short")
            let long = String(repeating: "p", count: 110)
            #expect(try await client.post("/api/auth/register", json: "{\"email\": \"a@example.com\", \"password\": \"\(long)\"}").error == "password too long")
            #expect(try await client.post("/api/auth/register", json: #"{"email": "taken@example.com", "password": "password"}"#).error
                == "cannot use taken@example.com as personal inbox")
            #expect(try await client.post("/api/auth/register", json: #"{"email": "x@veil.test", "password": "password"}"#).error
                == "cannot use x@veil.test as personal inbox")
            let ok = try await client.post("/api/auth/register", json: #"{"email": "New@Example.com", "password": "password"}"#)
            #expect(ok.status == .ok && ok["msg"] == "User needs to confirm their account")
            let user = try #require(try harness.store.user(email: "new@example.com"))
            #expect(user.activated == false && user.inTrial(at: Date()))
            // The code to type (3 tries) and the link to open (the dashboard's, 5 tries).
            #expect(try harness.store.pendingCodeTries(userId: try #require(user.id), purpose: .accountActivation).sorted() == [3, 5])
            let mail = try #require(try await harness.sink.waitForMessages(1).first)
            #expect(mail.recipients == ["new@example.com"])
            #expect(sixDigits(in: mail.data) != nil)
        }
    }

    @Test func registrationCanBeClosed() async throws {
        let harness = try await Harness(registrationOpen: false)
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/auth/register", json: #"{"email": "a@example.com", "password": "password"}"#).error
                == "registration is closed")
        }
    }

    @Test func activationAllowsThreeTriesThen410() async throws {
        let harness = try await Harness()
        try await harness.test { (client: Client) async throws in
            _ = try await client.post("/api/auth/register", json: #"{"email": "a@example.com", "password": "password"}"#)
            let code = try #require(sixDigits(in: try await harness.sink.waitForMessages(1).first?.data))
            let wrong = code == "000000" ? "111111" : "000000"
            let attempt = { (code: String) in try await client.post("/api/auth/activate", json: "{\"email\": \"a@example.com\", \"code\": \"\(code)\"}") }
            #expect(try await attempt(wrong).status == .badRequest)
            #expect(try await attempt(wrong).error == "Wrong email or code")
            let third = try await attempt(wrong)
            #expect(third.status == .gone && third.error == "Too many wrong tries")
            #expect(try await attempt(code).status == .badRequest)
            let reactivate = try await client.post("/api/auth/reactivate", json: #"{"email": "a@example.com"}"#)
            #expect(reactivate.status == .ok)
            let mails = try await harness.sink.waitForMessages(2)
            let fresh = try #require(sixDigits(in: mails.last?.data))
            let activated = try await attempt(fresh)
            #expect(activated.status == .ok && activated["msg"] == "Account is activated, user can login now")
            #expect(try await attempt(fresh).status == .badRequest)
            #expect(try await client.post("/api/auth/activate", json: #"{"email": "who@example.com", "code": "123456"}"#).error == "Wrong email or code")
            #expect(try await client.post("/api/auth/reactivate", json: #"{"email": "a@example.com"}"#).error == "Something went wrong")
        }
    }

    @Test func forgotPasswordNeverTellsAndSendsALink() async throws {
        let harness = try await Harness()
        try harness.user()
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/auth/forgot_password", json: #"{"email": "who@example.com"}"#).json == ["ok": true])
            #expect(try await client.post("/api/auth/forgot_password", json: #"{"email": "user@example.com"}"#).json == ["ok": true])
            #expect(try await client.post("/api/auth/forgot_password").error == "request body must contain email")
            let mails = try await harness.sink.waitForMessages(1)
            #expect(mails.count == 1 && mails[0].recipients == ["user@example.com"])
            let link = try #require(mails[0].data.range(of: "https://veil.test/auth/reset_password\\?token=[A-Za-z0-9_-]+", options: .regularExpression)
                .map { String(mails[0].data[$0]) })
            let path = String(link.dropFirst("https://veil.test".count))
            let form = try await client.get(path)
            #expect(form.status == .ok && form.text.contains("<form"))
            let token = String(path.split(separator: "=").last ?? "")
            let set = try await client.call(.post, "/auth/reset_password", json: nil,
                                            headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(set.status == .ok)  // the form again: no password given
            _ = token
        }
    }

    @Test func socialLoginIsOffUntilConfigured() async throws {
        let harness = try await Harness()
        try await harness.test { (client: Client) async throws in
            #expect(try await client.post("/api/auth/google", json: #"{"google_token": "x", "device": "d"}"#).error == "invalid login mechanism")
            #expect(try await client.post("/api/auth/facebook", json: #"{"facebook_token": "x"}"#).error == "invalid login mechanism")
        }
    }
}

/// The activation code in a caught message.
func sixDigits(in text: String?) -> String? {
    guard let text, let range = text.range(of: "code is: [0-9]{6}", options: .regularExpression) else { return nil }
    return String(text[range].suffix(6))
}
