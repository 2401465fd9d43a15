import Foundation
import VeilCore

/// What the mail pipeline needs to know about the deployment.
public struct MailConfiguration: Sendable {
    /// Veil's own alias domains (random and custom aliases live there).
    public var aliasDomains: [String]
    /// The primary domain: reverse-aliases, noreply, the domain of Veil's own notices.
    public var emailDomain: String
    /// Addresses that accept mail and drop it (spec/mail.md R-1.13).
    public var noreplyAddresses: Set<String>
    public var verpPrefix: String
    public var verpLifetime: TimeInterval
    /// R-2.28: more To + Cc addresses than this are refused.
    public var maxForwardRecipients: Int
    /// Appendix A: on by default, 10 a minute per alias and 15 per mailbox.
    public var rateLimits: Bool
    public var maxPerAliasPerMinute: Int
    public var maxPerMailboxPerMinute: Int
    /// Alerts of one kind a user gets per day at most (R-5.3).
    public var maxAlertsPerDay: Int
    /// Catch-all creation respects the same quota as the API.
    public var quota: AliasQuota
    /// Permanent forward-phase bounces in 24 h after which a mailbox is marked bouncing (no more
    /// forwards until its owner re-enables it).
    public var maxBouncesPerDay: Int
    /// For this long after a mailbox was disabled for bouncing, its copies are deferred (4xx, the
    /// sender retries) rather than refused, so re-enabling it in time loses nothing.
    public var bouncingMailboxGrace: TimeInterval = 5 * 86_400
    /// The API's public URL, for links in the notices Veil sends (nil: no links).
    public var publicURL: String?
    /// The authserv-id of the MTA whose `Authentication-Results` Veil trusts; nil trusts the
    /// topmost one (the field the nearest MTA prepended).
    public var authservID: String?
    /// A second DKIM signature, Ed25519 (RFC 8463), besides the RSA one.
    public var ed25519Signatures: Bool

    public init(aliasDomains: [String], emailDomain: String, noreplyAddresses: Set<String>? = nil,
                verpPrefix: String = "sl", verpLifetime: TimeInterval = 7 * 24 * 3600, maxForwardRecipients: Int = 30,
                rateLimits: Bool = true, maxPerAliasPerMinute: Int = 10, maxPerMailboxPerMinute: Int = 15,
                maxAlertsPerDay: Int = 5, quota: AliasQuota = AliasQuota(), maxBouncesPerDay: Int = 5, authservID: String? = nil, ed25519Signatures: Bool = false) {
        self.aliasDomains = aliasDomains.map { $0.lowercased() }
        self.emailDomain = emailDomain.lowercased()
        self.noreplyAddresses = noreplyAddresses ?? ["noreply@" + emailDomain.lowercased()]
        self.verpPrefix = verpPrefix
        self.verpLifetime = verpLifetime
        self.maxForwardRecipients = maxForwardRecipients
        self.rateLimits = rateLimits
        self.maxPerAliasPerMinute = maxPerAliasPerMinute
        self.maxPerMailboxPerMinute = maxPerMailboxPerMinute
        self.maxAlertsPerDay = maxAlertsPerDay
        self.quota = quota
        self.maxBouncesPerDay = maxBouncesPerDay
        self.authservID = authservID
        self.ed25519Signatures = ed25519Signatures
    }

    /// Domains whose addresses Veil answers for (custom domains come from the store).
    public func isOwnDomain(_ domain: String) -> Bool {
        domain == emailDomain || aliasDomains.contains(domain)
    }
}
