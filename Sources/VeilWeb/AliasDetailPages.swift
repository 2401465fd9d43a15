import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// An alias's own page: its settings (note, name, mailboxes), its contacts with the reverse-alias
/// to write to, and its activity.
extension Dashboard {
    func registerAliasDetailPages(on web: RouterGroup<Context>) {
        web.get("dashboard/aliases/:id") { request, context in try aliasPage(request, context, contactError: nil, contactInput: "") }
        web.writing(.post, "dashboard/aliases/:id/edit") { request, context in try await editAlias(request, context) }
        web.writing(.post, "dashboard/aliases/:id/contacts") { request, context in try await createContact(request, context) }
        web.writing(.post, "dashboard/contacts/:id/toggle") { request, context in try await toggleContact(request, context) }
        web.writing(.post, "dashboard/contacts/:id/delete") { request, context in try await deleteContact(request, context) }
        // SimpleLogin's paths for the same page, which its mails and clients link to.
        web.get("dashboard/alias_contact_manager/:id") { _, context in aliasPageRedirect(context) }
        web.get("dashboard/alias_log/:id") { _, context in aliasPageRedirect(context) }
    }

    func aliasPageRedirect(_ context: Context) -> Response {
        let id = pathId(context) ?? 0
        return Response(status: .movedPermanently, headers: [.location: "/dashboard/aliases/\(id)"])
    }

