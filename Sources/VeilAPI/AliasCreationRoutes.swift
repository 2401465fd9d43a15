import Foundation
import Hummingbird
import VeilCore
import VeilServices
import VeilStore

/// `GET /api/v5|v4/alias/options`, `POST /api/v3|v2/alias/custom/new`, `POST /api/alias/random/new`
/// (spec/api.md §4).
struct AliasCreationRoutes {
    let services: Services
    var store: Store { services.store }

    func register(on group: RouterGroup<APIContext>) {
        group.get("v5/alias/options") { request, context in try options(request, context, legacy: false) }
        group.get("v4/alias/options") { request, context in try options(request, context, legacy: true) }
        group.post("v3/alias/custom/new") { request, context in try await customNew(request, context, legacy: false) }
        group.post("v2/alias/custom/new") { request, context in try await customNew(request, context, legacy: true) }
        group.post("alias/random/new") { request, context in try await randomNew(request, context) }
    }

    func options(_ request: Request, _ context: APIContext, legacy: Bool) throws -> Response {
        let (user, userId) = try context.requireUser()
        let hostname = request.query("hostname").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let suggestion = hostname.isEmpty ? "" : AliasPrefix.suggestion(forHostname: hostname)
        let now = Date()
        let offered = try services.suffixes(for: user, userId: userId)
        var members: [(String, JSON)] = [
            ("can_create", .bool(try services.canCreateAlias(user, userId: userId))),
            ("prefix_suggestion", .string(suggestion)),
        ]
        if legacy {
            members.append(("suffixes", .array(offered.map {
                [.string($0.suffix), .string(services.suffixSigner.sign($0.suffix, at: now))]
            })))
        } else {
            members.append(("suffixes", .array(offered.map {
                ["suffix": .string($0.suffix), "signed_suffix": .string(services.suffixSigner.sign($0.suffix, at: now)),
                 "is_custom": .bool($0.isCustom), "is_premium": .bool($0.isPremium)]
            })))
        }
        if !hostname.isEmpty, let used = try store.aliasUsed(onHostname: hostname, userId: userId) {
            members.append(("recommendation", ["alias": .string(used.email), "hostname": .string(hostname)]))
        }
        return .json(.object(members))
    }

    func limitCreation(_ context: APIContext, userId: Int64) async throws {
        guard services.allowAliasCreation(userId: userId) else { throw APIError.rateLimited }
    }

