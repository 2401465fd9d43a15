import Foundation
import VeilCore
import VeilStore

/// Creating aliases the same way from the API and the dashboard.
extension Services {
    /// SimpleLogin's per-user creation limit, shared by every front end.
    public func allowAliasCreation(userId: Int64) -> Bool {
        rateLimiter.allow("alias-create:\(userId)", limits: RateLimiter.aliasCreation)
    }

    /// A random alias on the user's default domain and mailbox; nil when no free address was
    /// drawn in `RandomAliasGenerator.maxAttempts` tries (or the user has no default mailbox).
    public func createRandomAlias(user: User, userId: Int64, scheme: AliasGenerator, note: String?) async throws -> AliasView? {
        guard let mailboxId = user.defaultMailboxId else { return nil }
        let (domain, customDomainId) = try defaultRandomDomain(for: user, userId: userId)
        for _ in 0..<RandomAliasGenerator.maxAttempts {
            // No separate "is it taken?" read: the insert checks inside its transaction and a
            // taken address comes back as a conflict, which draws another one.
            guard let email = RandomAliasGenerator.address(scheme, domain: domain, isTaken: { _ in false }) else { break }
            do {
                return try await store.createAliasBatched(userId: userId, email: email, mailboxIds: [mailboxId],
                                                          customDomainId: customDomainId, note: note)
            } catch StoreError.conflict {
                continue
            }
        }
        return nil
    }
}
