import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// The user's data: export (JSON and CSV, SimpleLogin's formats), CSV import with a result page,
/// and deleting the account.
extension Dashboard {
    static var importLimit: Int { 5 * 1024 * 1024 }

    func registerDataPages(on web: RouterGroup<Context>) {
        web.get("dashboard/export/data") { request, context in try exportData(request, context) }
        web.get("dashboard/export/aliases") { request, context in try exportAliases(request, context) }
        web.get("dashboard/import") { request, context in
            _ = try requireUser(request, context)
            return page("import", title: "Import aliases", [:], request: request, context: context)
        }
        web.writing(.post, "dashboard/import") { request, context in try await importAliases(request, context) }
        web.writing(.post, "dashboard/setting/delete") { request, context in try await deleteAccount(request, context) }
    }

    func download(_ bytes: ByteBuffer, type: String, filename: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\(filename)"],
                 body: .init(byteBuffer: bytes))
    }

    func exportData(_ request: Request, _ context: Context) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        let json = try encoder.encode(try services.accountExport(user: user, userId: userId))
        return download(ByteBuffer(bytes: json), type: "application/json", filename: "veil-data.json")
    }

    func exportAliases(_ request: Request, _ context: Context) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let text = AliasImporter.exportCSV(try store.exportedAliases(userId: userId))
        return download(ByteBuffer(string: text), type: "text/csv", filename: "aliases.csv")
    }

    func importAliases(_ request: Request, _ context: Context) async throws -> Response {
        // The page sends the file as multipart; the text alone may come URL-encoded.
        let text: String
        if request.headers[.contentType]?.lowercased().hasPrefix("multipart/") == true {
            let form = try await multipartForm(request, context, limit: Self.importLimit)
            if let file = form["file"], !file.body.isEmpty {
                guard let decoded = String(validating: file.body, as: UTF8.self) else {
                    return page("import", title: "Import aliases", ["error": "The file must be UTF-8 text"], request: request, context: context,
                                status: .badRequest)
                }
                text = decoded
            } else {
                text = form.text("csv") ?? ""
            }
        } else {
            text = try await form(request, context, limit: Self.importLimit)["csv"] ?? ""
        }
        let (_, userId, _) = try requireUser(request, context)
        guard services.rateLimiter.allow("import:\(userId)", limits: [(10, .seconds(3600))]) else {
            throw WebFailure(status: .tooManyRequests, message: "Too many imports. Wait an hour and try again.")
        }
        let summary: AliasImporter.Summary
        do {
            summary = try AliasImporter(store: store, quota: services.configuration.quota).run(csv: text, userId: userId)
        } catch let refusal as AliasImporter.Refusal {
            return page("import", title: "Import aliases", ["error": refusal.description, "csv": String(text.prefix(100_000))],
                        request: request, context: context, status: .badRequest)
        }
        return page("import_result", title: "Import result", [
            "created": summary.created, "skipped": summary.skipped,
            "errors": summary.errors.prefix(1000).map { ["line": $0.line, "alias": $0.alias, "error": $0.error] as [String: Any] },
            "hasErrors": !summary.errors.isEmpty,
        ], request: request, context: context)
    }

    /// The account goes at once (the deletion job runs in the background); this session ends.
    func deleteAccount(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireSudo(request, context, returnTo: "/dashboard/setting#delete")
        guard form.text("confirm")?.lowercased() == user.email.lowercased() else {
            return try settingsPage(request, context, errors: ["delete": "Type your e-mail address to confirm."], status: .badRequest)
        }
        try store.scheduleDeletion(userId: userId, at: Date())
        try store.deleteWebSessions(userId: userId)
        var response = redirect("/auth/login", notice: .accountDeleted)
        response.setCookie(Cookie(name: WebCookie.session, value: "", maxAge: 0, path: "/", secure: configuration.secureCookies,
                                  httpOnly: true, sameSite: .lax))
        return response
    }
}
