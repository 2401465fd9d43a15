import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// `/dashboard/`: the aliases with search, filter and pages; creating, toggling, pinning,
/// deleting to the trash and restoring from it.
extension Dashboard {
    func registerAliasPages(on web: RouterGroup<Context>) {
        web.get("dashboard/") { request, context in try aliasList(request, context) }
        web.get("dashboard/custom_alias") { request, context in try customAliasPage(request, context, error: nil, prefix: "") }
        web.writing(.post, "dashboard/aliases/random") { request, context in try await createRandom(request, context) }
        web.writing(.post, "dashboard/aliases/custom") { request, context in try await createCustom(request, context) }
        web.writing(.post, "dashboard/aliases/:id/toggle") { request, context in try await toggle(request, context) }
        web.writing(.post, "dashboard/aliases/:id/pin") { request, context in try await pin(request, context) }
        web.writing(.post, "dashboard/aliases/:id/delete") { request, context in try await trash(request, context) }
        web.get("dashboard/trash") { request, context in try trashList(request, context) }
        web.writing(.post, "dashboard/aliases/:id/restore") { request, context in try await restore(request, context) }
    }

    static var filters: [(value: String, label: String, filter: AliasFilter)] {
        [("all", "All aliases", .all), ("enabled", "Enabled", .enabled), ("disabled", "Disabled", .disabled), ("pinned", "Pinned", .pinned)]
    }

    static var sorts: [(sort: AliasSort, label: StaticString)] {
        [(.activity, "Latest activity"), (.newest, "Newest"), (.oldest, "Oldest"), (.az, "A to Z"), (.za, "Z to A")]
    }

