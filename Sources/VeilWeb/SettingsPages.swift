import Foundation
import Hummingbird
import NIOPosix
import VeilCore
import VeilServices
import VeilStore

/// `/dashboard/setting`: profile, password, two-factor login with recovery codes, the mail
/// preferences, logging out everywhere; and the sudo step sensitive changes go through.
extension Dashboard {
    static var sudoLifetime: TimeInterval { 600 }

    func registerSettingsPages(on web: RouterGroup<Context>) {
        web.get("dashboard/setting") { request, context in try settingsPage(request, context, errors: [:]) }
        web.writing(.post, "dashboard/setting/profile") { request, context in try await updateProfile(request, context) }
        web.writing(.post, "dashboard/setting/preferences") { request, context in try await updatePreferences(request, context) }
        web.writing(.post, "dashboard/setting/password") { request, context in try await changePassword(request, context) }
        web.writing(.post, "dashboard/setting/sessions") { request, context in try await endOtherSessions(request, context) }
        web.writing(.post, "dashboard/setting/email") { request, context in try await changeEmail(request, context) }
        web.writing(.post, "dashboard/setting/picture") { request, context in try await uploadPicture(request, context) }
        web.writing(.post, "dashboard/setting/picture/delete") { request, context in try await removePicture(request, context) }
        web.get("dashboard/profile_picture") { request, context in try profilePicture(request, context) }
        web.get("dashboard/sudo") { request, context in try sudoPage(request, context, error: nil) }
        web.writing(.post, "dashboard/sudo") { request, context in try await enterSudo(request, context) }
        web.get("dashboard/mfa_setup") { request, context in try mfaSetupPage(request, context, error: nil) }
        web.writing(.post, "dashboard/mfa_setup") { request, context in try await confirmMFA(request, context) }
        web.writing(.post, "dashboard/mfa_cancel") { request, context in try await disableMFA(request, context) }
        web.writing(.post, "dashboard/recovery_codes") { request, context in try await regenerateRecoveryCodes(request, context) }
    }

    // MARK: Sudo

    /// Sensitive pages need the password typed again within the last ten minutes.
    func requireSudo(_ request: Request, _ context: Context, returnTo: String) throws -> (user: User, id: Int64, session: WebSession) {
        let signedIn = try requireUser(request, context)
        guard let until = signedIn.session.sudoUntil, until > Date() else {
            throw WebRedirect(location: "/dashboard/sudo?next=" + WebRedirect.encoded(returnTo))
        }
        return signedIn
    }

    func sudoPage(_ request: Request, _ context: Context, error: String?, next: String? = nil) throws -> Response {
        _ = try requireUser(request, context)
        var data: [String: Any] = ["next": Self.safeNext(next ?? request.uri.queryParameters.get("next"))]
        if let error { data["error"] = error }
        return page("sudo", title: "Confirm it is you", data, request: request, context: context, status: error == nil ? .ok : .badRequest)
    }

