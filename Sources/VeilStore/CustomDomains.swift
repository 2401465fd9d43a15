import Foundation
import GRDB
import VeilCore

/// A custom domain with what its API object shows.
public struct CustomDomainView: Sendable {
    public var domain: CustomDomain
    public var aliasCount: Int
    /// The mailboxes new catch-all aliases go to; empty means the user's default mailbox.
    public var mailboxes: [Mailbox]
}

extension Store {
    /// The user's custom domains, oldest first, each with its alias count and mailboxes.
    public func customDomainViews(userId: Int64) throws -> [CustomDomainView] {
        try pool.read { db in
            let domains = try CustomDomain.filter(Column("user_id") == userId).order(Column("id")).fetchAll(db)
            return try domains.map { try Self.view(of: $0, db) }
        }
    }

    public func customDomainView(id: Int64, userId: Int64) throws -> CustomDomainView? {
        try pool.read { db in
            guard let domain = try CustomDomain.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else { return nil }
            return try Self.view(of: domain, db)
        }
    }

    static func view(of domain: CustomDomain, _ db: Database) throws -> CustomDomainView {
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM aliases WHERE custom_domain_id = ? AND trashed_at IS NULL",
                                     arguments: [domain.id]) ?? 0
        let mailboxes = try Mailbox.fetchAll(db, sql: """
            SELECT mailboxes.* FROM mailboxes JOIN custom_domain_mailboxes ON mailbox_id = mailboxes.id
            WHERE custom_domain_id = ? ORDER BY mailboxes.id
            """, arguments: [domain.id])
        return CustomDomainView(domain: domain, aliasCount: count, mailboxes: mailboxes)
    }

    /// Adds a domain for the user; `StoreError.conflict` when any user already has it.
    public func createCustomDomain(userId: Int64, domain: String, dkimPrivateKey: String, now: Date = Date()) throws -> CustomDomain {
        var record = CustomDomain(userId: userId, domain: domain.lowercased(), ownershipToken: DKIMKeyMaterial.ownershipToken(), createdAt: now)
        record.dkimPrivateKey = dkimPrivateKey
        do {
            return try inserted(record)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw StoreError.conflict("\(domain) already used")
        }
    }

    /// Applies `change` to the user's domain; nil when it is not theirs.
    @discardableResult
    public func updateCustomDomain(id: Int64, userId: Int64, _ change: (inout CustomDomain) -> Void) throws -> CustomDomain? {
        try pool.write { db in
            guard var domain = try CustomDomain.filter(Column("id") == id && Column("user_id") == userId).fetchOne(db) else { return nil }
            change(&domain)
            domain.id = id
            domain.userId = userId
            try domain.update(db)
            return domain
        }
    }

    /// Replaces the mailboxes of a domain; only the user's verified mailboxes are accepted.
    /// False when the domain or one of the mailboxes is not the user's (nothing changes).
    public func setCustomDomainMailboxes(domainId: Int64, userId: Int64, mailboxIds: [Int64]) throws -> Bool {
        try pool.write { db in
            guard try CustomDomain.filter(Column("id") == domainId && Column("user_id") == userId).fetchCount(db) == 1 else { return false }
            let unique = Array(Set(mailboxIds))
            let owned = try Mailbox.filter(unique.contains(Column("id")) && Column("user_id") == userId && Column("verified") == true)
                .fetchCount(db)
            guard !unique.isEmpty, owned == unique.count else { return false }
            try db.execute(sql: "DELETE FROM custom_domain_mailboxes WHERE custom_domain_id = ?", arguments: [domainId])
            for mailboxId in unique {
                try db.execute(sql: "INSERT INTO custom_domain_mailboxes (custom_domain_id, mailbox_id) VALUES (?, ?)",
                               arguments: [domainId, mailboxId])
            }
            return true
        }
    }

    /// Addresses of the domain that were deleted and can never be created again, newest first.
    public func customDomainTrash(domainId: Int64) throws -> [(email: String, deletedAt: Date)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT email, created_at FROM deleted_aliases WHERE custom_domain_id = ? ORDER BY created_at DESC, id DESC",
                             arguments: [domainId])
                .map { ($0["email"], Date(timeIntervalSince1970: TimeInterval($0["created_at"] as Int64))) }
        }
    }

    /// Deletes the domain with its aliases, their logs and contacts, and its trash (the addresses
    /// become free again should the domain come back). False when it is not the user's.
    public func deleteCustomDomain(id: Int64, userId: Int64) throws -> Bool {
        try pool.write { db in
            guard try CustomDomain.filter(Column("id") == id && Column("user_id") == userId).fetchCount(db) == 1 else { return false }
            try db.execute(sql: "DELETE FROM aliases WHERE custom_domain_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM custom_domains WHERE id = ?", arguments: [id])
            return true
        }
    }

    /// Stores what a DNS check found. `verified` (mail may flow) needs ownership and MX.
    @discardableResult
    public func recordDomainChecks(id: Int64, userId: Int64, ownership: Bool, mx: Bool, spf: Bool, dkim: Bool, dmarc: Bool,
                                   now: Date = Date()) throws -> CustomDomain? {
        try updateCustomDomain(id: id, userId: userId) { domain in
            // Ownership, once shown, stays shown: a later DNS hiccup must not cut off mail.
            domain.verified = domain.verified || (ownership && mx)
            domain.mxVerified = mx
            domain.spfVerified = spf
            domain.dkimVerified = dkim
            domain.dmarcVerified = dmarc
            domain.lastCheckedAt = now
        }
    }
}
