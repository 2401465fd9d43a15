import Foundation
import Synchronization
import VeilCore
import VeilDNS
import VeilStore

/// What the API is configured with.
public struct ServiceConfiguration: Sendable {
    /// Built-in alias domains in the order clients are offered them.
    public var aliasDomains: [String]
    /// Built-in domains only premium users may use.
    public var premiumAliasDomains: Set<String>
    /// Veil's own domain: reverse-aliases live here.
    public var emailDomain: String
    public var quota: AliasQuota
    /// SimpleLogin's per-account and per-IP limits on abuse-prone endpoints.
    public var rateLimitsEnabled: Bool
    /// Free users after trial flagged `cannot_create_contacts` may not add contacts when on.
    public var disableCreateContactsForFree: Bool
    /// Hosts custom domains point their MX records at, most preferred first.
    public var mxHosts: [String]
    /// Shared secret of the SMS provider webhook (also Twilio's auth token); nil turns it off.
    public var smsWebhookSecret: String?
    /// App Store receipt verification endpoint and shared secrets; nil URL turns payments off.
    public var appleVerifyURL: URL?
    public var appleSharedSecret: String?
    public var appleMacSharedSecret: String?

    public init(aliasDomains: [String], premiumAliasDomains: Set<String> = [], emailDomain: String,
                quota: AliasQuota = AliasQuota(), rateLimitsEnabled: Bool = true, disableCreateContactsForFree: Bool = false,
                mxHosts: [String]? = nil) {
        self.aliasDomains = aliasDomains
        self.premiumAliasDomains = premiumAliasDomains
        self.emailDomain = emailDomain
        self.quota = quota
        self.rateLimitsEnabled = rateLimitsEnabled
        self.disableCreateContactsForFree = disableCreateContactsForFree
        self.mxHosts = mxHosts ?? [emailDomain]
    }
}

/// Everything a route needs, shared by all requests.
public struct Services: Sendable {
    public let store: Store
    public let configuration: ServiceConfiguration
    public let suffixSigner: SuffixSigner
    public let rateLimiter: RateLimiter
    public let domains: CustomDomainManager

    public init(store: Store, configuration: ServiceConfiguration, resolver: any DNSResolver = SystemResolver()) throws {
        self.store = store
        self.configuration = configuration
        self.domains = CustomDomainManager(store: store, configuration: configuration, resolver: resolver)
        self.suffixSigner = SuffixSigner(secret: try store.secret(.suffixSigning))
        self.rateLimiter = RateLimiter(enabled: configuration.rateLimitsEnabled)
    }

    /// Built-in domains this user may use, in configured order.
    public func builtInDomains(for user: User) -> [String] {
        configuration.aliasDomains.filter { user.isPremium || !configuration.premiumAliasDomains.contains($0) }
    }

    /// The domain random aliases go to: the user's verified custom default, else their chosen
    /// built-in domain when usable, else the first built-in domain.
    public func defaultRandomDomain(for user: User, userId: Int64) throws -> (domain: String, customDomainId: Int64?) {
        if let customId = user.defaultCustomDomainId,
           let custom = try store.verifiedCustomDomains(userId: userId).first(where: { $0.id == customId }) {
            return (custom.domain, custom.id)
        }
        let usable = builtInDomains(for: user)
        if let chosen = user.randomAliasDefaultDomain, usable.contains(chosen) { return (chosen, nil) }
        return (usable.first ?? configuration.aliasDomains[0], nil)
    }

    /// Counting is skipped for plans without a limit: a premium user with 100,000 aliases must
    /// not pay for a count on every creation.
    public func canCreateAlias(_ user: User, userId: Int64) throws -> Bool {
        let existing = configuration.quota.limit(for: user) == nil ? 0 : try store.aliasCount(userId: userId)
        return configuration.quota.canCreate(user: user, existingAliases: existing)
    }

    public func quotaMessage(_ user: User) -> String {
        let limit = configuration.quota.limit(for: user) ?? configuration.quota.freeLimit
        return "You have reached the limitation of a free account with the maximum of \(limit) aliases, please upgrade your plan to create more aliases"
    }
}

/// Sliding-window limits kept in memory, per key (account or client address). A lock, not an
/// actor: the critical section is a few comparisons, and an actor hop on every alias creation
/// cost more than the check.
public final class RateLimiter: Sendable {
    let enabled: Bool
    private struct Entry {
        var hits: [ContinuousClock.Instant]
        /// The longest window of the limits this key is checked against: older hits never count.
        var window: Duration
    }
    private let entries = Mutex<[String: Entry]>([:])
    /// Above this many keys, keys with no hit inside their window are dropped.
    let pruneAbove: Int

    public init(enabled: Bool, pruneAbove: Int = 100_000) {
        self.enabled = enabled
        self.pruneAbove = pruneAbove
    }

    /// Records a hit and says whether it stays within every `(count, window)` limit.
    public func allow(_ key: String, limits: [(count: Int, window: Duration)], now: ContinuousClock.Instant = .now) -> Bool {
        guard enabled else { return true }
        let longest = limits.map(\.window).max() ?? .seconds(60)
        return entries.withLock { entries in
            var recent = (entries[key]?.hits ?? []).filter { now - $0 < longest }
            var allowed = true
            for limit in limits where recent.filter({ now - $0 < limit.window }).count >= limit.count {
                allowed = false
                break
            }
            if allowed { recent.append(now) }
            entries[key] = Entry(hits: recent, window: longest)
            if entries.count > pruneAbove {
                entries = entries.filter { _, entry in entry.hits.last.map { now - $0 < entry.window } ?? false }
            }
            return allowed
        }
    }

    /// How many keys are remembered (for tests of the pruning).
    public var keyCount: Int { entries.withLock { $0.count } }

    /// SimpleLogin's alias-creation limit: 100/day, 50/hour, 5/minute per user.
    public static let aliasCreation: [(count: Int, window: Duration)] = [(5, .seconds(60)), (50, .seconds(3600)), (100, .seconds(86_400))]
}