    func customNew(_ request: Request, _ context: APIContext, legacy: Bool) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        try await limitCreation(context, userId: userId)
        guard try services.canCreateAlias(user, userId: userId) else { throw APIError.badRequest(services.quotaMessage(user)) }
        let body: JSON
        do {
            guard let parsed = try await request.jsonBody(context: context) else { throw APIError.emptyBody }
            body = parsed
        } catch is JSON.ParseError {
            throw APIError.badRequest("request body does not follow the required format")
        }
        if body.isObject, body.keys.isEmpty { throw APIError.emptyBody }
        let rawPrefix: String, signedSuffix: String
        if legacy {
            guard let prefix = body["alias_prefix"]?.string, !prefix.isEmpty else { throw APIError.badRequest("invalid value for alias_prefix") }
            guard let suffix = body["signed_suffix"]?.string, !suffix.isEmpty else { throw APIError.badRequest("invalid value for signed_suffix") }
            (rawPrefix, signedSuffix) = (prefix, suffix)
        } else {
            guard body.isObject, let prefix = body["alias_prefix"]?.string, let suffix = body["signed_suffix"]?.string else {
                throw APIError.badRequest("request body does not follow the required format")
            }
            (rawPrefix, signedSuffix) = (prefix, suffix)
        }
        let mailboxIds: [Int64]
        if legacy {
            guard let defaultMailbox = user.defaultMailboxId else { throw APIError.badRequest("Errors with Mailbox") }
            mailboxIds = [defaultMailbox]
        } else {
            mailboxIds = try parseMailboxIds(body["mailbox_ids"])
        }
        let view: AliasView
        do {
            view = try await services.createCustomAlias(
                user: user, userId: userId, prefix: rawPrefix, signedSuffix: signedSuffix, mailboxIds: mailboxIds,
                name: legacy ? nil : cleanName(body["name"]?.string), note: body["note"]?.string,
                invalidEmailMessage: legacy ? "Email is not valid" : "Email alias is invalid")
        } catch let refusal as AliasRefusal {
            throw APIError(refusal.kind.status, refusal.message)
        }
        return try await created(view, user: user, userId: userId, hostname: request.query("hostname"))
    }

    func randomNew(_ request: Request, _ context: APIContext) async throws -> Response {
        var request = request
        let (user, userId) = try context.requireUser()
        try await limitCreation(context, userId: userId)
        guard try services.canCreateAlias(user, userId: userId) else { throw APIError.badRequest(services.quotaMessage(user)) }
        let note = try await request.optionalObject(context: context)["note"]?.string
        let scheme: AliasGenerator
        if let mode = request.query("mode") {
            guard let parsed = AliasGenerator(rawValue: mode) else { throw APIError.badRequest("\(mode) must be either word or uuid") }
            scheme = parsed
        } else {
            scheme = user.aliasGenerator
        }
        let hostname = request.query("hostname").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        guard let mailboxId = user.defaultMailboxId else { throw APIError.badRequest("Errors with Mailbox") }

        // One-click alias named after the website, when the user wants it and it is free or already theirs.
        if let hostname, user.includeWebsiteInOneClickAlias {
            let prefix = AliasPrefix.suggestion(forHostname: hostname)
            if AliasPrefix.isValid(prefix), let first = try services.suffixes(for: user, userId: userId).first {
                let candidate = (prefix + first.suffix).lowercased()
                if let existing = try store.alias(email: candidate) {
                    if existing.userId == userId, existing.trashedAt == nil,
                       try store.hostnames(aliasId: existing.id ?? 0).contains(hostname) {
                        return try await created(existing, user: user, userId: userId, hostname: nil)
                    }
                } else if try !store.isAddressTaken(candidate), EmailAddress.isValid(candidate),
                          let view = try? await store.createAliasBatched(userId: userId, email: candidate, mailboxIds: [mailboxId],
                                                                          customDomainId: first.customDomainId, note: note) {
                    return try await created(view, user: user, userId: userId, hostname: hostname)
                }
            }
        }

        if let view = try await services.createRandomAlias(user: user, userId: userId, scheme: scheme, note: note) {
            return try await created(view, user: user, userId: userId, hostname: hostname)
        }
        throw APIError(.serviceUnavailable, "Cannot generate a free alias, please retry")
    }

    /// The answer for an alias that already existed (one-click reuse): its view is read.
    func created(_ alias: Alias, user: User, userId: Int64, hostname: String?) async throws -> Response {
        guard let aliasId = alias.id, let view = try store.aliasView(id: aliasId, userId: userId) else {
            throw APIError(.serviceUnavailable, "alias vanished")
        }
        return try await created(view, user: user, userId: userId, hostname: hostname)
    }

    func created(_ view: AliasView, user: User, userId: Int64, hostname: String?) async throws -> Response {
        guard let aliasId = view.alias.id else { throw APIError(.serviceUnavailable, "alias vanished") }
        if let hostname, !hostname.isEmpty {
            try await offloaded { [store] in try store.recordHostname(hostname.lowercased(), aliasId: aliasId, userId: userId) }
        }
        var json = JSONWriter()
        Serialize.alias(view, format: user.senderFormat, to: &json, isCreation: true)
        return .json(json, status: .created)
    }
}

/// `mailbox_ids` as integers or digit strings (the Raycast extension sends strings).
func parseMailboxIds(_ value: JSON?) throws -> [Int64] {
    guard let items = value?.array else { throw APIError.badRequest("mailbox_ids must be an array of id") }
    return try items.map { item in
        if let id = item.int { return id }
        if let text = item.string, let id = Int64(text) { return id }
        throw APIError.badRequest("Errors with Mailbox")
    }
}
