import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// Listing and managing aliases, their activities and contacts (spec/api.md §5).
struct AliasRoutes {
    let services: Services
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.get("v2/aliases") { request, context in try await listV2(request, context) }
        group.post("v2/aliases") { request, context in try await listV2(request, context) }
        group.get("aliases") { request, context in try await listV1(request, context) }
        group.post("aliases") { request, context in try await listV1(request, context) }
        group.get("aliases/:alias_id") { _, context in try get(context) }
        group.writing(.delete, "aliases/:alias_id") { _, context in try delete(context) }
        group.writing(.patch, "aliases/:alias_id") { request, context in try await update(request, context) }
        group.writing(.put, "aliases/:alias_id") { request, context in try await update(request, context) }
        group.writing(.post, "aliases/:alias_id/toggle") { _, context in try toggle(context) }
        group.writing(.post, "aliases/:alias_id/restore") { _, context in try restore(context) }
        group.get("aliases/:alias_id/activities") { request, context in try activities(request, context) }
        group.get("aliases/:alias_id/contacts") { request, context in try contacts(request, context) }
        group.writing(.post, "aliases/:alias_id/contacts") { request, context in try await createContact(request, context) }
        group.writing(.delete, "contacts/:contact_id") { _, context in try deleteContact(context) }
        group.writing(.post, "contacts/:contact_id/toggle") { _, context in try toggleContact(context) }
    }

    /// The alias if it is the caller's and not in the trash; 403 `Forbidden` otherwise (missing
    /// and trashed ids are not told apart).
    func ownedAlias(_ context: APIContext) throws -> (Alias, User, Int64) {
        let (user, userId) = try context.requireUser()
        guard let alias = try store.alias(id: try context.pathId("alias_id"), userId: userId), alias.trashedAt == nil else {
            throw APIError.forbidden
        }
        return (alias, user, userId)
    }

    func listV2(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        let page = try request.pageId()
        let filter: AliasFilter = request.hasQuery("pinned") ? .pinned
            : request.hasQuery("disabled") ? .disabled : request.hasQuery("enabled") ? .enabled : .all
        let query = try await request.optionalObject(context: context)["query"]?.string
        let views = try store.aliasPage(userId: userId, page: page, filter: filter, query: query)
        var json = JSONWriter(capacity: 1_024 + 768 * views.count)
        json.beginObject()
        json.key("aliases")
        json.beginArray()
        for view in views { Serialize.alias(view, format: user.senderFormat, to: &json) }
        json.endArray()
        json.endObject()
        return .json(json)
    }

    func listV1(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (_, userId) = try context.requireUser()
        let page = try request.pageId()
        let query = try await request.optionalObject(context: context)["query"]?.string
        return .json(["aliases": .array(try store.aliasPageV1(userId: userId, page: page, query: query).map(Serialize.aliasV1))])
    }

    func get(_ context: APIContext) throws -> Response {
        let (user, userId) = try context.requireUser()
        let id = try context.pathId("alias_id")
        guard let view = try store.aliasView(id: id, userId: userId) else {
            throw try store.aliasExists(id: id) ? APIError.forbidden : APIError.badRequest("Unknown error")
        }
        var json = JSONWriter()
        Serialize.alias(view, format: user.senderFormat, to: &json)
        return .json(json)
    }

    func delete(_ context: APIContext) throws -> Response {
        let (alias, _, userId) = try ownedAlias(context)
        guard let id = alias.id, try store.trashAlias(id: id, userId: userId) else { throw APIError.forbidden }
        return .json(["deleted": true])
    }

    /// Veil's own: takes a deleted alias out of the trash (until it is purged), within the quota.
    func restore(_ context: APIContext) throws -> Response {
        let (user, userId) = try context.requireUser()
        let id = try context.pathId("alias_id")
        let quota = services.configuration.quota
        switch try store.restoreAlias(id: id, userId: userId, canHave: { quota.canCreate(user: user, existingAliases: $0) }) {
        case .notFound: throw APIError.forbidden
        case .notInTrash: throw APIError.badRequest("Alias is not in the trash")
        case .overQuota: throw APIError.badRequest(services.quotaMessage(user))
        case .restored: break
        }
        guard let view = try store.aliasView(id: id, userId: userId) else { throw APIError.forbidden }
        var json = JSONWriter()
        Serialize.alias(view, format: user.senderFormat, to: &json)
        return .json(json)
    }

    func toggle(_ context: APIContext) throws -> Response {
        let (alias, _, userId) = try ownedAlias(context)
        guard let id = alias.id, let updated = try store.updateAlias(id: id, userId: userId, { $0.enabled.toggle() }) else {
            throw APIError.forbidden
        }
        return .json(["enabled": .bool(updated.enabled)])
    }

    func update(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let body = try await request.requiredObject(context: context)
        let (alias, _, userId) = try ownedAlias(context)
        guard let aliasId = alias.id else { throw APIError.forbidden }
        var name: String?? = nil
        if let value = body["name"] {
            guard value.isNull || value.string != nil else { throw APIError.badRequest("request body does not follow the required format") }
            let cleaned = cleanName(value.string)
            if let cleaned, cleaned.count > 128 { throw APIError.badRequest("Name can't be longer than 128 characters") }
            name = .some(cleaned)
        }
        var mailboxIds: [Int64]?
        if let single = body["mailbox_id"] {
            guard let id = single.int, try store.verifiedMailbox(id: id, userId: userId) != nil else { throw APIError.forbidden.asBadRequest }
            mailboxIds = [id] + (try store.mailboxes(ofAlias: alias).compactMap(\.id).filter { $0 != alias.mailboxId && $0 != id })
        }
        if let list = body["mailbox_ids"] {
            guard let items = list.array else { throw APIError.badRequest("Invalid mailbox_id") }
            // §1.6b: digit strings too (the Raycast extension sends `["12"]`).
            let ids = try items.map { item -> Int64 in
                if let id = item.int { return id }
                if let text = item.string, !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }), let id = Int64(text) { return id }
                throw APIError.badRequest("Invalid mailbox_id")
            }
            guard !ids.isEmpty else { throw APIError.badRequest("Must choose at least one mailbox") }
            guard ids.count <= 20 else { throw APIError.badRequest("Too many mailboxes") }
            mailboxIds = ids
        }
        if let mailboxIds, try !store.setAliasMailboxes(aliasId: aliasId, userId: userId, mailboxIds: mailboxIds) {
            throw APIError.forbidden.asBadRequest
        }
        _ = try store.updateAlias(id: aliasId, userId: userId) { alias in
            if let note = body["note"] { alias.note = note.string }
            if let name { alias.name = name }
            if let disablePgp = body["disable_pgp"]?.bool { alias.disablePgp = disablePgp }
            if let pinned = body["pinned"]?.bool { alias.pinned = pinned }
        }
        return .json(["ok": true])
    }

    func activities(_ request: Request, _ context: APIContext) throws -> Response {
        let page = try request.pageId()
        let (alias, user, _) = try ownedAlias(context)
        guard let aliasId = alias.id else { throw APIError.forbidden }
        let items: [JSON] = try store.activities(aliasId: aliasId, page: page).map { log, contact in
            let contactEmail = contact?.websiteEmail ?? ""
            let incoming = !log.isReply
            return [
                "action": .string(log.action.rawValue),
                "from": .string(incoming ? contactEmail : alias.email),
                "to": .string(incoming ? alias.email : contactEmail),
                "timestamp": APIDate.timestamp(log.createdAt),
                "reverse_alias": .string(contact.map { Serialize.reverseAliasDisplay($0, format: user.senderFormat) } ?? ""),
                "reverse_alias_address": .string(contact?.replyEmail ?? ""),
            ]
        }
        return .json(["activities": .array(items)])
    }

    func contacts(_ request: Request, _ context: APIContext) throws -> Response {
        let page = try request.pageId()
        let (user, userId) = try context.requireUser()
        let id = try context.pathId("alias_id")
        guard let alias = try store.alias(id: id, userId: userId), alias.trashedAt == nil, let aliasId = alias.id else {
            throw try store.aliasExists(id: id) ? APIError.forbidden : APIError(.notFound, "No such alias")
        }
        let contacts = try store.contactPage(aliasId: aliasId, page: page)
        return .json(["contacts": .array(contacts.map { Serialize.contact($0, format: user.senderFormat) })])
    }

    func createContact(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let body = try await request.requiredObject(context: context)
        let (alias, user, _) = try ownedAlias(context)
        let contact: Contact, existed: Bool
        do {
            try services.checkContactCreationAllowed(user)
            guard let raw = body["contact"]?.string else { throw APIError.badRequest("request body does not follow the required format") }
            (contact, existed) = try services.createContact(alias: alias, user: user, raw: raw)
        } catch let refusal as ContactRefusal {
            throw APIError(refusal.status, refusal.message)
        }
        return .json(Serialize.contact(contact, format: user.senderFormat, existed: existed), status: existed ? .ok : .created)
    }

    func deleteContact(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        guard try store.deleteContact(id: try context.pathId("contact_id"), userId: userId) else { throw APIError.forbidden }
        return .json(["deleted": true])
    }

    func toggleContact(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        guard let blocked = try store.toggleContactBlock(id: try context.pathId("contact_id"), userId: userId) else {
            throw APIError.forbidden
        }
        return .json(["block_forward": .bool(blocked)])
    }
}

extension APIError {
    /// SimpleLogin answers some ownership failures with 400 and the text `Forbidden`.
    var asBadRequest: APIError { APIError(.badRequest, message) }
}
