/// The frame around every page: head, the navigation of a signed-in user, the notice, the page.
/// Written in code rather than as a template: it wraps every response, and a template's dynamic
/// lookups cost more than the page's queries on the busiest page (BENCHMARKS.md).
struct Layout: Sendable {
    struct Account: Sendable {
        var email: String
        var isAdmin: Bool
    }

    var title: String
    var account: Account?
    var csrf: String?
    var notice: String?

    static let navigation: [(path: StaticString, label: StaticString)] = [
        ("/dashboard/", "Aliases"), ("/dashboard/mailbox", "Mailboxes"), ("/dashboard/custom_domain", "Domains"),
        ("/dashboard/trash", "Trash"), ("/dashboard/quarantine", "Refused"), ("/dashboard/notifications", "Notifications"),
        ("/dashboard/api_key", "API keys"), ("/dashboard/setting", "Settings"),
    ]

    func write(content: String) -> [UInt8] {
        var html = HTMLWriter(capacity: content.utf8.count + 2048)
        html.raw("""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>
            """)
        html.text(title)
        html.raw("""
             · Veil</title>
            <link rel="stylesheet" href="/static/veil.css">
            <script src="/static/veil.js" defer></script>
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header class="top">
              <a class="brand" href="/dashboard/">Veil</a>\n
            """)
        if let account {
            html.raw("  <nav aria-label=\"Main\">\n")
            for item in Self.navigation {
                html.raw("    <a href=\""); html.raw(item.path); html.raw("\">"); html.raw(item.label); html.raw("</a>\n")
            }
            if account.isAdmin { html.raw("    <a href=\"/admin/\">Admin</a>\n") }
            html.raw("""
                    <form method="post" action="/auth/logout" class="inline">
                      <input type="hidden" name="csrf_token" value="
                """)
            html.text(csrf ?? "")
            html.raw("""
                ">
                      <button type="submit" class="link">Log out</button>
                    </form>
                  </nav>
                  <span class="who">
                """)
            html.text(account.email)
            html.raw("</span>\n")
        }
        html.raw("</header>\n<main id=\"main\">\n")
        if let notice { html.raw("<p class=\"notice\" role=\"status\">"); html.text(notice); html.raw("</p>\n") }
        html.raw(content)
        html.raw("</main>\n</body>\n</html>\n")
        return html.bytes
    }
}