    func aliasPage(_ request: Request, _ context: Context, contactError: String?, contactInput: String) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let alias = try ownedAlias(request, context, userId: userId)
        let aliasId = alias.id ?? 0
        let activityPage = pageNumber(request, "page")
        let contactPage = pageNumber(request, "contacts_page")
        let now = Date()
        let current = Set(try store.mailboxes(ofAlias: alias).compactMap(\.id))
        let mailboxes = try store.mailboxes(userId: userId).filter(\.verified)
        let contacts = try store.contactPage(aliasId: aliasId, page: contactPage)
        let activities = try store.activities(aliasId: aliasId, page: activityPage)
        func link(activities: Int, contacts: Int) -> String {
            "/dashboard/aliases/\(aliasId)?page=\(activities)&contacts_page=\(contacts)"
        }
        var data: [String: Any] = [
            "alias": [
                "id": aliasId, "email": alias.email, "enabled": alias.enabled, "pinned": alias.pinned,
                "note": alias.note ?? "", "name": alias.name ?? "",
                "nbForward": alias.nbForward, "nbReply": alias.nbReply, "nbBlock": alias.nbBlock,
                "createdAt": Templates.ago(alias.createdAt, now: now),
            ] as [String: Any],
            "mailboxes": mailboxes.map { ["id": $0.id ?? 0, "email": $0.email, "checked": current.contains($0.id ?? -1)] as [String: Any] },
            "contacts": contacts.map { contact -> [String: Any] in
                var row: [String: Any] = [
                    "id": contact.id ?? 0, "email": contact.websiteEmail, "blocked": contact.blockForward,
                    "reverseAlias": contact.replyEmail,
                    "reverseAliasDisplay": ReverseAlias.display(contactName: contact.name, contactEmail: contact.websiteEmail,
                                                                reverseAlias: contact.replyEmail, format: user.senderFormat),
                    "createdAt": Templates.ago(contact.createdAt, now: now),
                ]
                if let sent = contact.lastEmailSentAt { row["lastSent"] = Templates.ago(sent, now: now) }
                return row
            },
            "activities": activities.map { log, contact -> [String: Any] in
                let other = contact?.websiteEmail ?? "unknown sender"
                return [
                    "action": Self.actionLabel(log.action),
                    "from": log.isReply ? alias.email : other,
                    "to": log.isReply ? other : alias.email,
                    "when": Templates.ago(log.createdAt, now: now),
                ]
            },
            "contactInput": contactInput,
            "hasActivities": !activities.isEmpty,
        ]
        if let contactError { data["contactError"] = contactError }
        if activityPage > 0 { data["activitiesPrevious"] = link(activities: activityPage - 1, contacts: contactPage) }
        if activities.count == Store.pageSize { data["activitiesNext"] = link(activities: activityPage + 1, contacts: contactPage) }
        if contactPage > 0 { data["contactsPrevious"] = link(activities: activityPage, contacts: contactPage - 1) }
        if contacts.count == Store.pageSize { data["contactsNext"] = link(activities: activityPage, contacts: contactPage + 1) }
        return page("alias", title: alias.email, data, request: request, context: context, status: contactError == nil ? .ok : .badRequest)
    }

    static func actionLabel(_ action: EmailAction) -> String {
        switch action {
        case .forward: return "Forwarded"
        case .reply: return "Replied"
        case .block: return "Blocked"
        case .bounced: return "Bounced"
        }
    }

    func pageNumber(_ request: Request, _ name: String) -> Int {
        min(max(Int(request.uri.queryParameters.get(name) ?? "") ?? 0, 0), 100_000)
    }

    func editAlias(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let alias = try ownedAlias(request, context, userId: userId)
        let aliasId = alias.id ?? 0
        let name = cleanName(form.text("name"))
        guard (name?.count ?? 0) <= 128, (form["note"]?.count ?? 0) <= 2000 else {
            throw WebFailure(status: .badRequest, message: "The name is at most 128 characters and the note at most 2,000.")
        }
        var mailboxIds = form.all("mailbox_id").compactMap { Int64($0) }
        // The alias's primary mailbox stays first when it is still chosen.
        if let index = mailboxIds.firstIndex(of: alias.mailboxId) { mailboxIds.swapAt(0, index) }
        guard !mailboxIds.isEmpty, mailboxIds.count <= 20 else {
            throw WebFailure(status: .badRequest, message: "Choose at least one mailbox (and at most 20).")
        }
        guard try store.setAliasMailboxes(aliasId: aliasId, userId: userId, mailboxIds: mailboxIds) else {
            throw WebFailure(status: .badRequest, message: "Choose mailboxes of your account that are verified.")
        }
        _ = try store.updateAlias(id: aliasId, userId: userId) { alias in
            alias.name = name
            alias.note = form.text("note")
        }
        return redirect("/dashboard/aliases/\(aliasId)", notice: .aliasUpdated)
    }

    func createContact(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        let alias = try ownedAlias(request, context, userId: userId)
        let input = String((form["contact"] ?? "").prefix(320))
        do {
            let (contact, existed) = try services.createContact(alias: alias, user: user, raw: input)
            return redirect("/dashboard/aliases/\(alias.id ?? 0)#contact-\(contact.id ?? 0)",
                            notice: existed ? .contactExisted : .contactCreated)
        } catch let refusal as ContactRefusal {
            return try aliasPage(request, context, contactError: refusal.message, contactInput: input)
        }
    }

    /// The user's contact with this path id whose alias is not in the trash; else a 404.
    func ownedContact(_ context: Context, userId: Int64) throws -> Contact {
        guard let id = pathId(context),
              let contact = try store.contact(id: id, userId: userId),
              let alias = try store.alias(id: contact.aliasId, userId: userId), alias.trashedAt == nil
        else { throw WebFailure(status: .notFound, message: "There is no such contact in your account.") }
        return contact
    }

    func toggleContact(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let contact = try ownedContact(context, userId: userId)
        guard let blocked = try store.toggleContactBlock(id: contact.id ?? 0, userId: userId) else {
            throw WebFailure(status: .notFound, message: "There is no such contact in your account.")
        }
        return redirect("/dashboard/aliases/\(contact.aliasId)", notice: blocked ? .contactBlocked : .contactUnblocked)
    }

    func deleteContact(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let contact = try ownedContact(context, userId: userId)
        try store.deleteContact(id: contact.id ?? 0, userId: userId)
        return redirect("/dashboard/aliases/\(contact.aliasId)", notice: .contactDeleted)
    }
}
