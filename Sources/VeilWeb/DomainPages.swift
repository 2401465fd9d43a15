import Foundation
import Hummingbird
import VeilCore
import VeilDNS
import VeilServices
import VeilStore

/// Custom domains (SimpleLogin's paths): the list and adding, the DNS records to publish with the
/// last check of each and "verify now", a domain's settings (catch-all, random prefix, default
/// mailboxes), its trash, and deleting it.
extension Dashboard {
    func registerDomainPages(on web: RouterGroup<Context>) {
        web.get("dashboard/custom_domain") { request, context in try domainList(request, context, error: nil, input: "") }
        web.writing(.post, "dashboard/custom_domain") { request, context in try await addDomain(request, context) }
        web.get("dashboard/domains/:id/dns") { request, context in try dnsPage(request, context, outcome: nil) }
        web.writing(.post, "dashboard/domains/:id/verify") { request, context in try await verifyDomain(request, context) }
        web.get("dashboard/domains/:id/info") { request, context in try domainSettings(request, context, error: nil) }
        web.writing(.post, "dashboard/domains/:id/info") { request, context in try await updateDomain(request, context) }
        web.writing(.post, "dashboard/domains/:id/delete") { request, context in try await deleteDomain(request, context) }
    }

    func domainList(_ request: Request, _ context: Context, error: String?, input: String,
                    status: HTTPResponse.Status = .ok) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let views = try store.customDomainViews(userId: userId)
        var data: [String: Any] = [
            "domains": views.map { view -> [String: Any] in
                ["id": view.domain.id ?? 0, "domain": view.domain.domain, "verified": view.domain.verified,
                 "aliasCount": view.aliasCount, "catchAll": view.domain.catchAll]
            },
            "canAdd": user.isPremium || user.inTrial(at: Date()), "input": input,
        ]
        if let error { data["error"] = error }
        return page("domains", title: "Custom domains", data, request: request, context: context, status: status)
    }

    func addDomain(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (user, userId, _) = try requireUser(request, context)
        let input = String((form.text("domain") ?? "").prefix(253))
        do {
            let domain = try await services.domains.add(input, user: user, userId: userId)
            return redirect("/dashboard/domains/\(domain.id ?? 0)/dns", notice: .domainAdded)
        } catch let refusal as CustomDomainManager.Refusal {
            return try domainList(request, context, error: refusal.message, input: input, status: refusal.isConflict ? .conflict : .badRequest)
        }
    }

    func ownedDomain(_ context: Context, userId: Int64) throws -> CustomDomainView {
        guard let id = pathId(context), let view = try store.customDomainView(id: id, userId: userId) else {
            throw WebFailure(status: .notFound, message: "There is no such domain in your account.")
        }
        return view
    }

    /// The records to publish; after "verify now", what each lookup found.
    func dnsPage(_ request: Request, _ context: Context, outcome: DomainVerifier.Outcome?) throws -> Response {
        let (_, userId, _) = try requireUser(request, context)
        let domain = try ownedDomain(context, userId: userId).domain
        let expected = services.domains.records(for: domain)
        let now = Date()
        var data: [String: Any] = [
            "id": domain.id ?? 0, "domain": domain.domain, "verified": domain.verified,
            "records": expected.records.map { record -> [String: Any] in
                var row: [String: Any] = [
                    "purpose": Self.purposeLabel(record.check), "type": record.type, "name": record.name, "value": record.value,
                    "ok": outcome?.ok(record.check) ?? CustomDomainManager.lastResult(domain, record.check),
                    "unchecked": outcome == nil && domain.lastCheckedAt == nil,
                ]
                if let priority = record.priority { row["priority"] = priority }
                if let outcome {
                    let found = outcome.found[record.check] ?? []
                    row["found"] = found.isEmpty ? "nothing" : found.joined(separator: " · ")
                    if let error = outcome.errors[record.check] { row["lookupError"] = error }
                }
                return row
            },
            "zone": expected.records.map(\.zoneLine).joined(separator: "\n"),
            "checked": outcome != nil,
        ]
        if let checkedAt = domain.lastCheckedAt { data["lastChecked"] = Templates.ago(checkedAt, now: now) }
        return page("domain_dns", title: domain.domain, data, request: request, context: context)
    }

    static func purposeLabel(_ check: DomainRecords.Check) -> String {
        switch check {
        case .ownership: return "Ownership"
        case .mx: return "MX: receive mail"
        case .spf: return "SPF: send mail"
        case .dkim: return "DKIM: sign mail"
        case .dmarc: return "DMARC"
        }
    }

    func verifyDomain(_ request: Request, _ context: Context) async throws -> Response {
        _ = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let view = try ownedDomain(context, userId: userId)
        guard services.rateLimiter.allow("domain-verify:\(userId)", limits: [(30, .seconds(3600))]) else {
            throw WebFailure(status: .tooManyRequests, message: "Too many checks. Wait a while and try again.")
        }
        let (_, outcome) = try await services.domains.verify(view.domain)
        return try dnsPage(request, context, outcome: outcome)
    }

    func domainSettings(_ request: Request, _ context: Context, error: String?) throws -> Response {
        let (user, userId, _) = try requireUser(request, context)
        let view = try ownedDomain(context, userId: userId)
        let chosen = Set(view.mailboxes.compactMap(\.id))
        let now = Date()
        var data: [String: Any] = [
            "id": view.domain.id ?? 0, "domain": view.domain.domain, "name": view.domain.name ?? "",
            "catchAll": view.domain.catchAll, "randomPrefix": view.domain.randomPrefixGeneration, "aliasCount": view.aliasCount,
            "mailboxes": try store.mailboxes(userId: userId).filter(\.verified).map {
                ["id": $0.id ?? 0, "email": $0.email,
                 "checked": chosen.isEmpty ? $0.id == user.defaultMailboxId : chosen.contains($0.id ?? -1)] as [String: Any]
            },
            "trash": try store.customDomainTrash(domainId: view.domain.id ?? 0).prefix(100).map {
                ["email": $0.email, "when": Templates.ago($0.deletedAt, now: now)]
            },
        ]
        if let error { data["error"] = error }
        return page("domain_info", title: view.domain.domain, data, request: request, context: context, status: error == nil ? .ok : .badRequest)
    }

    func updateDomain(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let view = try ownedDomain(context, userId: userId)
        let id = view.domain.id ?? 0
        let mailboxIds = form.all("mailbox_id").compactMap { Int64($0) }
        let name = cleanName(form.text("name"))
        guard (name?.count ?? 0) <= 128 else { return try domainSettings(request, context, error: "The name is at most 128 characters.") }
        guard !mailboxIds.isEmpty, mailboxIds.count <= 20,
              try store.setCustomDomainMailboxes(domainId: id, userId: userId, mailboxIds: mailboxIds)
        else { return try domainSettings(request, context, error: "Choose at least one of your verified mailboxes.") }
        _ = try store.updateCustomDomain(id: id, userId: userId) { domain in
            domain.catchAll = form["catch_all"] == "on"
            domain.randomPrefixGeneration = form["random_prefix"] == "on"
            domain.name = name
        }
        return redirect("/dashboard/domains/\(id)/info", notice: .domainUpdated)
    }

    func deleteDomain(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await form(request, context)
        let (_, userId, _) = try requireUser(request, context)
        let view = try ownedDomain(context, userId: userId)
        // Typing the name guards against deleting every alias of the domain by a slip.
        guard form.text("confirm")?.lowercased() == view.domain.domain else {
            return try domainSettings(request, context, error: "Type the domain name to confirm the deletion.")
        }
        _ = try store.deleteCustomDomain(id: view.domain.id ?? 0, userId: userId)
        return redirect("/dashboard/custom_domain", notice: .domainDeleted)
    }
}
