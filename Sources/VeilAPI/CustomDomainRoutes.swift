import Foundation
import Hummingbird
import VeilCore
import VeilDNS
import VeilServices
import VeilStore

/// `/api/custom_domains`: SimpleLogin's list, update and trash (spec/api.md §7), plus Veil's add,
/// DNS records, verification and delete, which SimpleLogin only offers in its dashboard.
struct CustomDomainRoutes {
    let services: Services
    var store: Store { services.store }
    var manager: CustomDomainManager { services.domains }

    func register(on group: RouterGroup<APIContext>) {
        group.get("custom_domains") { _, context in try list(context) }
        group.writing(.post, "custom_domains") { request, context in try await create(request, context) }
        group.writing(.patch, "custom_domains/:domain_id") { request, context in try await update(request, context) }
        group.writing(.delete, "custom_domains/:domain_id") { _, context in try delete(context) }
        group.get("custom_domains/:domain_id/trash") { _, context in try trash(context) }
        group.get("custom_domains/:domain_id/dns") { _, context in try dns(context) }
        group.writing(.post, "custom_domains/:domain_id/verify") { _, context in try await verify(context) }
    }

    /// The caller's domain in the path; 403 `Forbidden` otherwise.
    func owned(_ context: APIContext, userId: Int64) throws -> CustomDomainView {
        guard let view = try store.customDomainView(id: try context.pathId("domain_id"), userId: userId) else { throw APIError.forbidden }
        return view
    }

    func object(_ view: CustomDomainView, user: User) throws -> JSON {
        var mailboxes = view.mailboxes
        if mailboxes.isEmpty, let defaultId = user.defaultMailboxId, let mailbox = try store.mailbox(id: defaultId, userId: view.domain.userId) {
            mailboxes = [mailbox]
        }
        return Serialize.customDomain(view, mailboxes: mailboxes)
    }

    func list(_ context: APIContext) throws -> Response {
        let (user, userId) = try context.requireUser()
        return .json(["custom_domains": .array(try store.customDomainViews(userId: userId).map { try object($0, user: user) })])
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        let body = try await request.requiredObject(context: context)
        guard let raw = body["domain"]?.string else { throw APIError.badRequest("domain must be a string") }
        do {
            let domain = try await manager.add(raw, user: user, userId: userId)
            guard let id = domain.id, let view = try store.customDomainView(id: id, userId: userId) else { throw APIError.forbidden }
            return .json(["custom_domain": try object(view, user: user)], status: .created)
        } catch let refusal as CustomDomainManager.Refusal {
            throw APIError(refusal.isConflict ? .conflict : .badRequest, refusal.message)
        }
    }

    func update(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        guard services.rateLimiter.allow("domain-update:\(userId)", limits: [(100, .seconds(3600))]) else { throw APIError.rateLimited }
        let body = try await request.requiredObject(context: context)
        let view = try owned(context, userId: userId)
        guard let id = view.domain.id else { throw APIError.forbidden }
        // Validate everything first so a bad field changes nothing.
        for flag in ["catch_all", "random_prefix_generation"] {
            if let value = body[flag], value.bool == nil { throw APIError.badRequest("\(flag) must be a boolean") }
        }
        if let name = body["name"], name.string == nil, !name.isNull { throw APIError.badRequest("name must be a string or null") }
        var mailboxIds: [Int64]?
        if let raw = body["mailbox_ids"] {
            guard let items = raw.array else { throw APIError.badRequest("mailbox_ids must be an array of id") }
            let ids = items.compactMap { $0.int ?? $0.string.flatMap { Int64($0) } }
            guard ids.count == items.count else { throw APIError.badRequest("mailbox_ids must be an array of id") }
            mailboxIds = ids
        }
        if let mailboxIds {
            // SimpleLogin answers 400 with "Forbidden" for empty, foreign or unverified mailboxes.
            guard try store.setCustomDomainMailboxes(domainId: id, userId: userId, mailboxIds: mailboxIds) else {
                throw APIError.badRequest("Forbidden")
            }
        }
        try store.updateCustomDomain(id: id, userId: userId) { domain in
            if let value = body["catch_all"]?.bool { domain.catchAll = value }
            if let value = body["random_prefix_generation"]?.bool { domain.randomPrefixGeneration = value }
            if let name = body["name"] {
                let cleaned = name.string.map { $0.replacingOccurrences(of: "\n", with: "").trimmingCharacters(in: .whitespaces) }
                domain.name = (cleaned?.isEmpty ?? true) ? nil : cleaned
            }
        }
        guard let fresh = try store.customDomainView(id: id, userId: userId) else { throw APIError.forbidden }
        return .json(["custom_domain": try object(fresh, user: user)])
    }

    func delete(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        guard try store.deleteCustomDomain(id: try context.pathId("domain_id"), userId: userId) else { throw APIError.forbidden }
        return .json(["deleted": true])
    }

    func trash(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        let view = try owned(context, userId: userId)
        let rows = try store.customDomainTrash(domainId: view.domain.id ?? 0)
        return .json(["aliases": .array(rows.map { ["alias": .string($0.email), "deletion_timestamp": APIDate.timestamp($0.deletedAt)] })])
    }

    /// The records to publish, each with whether it passed at the last check.
    func dns(_ context: APIContext) throws -> Response {
        let (_, userId) = try context.requireUser()
        let domain = try owned(context, userId: userId).domain
        let expected = manager.records(for: domain)
        return .json([
            "domain": .string(domain.domain),
            "records": .array(expected.records.map { record in
                [
                    "purpose": .string(record.check.rawValue),
                    "type": .string(record.type),
                    "name": .string(record.name),
                    "value": .string(record.value),
                    "priority": record.priority.map { .int(Int64($0)) } ?? .null,
                    "verified": .bool(CustomDomainManager.lastResult(domain, record.check)),
                ]
            }),
            "zone": .string(expected.records.map(\.zoneLine).joined(separator: "\n") + "\n"),
            "last_checked_timestamp": domain.lastCheckedAt.map(APIDate.timestamp) ?? .null,
        ])
    }

    func verify(_ context: APIContext) async throws -> Response {
        let (user, userId) = try context.requireUser()
        guard services.rateLimiter.allow("domain-verify:\(userId)", limits: [(30, .seconds(3600))]) else { throw APIError.rateLimited }
        let view = try owned(context, userId: userId)
        let (stored, outcome) = try await manager.verify(view.domain)
        var checks: [(String, JSON)] = []
        for check in DomainRecords.Check.allCases {
            checks.append((check.rawValue, [
                "ok": .bool(outcome.ok(check)),
                "found": .array((outcome.found[check] ?? []).map(JSON.string)),
                "error": .optional(outcome.errors[check]),
            ]))
        }
        guard let id = stored.id, let fresh = try store.customDomainView(id: id, userId: userId) else { throw APIError.forbidden }
        return .json(["custom_domain": try object(fresh, user: user), "checks": .object(checks)])
    }
}