    func enterSudo(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, _, session) = try requireUser(request, context)
        try allow(context, "sudo", perMinute: 10)
        let next = Self.safeNext(form["next"])
        guard try await services.verifyPassword(form["password"] ?? "", hash: user.passwordHash) else {
            return try sudoPage(request, context, error: "Wrong password.", next: next)
        }
        try store.setWebSudo(sessionId: session.id, until: Date().addingTimeInterval(Self.sudoLifetime))
        return redirect(next)
    }

    // MARK: The settings page

    func settingsPage(_ request: Request, _ context: Context, errors: [String: String], status: HTTPResponse.Status = .ok) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let mfa = try store.mfaSecret(userId: userId)
        let builtIn = services.builtInDomains(for: user)
        let custom = try store.verifiedCustomDomains(userId: userId).map(\.domain)
        let currentDomain = try services.defaultRandomDomain(for: user, userId: userId).domain
        func options<T: RawRepresentable & CaseIterable & Equatable>(_ current: T, _ label: (T) -> String) -> [[String: Any]] where T.RawValue == String {
            T.allCases.map { ["value": $0.rawValue, "label": label($0), "selected": $0 == current] }
        }
        let pendingEmail = try user.defaultMailboxId.flatMap { try store.mailbox(id: $0, userId: userId) }?.newEmail
        var data: [String: Any] = [
            "name": user.name ?? "", "email": user.email,
            "mfaEnabled": mfa?.enabled == true,
            "recoveryCodesLeft": try store.unusedRecoveryCodeCount(userId: userId),
            "generators": options(user.aliasGenerator) { $0 == .word ? "Random words" : "UUID" },
            "senderFormats": options(user.senderFormat, Self.senderFormatLabel),
            "suffixes": options(user.randomAliasSuffix) { $0 == .word ? "A random word" : "Random letters and digits" },
            "blockBehaviours": options(user.blockBehaviour) {
                $0 == .return2xx ? "Accept the mail silently (the sender does not know)" : "Refuse the mail (the sender gets a bounce)"
            },
            "domains": (builtIn + custom).map { ["value": $0, "label": $0, "selected": $0 == currentDomain] as [String: Any] },
            "notification": user.notification,
            "includeSender": user.includeSenderInReverseAlias,
        ]
        if let pendingEmail { data["pendingEmail"] = pendingEmail }
        if let version = try store.profilePictureVersion(userId: userId) { data["pictureVersion"] = version }
        for (field, message) in errors { data[field + "Error"] = message }
        return page("settings", title: "Settings", data, request: request, context: context, status: status)
    }

    static func senderFormatLabel(_ format: SenderFormat) -> String {
        switch format {
        case .at: return "John Wick - john at wick.com"
        case .a: return "John Wick - john(a)wick.com"
        case .nameOnly: return "John Wick"
        case .atOnly: return "john at wick.com"
        case .noName: return "No name, the reverse-alias only"
        }
    }

    func updateProfile(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let name = cleanName(form.text("name"))
        if let name, name.count > 128 {
            return try settingsPage(request, context, errors: ["name": "The name is at most 128 characters."], status: .badRequest)
        }
        _ = try store.updateUser(id: userId) { $0.name = name }
        return redirect("/dashboard/setting", notice: .settingsSaved)
    }

    func updatePreferences(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        var change = SettingChange()
        change.aliasGenerator = form["alias_generator"].flatMap(AliasGenerator.init(rawValue:))
        change.senderFormat = form["sender_format"].flatMap(SenderFormat.init(rawValue:))
        change.randomAliasSuffix = form["random_alias_suffix"].flatMap(RandomAliasSuffix.init(rawValue:))
        change.blockBehaviour = form["block_behaviour"].flatMap(BlockBehaviour.init(rawValue:))
        change.randomAliasDefaultDomain = form["random_alias_default_domain"]
        // A checkbox that is not ticked is not sent: the hidden marker says the form had it.
        if form["checkboxes"] == "1" {
            change.notification = form["notification"] == "on"
            change.includeSenderInReverseAlias = form["include_sender"] == "on"
        }
        do {
            _ = try services.applySettings(change, user: user, userId: userId)
        } catch let refusal as SettingRefusal {
            return try settingsPage(request, context, errors: ["preferences": refusal.message], status: .badRequest)
        }
        return redirect("/dashboard/setting", notice: .settingsSaved)
    }

    func changePassword(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, session) = try requireUser(request, context)
        try allow(context, "password", perMinute: 10)
        guard try await services.verifyPassword(form["current_password"] ?? "", hash: user.passwordHash) else {
            return try settingsPage(request, context, errors: ["password": "The current password is wrong."], status: .badRequest)
        }
        let password = form["new_password"] ?? ""
        guard (PasswordRule.minLength...PasswordRule.maxLength).contains(password.count) else {
            return try settingsPage(request, context, errors: ["password": "The new password needs 8 to 100 characters."], status: .badRequest)
        }
        let cost = configuration.passwordCost
        let hash = try await NIOThreadPool.singleton.runIfActive { PasswordRule.hash(password, cost: cost) }
        try store.setPassword(userId: userId, hash: hash, keepingSession: session.id)
        return redirect("/dashboard/setting", notice: .passwordUpdated)
    }

    /// The new address is the account's once the link sent to it is opened: it is kept as the
    /// pending address of the default mailbox, which carries the account's address.
    func changeEmail(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireSudo(request, context, returnTo: "/dashboard/setting")
        guard services.rateLimiter.allow("email-change:\(userId)", limits: [(5, .seconds(3600))]) else {
            throw WebFailure(status: .tooManyRequests, message: "Too many changes. Wait an hour and try again.")
        }
        let email = EmailAddress.sanitize(form.text("email") ?? "")
        if email == user.email.lowercased() {
            return try settingsPage(request, context, errors: ["email": "This is already your address."], status: .badRequest)
        }
        if let problem = try services.mailboxProblem(email) {
            return try settingsPage(request, context, errors: ["email": problem], status: .badRequest)
        }
        guard let mailboxId = user.defaultMailboxId, let mailbox = try store.mailbox(id: mailboxId, userId: userId),
              mailbox.email.lowercased() == user.email.lowercased()
        else {
            return try settingsPage(request, context, errors: ["email": "Make the mailbox with your account's address the default one first."],
                                    status: .badRequest)
        }
        _ = try store.updateMailbox(id: mailboxId, userId: userId) { $0.newEmail = email }
        try await mailer.sendMailboxVerification(userId: userId, mailboxId: mailboxId, to: email)
        return redirect("/dashboard/setting", notice: .emailChangeSent)
    }

    static var pictureLimit: Int { 2 * 1024 * 1024 }

    func uploadPicture(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await multipartForm(request, context, limit: Self.pictureLimit + 64 * 1024)
        let (_, userId, _) = try requireUser(request, context)
        guard let part = form["picture"], !part.body.isEmpty, part.body.count <= Self.pictureLimit,
              let type = ImageType.detect(Data(part.body))
        else {
            return try settingsPage(request, context, errors: ["picture": "Choose a PNG, JPEG, GIF or WebP image of at most 2 MB."],
                                    status: .badRequest)
        }
        try store.setProfilePicture(userId: userId, data: Data(part.body), type: type)
        return redirect("/dashboard/setting", notice: .settingsSaved)
    }

    func removePicture(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        try store.setProfilePicture(userId: userId, data: nil, type: nil)
        return redirect("/dashboard/setting", notice: .settingsSaved)
    }

    /// The signed-in user's own picture (the page asks with its version, so a new one shows at once).
    func profilePicture(_ request: Request, _ context: Context) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        guard let picture = try store.profilePicture(userId: userId) else {
            throw WebFailure(status: .notFound, message: "There is no profile picture.")
        }
        return Response(status: .ok, headers: [.contentType: picture.type, .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: ByteBuffer(bytes: picture.data)))
    }

    func endOtherSessions(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, session) = try requireUser(request, context)
        try store.deleteWebSessions(userId: userId, keeping: session.id)
        return redirect("/dashboard/setting", notice: .sessionsEnded)
    }

    // MARK: Two-factor login

    /// A new secret each time the page is opened until one is confirmed with a code; the QR code
    /// and the secret as text for apps that cannot scan.
    func mfaSetupPage(_ request: Request, _ context: Context, error: String?) throws -> Response {
        let (user, userId, _) = try requireSudo(request, context, returnTo: "/dashboard/mfa_setup")
        if try store.mfaSecret(userId: userId)?.enabled == true { return redirect("/dashboard/setting") }
        let secret: String
        if error != nil, let pending = try store.mfaSecret(userId: userId), !pending.enabled {
            secret = pending.base32Secret
        } else {
            secret = TOTP.generateSecret()
            try store.setPendingMFA(userId: userId, base32Secret: secret)
        }
        let uri = Self.otpauthURI(secret: secret, account: user.email, issuer: Self.issuer(configuration.publicURL))
        var data: [String: Any] = ["secret": Self.grouped(secret), "uri": uri]
        if let svg = QRCode.svg(uri, label: "QR code of the two-factor secret") { data["qr"] = svg }
        if let error { data["error"] = error }
        return page("mfa_setup", title: "Two-factor login", data, request: request, context: context, status: error == nil ? .ok : .badRequest)
    }

    static func issuer(_ publicURL: String) -> String {
        URL(string: publicURL)?.host ?? "Veil"
    }

    static func otpauthURI(secret: String, account: String, issuer: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        let label = (issuer + ":" + account).addingPercentEncoding(withAllowedCharacters: allowed) ?? account
        let issuerParameter = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? "Veil"
        return "otpauth://totp/\(label)?secret=\(secret)&issuer=\(issuerParameter)&algorithm=SHA1&digits=6&period=30"
    }

    /// The secret in groups of four, easier to type.
    static func grouped(_ secret: String) -> String {
        var groups: [String] = []
        var rest = Substring(secret)
        while !rest.isEmpty {
            groups.append(String(rest.prefix(4)))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: " ")
    }

    func confirmMFA(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (_, userId, _) = try requireSudo(request, context, returnTo: "/dashboard/mfa_setup")
        try allow(context, "mfa-setup", perMinute: 10)
        guard let pending = try store.mfaSecret(userId: userId), !pending.enabled, let totp = TOTP(base32Secret: pending.base32Secret) else {
            return redirect("/dashboard/setting")
        }
        let code = (form["code"] ?? "").filter { !$0.isWhitespace }
        let now = Date()
        guard let step = totp.matchingCounter(code, at: now) else {
            return try mfaSetupPage(request, context, error: "This code does not match. Check the time on your phone and try the current code.")
        }
        try store.enableMFA(userId: userId, base32Secret: pending.base32Secret, now: now)
        _ = try store.acceptTOTPStep(userId: userId, step: step)
        let codes = try store.newRecoveryCodes(userId: userId, now: now)
        return page("recovery_codes", title: "Recovery codes", ["codes": codes, "enabled": true], request: request, context: context)
    }

    func disableMFA(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireSudo(request, context, returnTo: "/dashboard/setting")
        try store.disableMFA(userId: userId)
        return redirect("/dashboard/setting", notice: .mfaDisabled)
    }

    func regenerateRecoveryCodes(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireSudo(request, context, returnTo: "/dashboard/setting")
        guard try store.mfaSecret(userId: userId)?.enabled == true else { return redirect("/dashboard/setting") }
        let codes = try store.newRecoveryCodes(userId: userId)
        return page("recovery_codes", title: "Recovery codes", ["codes": codes], request: request, context: context)
    }
}
