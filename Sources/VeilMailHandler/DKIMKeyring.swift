import Crypto
import Foundation
import VeilCore
import VeilMail
import VeilStore

/// Which keys sign for which domain: the instance keys (generated on first start, kept in the
/// database) for Veil's own domains, a custom domain's own key for that domain. With `ed25519`
/// on, Veil's own domains also get a second, Ed25519 signature (RFC 8463).
public struct DKIMKeyring: Sendable {
    public static let defaultSelector = "veil"
    public static let ed25519Selector = "veil-ed25519"
    let instanceKey: DKIMSigner.Key
    let ed25519Key: DKIMSigner.Key?
    public let selector: String
    let ed25519Selector: String
    let ownDomains: Set<String>

    /// Loads the instance keys, generating and storing them the first time.
    public init(store: Store, ownDomains: [String], ed25519: Bool = false, selector: String = Self.defaultSelector) throws {
        let stored = try store.instanceDKIMKey()
            ?? store.saveInstanceDKIMKey(selector: selector, key: try DKIMSigner.generateRSAKeyPEM())
        self.instanceKey = try DKIMSigner(domain: "*", selector: stored.selector, rsaPEM: stored.key).key
        self.selector = stored.selector
        if ed25519 {
            let fresh = Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString()
            let edStored = try store.instanceDKIMKey(slot: "*ed25519")
                ?? store.saveInstanceDKIMKey(slot: "*ed25519", algorithm: "ed25519", selector: Self.ed25519Selector, key: fresh)
            guard let raw = Data(base64Encoded: edStored.key),
                  let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            else { throw DKIMSigner.Failure.invalidKey }
            self.ed25519Key = .ed25519(key)
            self.ed25519Selector = edStored.selector
        } else {
            self.ed25519Key = nil
            self.ed25519Selector = Self.ed25519Selector
        }
        self.ownDomains = Set(ownDomains.map { $0.lowercased() })
    }

    /// The signers for `domain`, in the order they sign (the RSA signature ends up on top);
    /// empty when Veil holds no key for it.
    public func signers(for domain: String, store: Store) throws -> [DKIMSigner] {
        let domain = domain.lowercased()
        if ownDomains.contains(domain) {
            let rsa = DKIMSigner(domain: domain, selector: selector, key: instanceKey)
            guard let ed25519Key else { return [rsa] }
            return [DKIMSigner(domain: domain, selector: ed25519Selector, key: ed25519Key), rsa]
        }
        guard let custom = try store.customDomain(named: domain), custom.verified, let pem = custom.dkimPrivateKey else { return [] }
        return [try DKIMSigner(domain: domain, selector: custom.dkimSelector, rsaPEM: pem)]
    }
}