    func aliasList(_ request: Request, _ context: Context) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let query = request.uri.queryParameters.get("query").map { String($0.prefix(200)) } ?? ""
        let filterName = request.uri.queryParameters.get("filter") ?? "all"
        let filter = Self.filters.first { $0.value == filterName }?.filter ?? .all
        let sort = request.uri.queryParameters.get("sort").flatMap(AliasSort.init(rawValue:)) ?? .activity
        let pageNumber = pageNumber(request, "page")
        let views = try store.aliasPage(userId: userId, page: pageNumber, filter: filter, query: query.isEmpty ? nil : query, sort: sort)
        func link(page: Int) -> String {
            var parts = ["page=\(page)"]
            if !query.isEmpty { parts.append("query=" + (query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
            if filter != .all { parts.append("filter=" + filterName) }
            if sort != .activity { parts.append("sort=" + sort.rawValue) }
            return "/dashboard/?" + parts.joined(separator: "&")
        }
        let csrf = csrfToken(request, context)
        var html = HTMLWriter(capacity: 4096 + 1024 * views.count)
        html.raw("""
            <h1>Aliases</h1>
            <section class="create" aria-labelledby="create-heading">
              <h2 id="create-heading" class="visually-hidden">Create an alias</h2>\n
            """)
        for (mode, id, classes, label) in [("word", "new-random-word", "", "New random alias"),
                                           ("uuid", "new-random-uuid", " class=\"secondary\"", "New random alias (UUID)")] {
            html.raw("  <form method=\"post\" action=\"/dashboard/aliases/random\" class=\"inline\">\n    <input type=\"hidden\" name=\"csrf_token\" value=\"")
            html.text(csrf)
            html.raw("\">\n    <input type=\"hidden\" name=\"mode\" value=\""); html.text(mode)
            html.raw("\">\n    <button type=\"submit\""); html.raw(classes); html.raw(" id=\""); html.text(id); html.raw("\">")
            html.text(label); html.raw("</button>\n  </form>\n")
        }
        html.raw("""
              <a class="button secondary" href="/dashboard/custom_alias" id="new-custom">New custom alias</a>
            </section>

            <form method="get" action="/dashboard/" class="filters" role="search">
              <label for="query" class="visually-hidden">Search aliases</label>
              <input id="query" name="query" type="search" placeholder="Search address, note or name" value="
            """)
        html.text(query)
        html.raw("""
            ">
              <label for="filter" class="visually-hidden">Show</label>
              <select id="filter" name="filter">\n
            """)
        for option in Self.filters {
            html.raw("    <option value=\""); html.text(option.value); html.raw("\"")
            if option.filter == filter { html.raw(" selected") }
            html.raw(">"); html.text(option.label); html.raw("</option>\n")
        }
        html.raw("""
              </select>
              <label for="sort" class="visually-hidden">Order</label>
              <select id="sort" name="sort">\n
            """)
        for option in Self.sorts {
            html.raw("    <option value=\""); html.text(option.sort.rawValue); html.raw("\"")
            if option.sort == sort { html.raw(" selected") }
            html.raw(">"); html.raw(option.label); html.raw("</option>\n")
        }
        html.raw("""
              </select>
              <button type="submit" class="secondary">Search</button>
            </form>\n
            """)
        if views.isEmpty {
            html.raw(query.isEmpty ? "<p class=\"empty\">No alias yet: create one above.</p>\n" : "<p class=\"empty\">No alias matches.</p>\n")
        }
        html.raw("<ul class=\"aliases\">\n")
        Self.writeAliasRows(views, csrf: csrf, now: Date(), into: &html)
        html.raw("</ul>\n<nav class=\"pages\" aria-label=\"Pages\">\n")
        if pageNumber > 0 { html.raw("  <a href=\""); html.text(link(page: pageNumber - 1)); html.raw("\" rel=\"prev\">← Newer</a>\n") }
        if views.count == Store.pageSize { html.raw("  <a href=\""); html.text(link(page: pageNumber + 1)); html.raw("\" rel=\"next\">Older →</a>\n") }
        html.raw("</nav>\n")
        return page(html: html, csrf: csrf, title: "Aliases", request: request, context: context)
    }

    /// SimpleLogin's custom alias page: a prefix, a suffix from those offered (signed, so it cannot
    /// be forged), mailboxes, note and display name.
    func customAliasPage(_ request: Request, _ context: Context, error: String?, prefix: String) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let mailboxes = try store.mailboxes(userId: userId).filter(\.verified)
        let signedAt = Date()
        var data: [String: Any] = [
            "suffixes": try services.suffixes(for: user, userId: userId).map {
                ["suffix": $0.suffix, "signed": services.suffixSigner.sign($0.suffix, at: signedAt)]
            },
            "mailboxes": mailboxes.map { ["id": $0.id ?? 0, "email": $0.email, "isDefault": $0.id == user.defaultMailboxId] as [String: Any] },
            "prefix": prefix,
        ]
        if let error { data["error"] = error }
        return page("custom_alias", title: "New custom alias", data, request: request, context: context, status: error == nil ? .ok : .badRequest)
    }

    /// The list's rows. The list is the dashboard's most frequent page: it is written in code, not
    /// rendered from a template (see BENCHMARKS.md).
    static func writeAliasRows(_ views: [AliasView], csrf: String, now: Date, into html: inout HTMLWriter) {
        for view in views {
            let alias = view.alias
            let id = alias.id ?? 0
            html.raw("  <li class=\"alias")
            if !alias.enabled { html.raw(" disabled") }
            html.raw("\" id=\"alias-"); html.number(id)
            html.raw("\">\n    <div class=\"address\">\n      <a href=\"/dashboard/aliases/"); html.number(id)
            html.raw("\"><code class=\"email\">"); html.text(alias.email)
            html.raw("</code></a>\n      <button type=\"button\" class=\"copy link\" data-copy=\""); html.text(alias.email)
            html.raw("\" aria-label=\"Copy "); html.text(alias.email); html.raw("\">Copy</button>\n")
            if alias.pinned { html.raw("      <span class=\"badge\">pinned</span>\n") }
            if !alias.enabled { html.raw("      <span class=\"badge off\">disabled</span>\n") }
            html.raw("    </div>\n")
            if let note = alias.note, !note.isEmpty { html.raw("    <p class=\"note\">"); html.text(note); html.raw("</p>\n") }
            html.raw("    <p class=\"meta\">")
            for (index, mailbox) in view.mailboxes.enumerated() {
                if index > 0 { html.raw(", ") }
                html.text(mailbox.email)
            }
            html.raw(" · "); html.number(alias.nbForward); html.raw(" forwarded, "); html.number(alias.nbReply)
            html.raw(" replied, "); html.number(alias.nbBlock); html.raw(" blocked")
            if let activity = view.latestActivity {
                html.raw(" · last "); html.text(activity.action.rawValue); html.raw(" "); html.text(Templates.ago(activity.createdAt, now: now))
            }
            html.raw("</p>\n    <div class=\"actions\">\n")
            func form(_ action: StaticString, _ classes: StaticString, _ button: StaticString, label: String) {
                html.raw("      <form method=\"post\" action=\"/dashboard/aliases/"); html.number(id); html.raw(action)
                html.raw("\" class=\""); html.raw(classes); html.raw("\">\n        <input type=\"hidden\" name=\"csrf_token\" value=\"")
                html.text(csrf); html.raw("\">\n        <button type=\"submit\" class=\""); html.raw(button); html.raw("\">")
                html.text(label); html.raw("</button>\n      </form>\n")
            }
            form("/toggle", "inline toggle", "secondary", label: alias.enabled ? "Disable" : "Enable")
            form("/pin", "inline", "secondary", label: alias.pinned ? "Unpin" : "Pin")
            form("/delete", "inline", "danger", label: "Delete")
            html.raw("    </div>\n  </li>\n")
        }
    }

    /// The signed-in user's alias with this path id, not trashed; another user's id is a 404.
    func ownedAlias(_ request: Request, _ context: Context, userId: Int64) throws -> Alias {
        guard let id = pathId(context),
              let alias = try store.alias(id: id, userId: userId), alias.trashedAt == nil
        else { throw WebFailure(status: .notFound, message: "There is no such alias in your account.") }
        return alias
    }

    func creationAllowed(_ user: User, _ userId: Int64) throws {
        guard services.allowAliasCreation(userId: userId) else {
            throw WebFailure(status: .tooManyRequests, message: "You are creating aliases too fast. Wait a minute and try again.")
        }
        guard try services.canCreateAlias(user, userId: userId) else {
            throw WebFailure(status: .forbidden, message: services.quotaMessage(user))
        }
    }

    func createRandom(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        try creationAllowed(user, userId)
        let scheme = form["mode"].flatMap(AliasGenerator.init(rawValue:)) ?? user.aliasGenerator
        guard try await services.createRandomAlias(user: user, userId: userId, scheme: scheme, note: form.text("note")) != nil else {
            throw WebFailure(status: .serviceUnavailable, message: "Cannot generate a free alias, please retry.")
        }
        return redirect("/dashboard/", notice: .aliasCreated)
    }

    func createCustom(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        try creationAllowed(user, userId)
        let prefix = form.text("prefix") ?? ""
        do {
            _ = try await services.createCustomAlias(
                user: user, userId: userId, prefix: prefix, signedSuffix: form["signed_suffix"] ?? "",
                mailboxIds: form.all("mailbox_id").compactMap { Int64($0) },
                name: cleanName(form.text("name")),
                note: form.text("note"))
        } catch let refusal as AliasRefusal {
            return try customAliasPage(request, context, error: refusal.message, prefix: prefix)
        }
        return redirect("/dashboard/", notice: .aliasCreated)
    }

    /// The toggle answers JSON to the page's script (no reload) and a redirect to a plain form.
    func toggle(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let alias = try ownedAlias(request, context, userId: userId)
        guard let id = alias.id, let updated = try store.updateAlias(id: id, userId: userId, { $0.enabled.toggle() }) else {
            throw WebFailure(status: .notFound, message: "There is no such alias in your account.")
        }
        if request.headers[.accept]?.contains("application/json") == true {
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: updated.enabled ? #"{"enabled":true}"# : #"{"enabled":false}"#)))
        }
        return redirect(backToList(request), notice: .aliasUpdated)
    }

    func pin(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let alias = try ownedAlias(request, context, userId: userId)
        _ = try store.updateAlias(id: alias.id ?? 0, userId: userId) { $0.pinned.toggle() }
        return redirect(backToList(request), notice: .aliasUpdated)
    }

    func trash(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let alias = try ownedAlias(request, context, userId: userId)
        try store.trashAlias(id: alias.id ?? 0, userId: userId)
        return redirect("/dashboard/", notice: .aliasTrashed)
    }

    func trashList(_ request: Request, _ context: Context) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let pageNumber = pageNumber(request, "page")
        let trashed = try store.trashedAliases(userId: userId, page: pageNumber)
        let now = Date()
        var data: [String: Any] = ["aliases": trashed.map {
            ["id": $0.id ?? 0, "email": $0.email, "trashedAt": $0.trashedAt.map { Templates.ago($0, now: now) } ?? ""] as [String: Any]
        }]
        if pageNumber > 0 { data["previous"] = "/dashboard/trash?page=\(pageNumber - 1)" }
        if trashed.count == Store.pageSize { data["next"] = "/dashboard/trash?page=\(pageNumber + 1)" }
        return page("trash", title: "Trash", data, request: request, context: context)
    }

    func restore(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        guard let id = pathId(context) else {
            throw WebFailure(status: .notFound, message: "There is no such alias in your account.")
        }
        let quota = services.configuration.quota
        switch try store.restoreAlias(id: id, userId: userId, canHave: { quota.canCreate(user: user, existingAliases: $0) }) {
        case .restored: return redirect("/dashboard/", notice: .aliasRestored)
        case .notFound, .notInTrash: throw WebFailure(status: .notFound, message: "There is no such alias in your trash.")
        case .overQuota: throw WebFailure(status: .forbidden, message: services.quotaMessage(user))
        }
    }

    /// Back to the list the form was on (same filter and page), from the Referer when it is ours.
    func backToList(_ request: Request) -> String {
        guard let referer = request.headers[.referer], let url = URL(string: referer), url.path == "/dashboard/" else { return "/dashboard/" }
        return "/dashboard/" + (url.query.map { "?" + $0 } ?? "")
    }
}
