import Foundation
import Hummingbird
import NIOPosix
import VeilCore
import VeilServices
import VeilStore

/// The two small pages that links in Veil's e-mails open: confirm a mailbox, set a new password.
struct WebPages {
    let services: Services
    let notifier: AccountMailer
    let passwordCost: UInt8
    var store: Store { services.store }

    func register(on router: Router<APIContext>) {
        router.writing(.get, "mailbox/verify") { request, _ in try await verifyMailbox(request) }
        router.get("auth/reset_password") { request, _ in resetForm(token: request.uri.queryParameters.get("token") ?? "", message: nil) }
        router.writing(.post, "auth/reset_password") { request, context in try await resetPassword(request, context) }
    }

    static func page(_ title: String, _ body: String, status: HTTPResponse.Status = .ok) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>\(escape(title)) · Veil</title>
            <style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}input{display:block;margin:.5rem 0;padding:.4rem;width:100%}</style>
            </head><body><h1>\(escape(title))</h1>\(body)</body></html>
            """
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func verifyMailbox(_ request: Request) async throws -> Response {
        let token = request.uri.queryParameters.get("token") ?? ""
        guard !token.isEmpty, let code = try store.redeemLink(token, purpose: .mailboxVerification),
              let userId = code.userId, let mailboxId = code.mailboxId,
              let mailbox = try store.confirmMailbox(id: mailboxId, userId: userId, address: code.recipient)
        else {
            return Self.page("Link expired", "<p>This link is invalid or has expired. Ask for a new one from your app.</p>", status: .badRequest)
        }
        if let user = try store.user(id: userId) {
            try? await notifier.sendNewMailboxNotice(to: user.email, mailbox: mailbox.email)
        }
        return Self.page("Mailbox confirmed", "<p>\(Self.escape(mailbox.email)) can now receive mail from your aliases.</p>")
    }

    func resetForm(token: String, message: String?) -> Response {
        Self.page("Choose a new password", """
            \(message.map { "<p><strong>\(Self.escape($0))</strong></p>" } ?? "")
            <form method="post" action="/auth/reset_password">
            <input type="hidden" name="token" value="\(Self.escape(token))">
            <label>New password (8 to 100 characters)<input type="password" name="password" minlength="8" maxlength="100" required></label>
            <button type="submit">Set password</button>
            </form>
            """)
    }

    func resetPassword(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let token = fields["token"] ?? ""
        let password = fields["password"] ?? ""
        guard (PasswordRule.minLength...PasswordRule.maxLength).contains(password.count) else {
            return resetForm(token: token, message: "The password must have 8 to 100 characters.")
        }
        guard let code = try store.redeemLink(token, purpose: .passwordReset), let userId = code.userId else {
            return Self.page("Link expired", "<p>This link is invalid or has expired. Ask for a new one from your app.</p>", status: .badRequest)
        }
        let cost = passwordCost
        let hash = try await NIOThreadPool.singleton.runIfActive { PasswordRule.hash(password, cost: cost) }
        try store.setPassword(userId: userId, hash: hash)
        return Self.page("Password changed", "<p>You can now log in with your new password.</p>")
    }
}
