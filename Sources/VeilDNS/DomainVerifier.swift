import Foundation
import VeilCore

/// Checks a custom domain's published records against what Veil expects, with real lookups.
public struct DomainVerifier: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var passed: [DomainRecords.Check: Bool]
        /// What each check found published, for the answer shown to the user.
        public var found: [DomainRecords.Check: [String]]
        /// Checks whose lookups failed (timeout, SERVFAIL): neither passed nor known to fail.
        public var errors: [DomainRecords.Check: String]

        public func ok(_ check: DomainRecords.Check) -> Bool { passed[check] ?? false }
    }

    let resolver: any DNSResolver

    public init(resolver: any DNSResolver) { self.resolver = resolver }

    public func verify(_ expected: DomainRecords, dkimSelector: String) async -> Outcome {
        var outcome = Outcome(passed: [:], found: [:], errors: [:])
        let domain = expected.domain
        do {
            let rootTXT = try await resolver.txt(domain)
            outcome.found[.ownership] = rootTXT
            outcome.passed[.ownership] = expected.ownershipPasses(rootTXT: rootTXT)
            outcome.found[.spf] = rootTXT.filter { $0.lowercased().hasPrefix("v=spf1") }
            outcome.passed[.spf] = expected.spfPasses(rootTXT: rootTXT)
        } catch {
            outcome.errors[.ownership] = error.description
            outcome.errors[.spf] = error.description
        }
        do {
            let mx = try await resolver.mx(domain)
            outcome.found[.mx] = mx.map { "\($0.priority) \($0.host)" }
            outcome.passed[.mx] = expected.mxPasses(mx)
        } catch {
            outcome.errors[.mx] = error.description
        }
        do {
            let dkim = try await txtFollowingCNAME("\(dkimSelector)._domainkey.\(domain)")
            outcome.found[.dkim] = dkim
            outcome.passed[.dkim] = expected.dkimPasses(dkim)
        } catch {
            outcome.errors[.dkim] = error.description
        }
        do {
            let dmarc = try await txtFollowingCNAME("_dmarc.\(domain)")
            outcome.found[.dmarc] = dmarc
            outcome.passed[.dmarc] = expected.dmarcPasses(dmarc)
        } catch {
            outcome.errors[.dmarc] = error.description
        }
        return outcome
    }

    /// TXT records at `name`; when there are none and `name` is a CNAME (a DKIM key delegated to
    /// another zone), those of its target, up to three hops.
    func txtFollowingCNAME(_ name: String) async throws(DNSError) -> [String] {
        var current = name
        for _ in 0..<4 {
            let records = try await resolver.txt(current)
            if !records.isEmpty { return records }
            guard let target = try await resolver.cname(current).first else { return [] }
            current = target
        }
        return []
    }
}
