import Foundation
import VeilCore
import VeilMail
import VeilStore

/// Which key signs for which domain: the instance key (generated on first start, kept in the
/// database) for Veil's own domains, a custom domain's own key for that domain.
public struct DKIMKeyring: Sendable {
    public static let defaultSelector = "veil"
    let instanceKey: DKIMSigner.Key
    public let selector: String
    let ownDomains: Set<String>

    /// Loads the instance key, generating and storing it the first time.
    public init(store: Store, ownDomains: [String], selector: String = Self.defaultSelector) throws {
        let stored = try store.instanceDKIMKey()
            ?? store.saveInstanceDKIMKey(selector: selector, pem: try DKIMSigner.generateRSAKeyPEM())
        self.instanceKey = try DKIMSigner(domain: "*", selector: stored.selector, rsaPEM: stored.pem).key
        self.selector = stored.selector
        self.ownDomains = Set(ownDomains.map { $0.lowercased() })
    }

    /// The signer for `domain`, nil when Veil holds no key for it.
    public func signer(for domain: String, store: Store) throws -> DKIMSigner? {
        let domain = domain.lowercased()
        if ownDomains.contains(domain) { return DKIMSigner(domain: domain, selector: selector, key: instanceKey) }
        guard let custom = try store.customDomain(named: domain), custom.verified, let pem = custom.dkimPrivateKey else { return nil }
        return try DKIMSigner(domain: domain, selector: custom.dkimSelector, rsaPEM: pem)
    }

    /// The TXT record of the instance key.
    public var instanceRecord: String {
        DKIMSigner(domain: "*", selector: selector, key: instanceKey).dnsRecord
    }
}
