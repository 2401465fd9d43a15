import Foundation
import VeilCore
import VeilStore

/// Hands a finished message to the outbound relay. The `veil` binary wires the SMTP client in;
/// the API and the dashboard know nothing about SMTP.
public protocol Mailer: Sendable {
    func send(from: String, to: [String], message: [UInt8]) async throws
}

/// Writes and sends the account e-mails: activation codes, verification and reset links, warnings.
public struct AccountMailer: Sendable {
    public let store: Store
    public let mailer: any Mailer
    public let publicURL: String
    public let sender: String

    public init(store: Store, mailer: any Mailer, publicURL: String, emailDomain: String) {
        self.store = store
        self.mailer = mailer
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.sender = "noreply@" + emailDomain
    }

    /// A plain-text RFC 5322 message with CRLF line ends.
    public func compose(to: String, subject: String, text: String) -> [UInt8] {
        let date = Date()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let domain = EmailAddress.domain(of: sender) ?? "localhost"
        let encodedSubject = subject.allSatisfy(\.isASCII) ? subject : EncodedWord.qEncode(subject)
        let headers = [
            "From: Veil <\(sender)>",
            "To: \(to)",
            "Subject: \(encodedSubject)",
            "Date: \(formatter.string(from: date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "Auto-Submitted: auto-generated",
        ]
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n").utf8)
    }

    public func send(to: String, subject: String, text: String) async throws {
        try await mailer.send(from: sender, to: [to], message: compose(to: to, subject: subject, text: text))
    }

    /// A code to type (the apps' way) and a link to open (the dashboard's). The link is kept
    /// under the account's mailbox so that issuing it does not cancel the code.
    public func sendActivationCode(userId: Int64, to email: String) async throws {
        let code = try store.issueCode(purpose: .accountActivation, policy: .activation, userId: userId, recipient: email)
        let mailboxId = try store.user(id: userId)?.defaultMailboxId
        let token = try store.issueCode(purpose: .accountActivation, policy: .link, userId: userId, mailboxId: mailboxId,
                                        channel: .link, recipient: email)
        try await send(to: email, subject: "Your Veil activation code", text: """
            Hi,

            Your activation code is: \(code)

            Enter it in the app to activate your account, or open this link:
            \(publicURL)/auth/activate?token=\(token)

            If you did not sign up, ignore this e-mail.
            """)
    }

    public func sendMailboxVerification(userId: Int64, mailboxId: Int64?, to email: String) async throws {
        let token = try store.issueCode(purpose: .mailboxVerification, policy: .link, userId: userId, mailboxId: mailboxId,
                                        channel: .link, recipient: email)
        try await send(to: email, subject: "Confirm your mailbox \(email)", text: """
            Hi,

            Please confirm that \(email) is yours and may receive mail forwarded by Veil:

            \(publicURL)/mailbox/verify?token=\(token)

            The link is valid for 24 hours.
            """)
    }

    public func sendPasswordReset(userId: Int64, to email: String) async throws {
        let token = try store.issueCode(purpose: .passwordReset, policy: .passwordReset, userId: userId, channel: .link, recipient: email)
        try await send(to: email, subject: "Reset your Veil password", text: """
            Hi,

            Someone asked to reset the password of your Veil account. To choose a new one, open:

            \(publicURL)/auth/reset_password?token=\(token)

            The link is valid for one hour. If it was not you, ignore this e-mail.
            """)
    }

    public func sendFailedTOTPWarning(to email: String) async throws {
        try await send(to: email, subject: "Failed two-factor login on your Veil account", text: """
            Hi,

            Someone entered your password correctly but a wrong two-factor code. If it was not you,
            change your password now.
            """)
    }

    public func sendWelcome(to email: String) async throws {
        try await send(to: email, subject: "Welcome to Veil", text: """
            Hi,

            Your Veil account is ready. Create an alias for every website and keep your address to yourself.
            """)
    }

    public func sendNewMailboxNotice(to accountEmail: String, mailbox: String) async throws {
        try await send(to: accountEmail, subject: "Mailbox \(mailbox) added", text: """
            Hi,

            The mailbox \(mailbox) has been verified and added to your Veil account.
            """)
    }
}
