import Foundation
import NIOPosix
import VeilCore
import VeilDNS
import VeilStore

/// Adding, checking and removing custom domains: shared by the API and `veil domain`.
public struct CustomDomainManager: Sendable {
    /// A refusal with the message shown to the user.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let message: String
        public let isConflict: Bool
        public var description: String { message }
    }

    public let store: Store
    public let configuration: ServiceConfiguration
    public let resolver: any DNSResolver

    public init(store: Store, configuration: ServiceConfiguration, resolver: any DNSResolver) {
        self.store = store
        self.configuration = configuration
        self.resolver = resolver
    }

    /// `Example.ORG.` or `https://example.org/` → `example.org`.
    public static func normalize(_ raw: String) -> String {
        var name = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        for scheme in ["https://", "http://"] where name.hasPrefix(scheme) { name.removeFirst(scheme.count) }
        if let slash = name.firstIndex(of: "/") { name = String(name[..<slash]) }
        return name.trimmingCharacters(in: ["."])
    }

    /// Adds `raw` for the user with a fresh 2048-bit DKIM key of its own.
    public func add(_ raw: String, user: User, userId: Int64) async throws -> CustomDomain {
        let name = Self.normalize(raw)
        guard EmailAddress.isValidDomain(name) else { throw Refusal(message: "\(raw) is not a valid domain", isConflict: false) }
        guard user.isPremium || user.inTrial(at: Date()) else { throw Refusal(message: "Only available for paid plans", isConflict: false) }
        let own = configuration.aliasDomains + [configuration.emailDomain]
        if own.contains(where: { name == $0 || name.hasSuffix("." + $0) }) {
            throw Refusal(message: "\(name) is a Veil domain", isConflict: false)
        }
        if try store.mailboxes(userId: userId).contains(where: { EmailAddress.domain(of: $0.email) == name }) {
            throw Refusal(message: "You cannot add a domain that you are currently using for a personal mailbox", isConflict: false)
        }
        if try store.customDomain(named: name) != nil { throw Refusal(message: "\(name) already used", isConflict: true) }
        // RSA key generation takes a noticeable fraction of a second: keep it off the event loops.
        let pem = try await NIOThreadPool.singleton.runIfActive { try DKIMKeyMaterial.generateRSAPEM() }
        do {
            return try store.createCustomDomain(userId: userId, domain: name, dkimPrivateKey: pem)
        } catch StoreError.conflict {
            throw Refusal(message: "\(name) already used", isConflict: true)
        }
    }

    /// The records the domain must publish.
    public func records(for domain: CustomDomain) -> DomainRecords {
        DomainRecords(domain: domain.domain, ownershipToken: domain.ownershipToken, mxHosts: configuration.mxHosts,
                      spfInclude: configuration.emailDomain, dkimSelector: domain.dkimSelector,
                      dkimRecord: domain.dkimPrivateKey.flatMap(DKIMKeyMaterial.rsaRecord(pem:)))
    }

    /// Looks the records up and stores what passed.
    public func verify(_ domain: CustomDomain) async throws -> (domain: CustomDomain, outcome: DomainVerifier.Outcome) {
        let outcome = await DomainVerifier(resolver: resolver).verify(records(for: domain), dkimSelector: domain.dkimSelector)
        guard let id = domain.id, let stored = try store.recordDomainChecks(
            id: id, userId: domain.userId, ownership: outcome.ok(.ownership), mx: outcome.ok(.mx), spf: outcome.ok(.spf),
            dkim: outcome.ok(.dkim), dmarc: outcome.ok(.dmarc))
        else { throw Refusal(message: "Forbidden", isConflict: false) }
        return (stored, outcome)
    }

    /// Whether each record passed at the last check.
    public static func lastResult(_ domain: CustomDomain, _ check: DomainRecords.Check) -> Bool {
        switch check {
        case .ownership: domain.verified
        case .mx: domain.mxVerified
        case .spf: domain.spfVerified
        case .dkim: domain.dkimVerified
        case .dmarc: domain.dmarcVerified
        }
    }
}
