import Foundation

// Plain domain values. `VeilStore` makes them database records; nothing here does I/O.
// Ids are nil until the row is inserted. Times are whole seconds in UTC.

public struct User: Sendable, Equatable, Codable {
    public var id: Int64?
    public var email: String
    public var name: String?
    public var passwordHash: String?
    public var activated: Bool
    public var disabled: Bool = false
    /// Paid or lifetime plan (set by `veil user create --premium`, an App Store receipt, ...).
    public var isPremium: Bool
    public var trialEnd: Date?
    public var oldFreeLimit: Bool = false
    public var cannotCreateContacts: Bool = false
    public var fidoEnabled: Bool = false
    public var deleteOn: Date?
    public var defaultMailboxId: Int64?
    public var defaultCustomDomainId: Int64?
    public var aliasGenerator: AliasGenerator = .word
    public var notification: Bool = true
    public var randomAliasDefaultDomain: String?
    public var senderFormat: SenderFormat = .at
    public var randomAliasSuffix: RandomAliasSuffix = .word
    public var includeSenderInReverseAlias: Bool = false
    public var blockBehaviour: BlockBehaviour = .return2xx
    public var includeWebsiteInOneClickAlias: Bool = true
    /// Sees the dashboard's admin pages.
    public var isAdmin: Bool = false
    public var createdAt: Date

    public init(email: String, name: String?, passwordHash: String?, activated: Bool, isPremium: Bool,
                trialEnd: Date? = nil, createdAt: Date) {
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.activated = activated
        self.isPremium = isPremium
        self.trialEnd = trialEnd
        self.createdAt = createdAt
    }

    /// In a trial the account looks premium to clients, but the alias quota still applies (spec/api.md §4.5).
    public func inTrial(at now: Date) -> Bool {
        guard let trialEnd else { return false }
        return trialEnd > now
    }
}

public struct ApiKey: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    /// The device or purpose the key was created for.
    public var name: String
    public var keyHash: String
    public var derivationSalt: Data?
    public var lastUsed: Date?
    public var times: Int = 0
    public var sudoUntil: Date?
    public var createdAt: Date

    public init(userId: Int64, name: String, keyHash: String, derivationSalt: Data? = nil, createdAt: Date) {
        self.userId = userId
        self.name = name
        self.keyHash = keyHash
        self.derivationSalt = derivationSalt
        self.createdAt = createdAt
    }
}

public struct Mailbox: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    public var email: String
    public var verified: Bool
    /// Receives no forwards: set by its owner, or by Veil after repeated bounces (`disabledAt`).
    public var disabled: Bool = false
    public var adminDisabled: Bool = false
    /// When Veil disabled it for bouncing; nil when enabled or disabled by its owner.
    public var disabledAt: Date?
    /// Bounces before this moment (the last re-enabling) no longer count towards disabling it.
    public var bouncesCountedSince: Date?
    /// A requested address change, applied once the new address is verified.
    public var newEmail: String?
    public var pgpPublicKey: String?
    public var genericSubject: String?
    public var createdAt: Date

    public init(userId: Int64, email: String, verified: Bool, createdAt: Date) {
        self.userId = userId
        self.email = email
        self.verified = verified
        self.createdAt = createdAt
    }
}

public struct CustomDomain: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    public var domain: String
    public var name: String?
    /// Ownership verified: aliases on the domain may be created and receive mail.
    public var verified: Bool = false
    public var mxVerified: Bool = false
    public var spfVerified: Bool = false
    public var dkimVerified: Bool = false
    public var dmarcVerified: Bool = false
    public var catchAll: Bool = false
    public var randomPrefixGeneration: Bool = false
    public var ownershipToken: String
    public var dkimSelector: String = "veil"
    public var dkimPrivateKey: String?
    public var lastCheckedAt: Date?
    public var createdAt: Date

    public init(userId: Int64, domain: String, ownershipToken: String, createdAt: Date) {
        self.userId = userId
        self.domain = domain
        self.ownershipToken = ownershipToken
        self.createdAt = createdAt
    }
}

public struct Alias: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    public var email: String
    public var name: String?
    public var note: String?
    public var enabled: Bool = true
    public var pinned: Bool = false
    public var disablePgp: Bool = false
    public var customDomainId: Int64?
    /// The primary mailbox; extra ones live in `alias_mailboxes`.
    public var mailboxId: Int64
    public var automaticCreation: Bool = false
    public var cannotBeDisabled: Bool = false
    public var trashedAt: Date?
    public var createdAt: Date
    // Maintained by triggers from email_logs (Schema/0002).
    public var nbForward: Int = 0
    public var nbBlock: Int = 0
    public var nbReply: Int = 0
    public var latestEmailLogId: Int64?
    public var lastActivityAt: Date?

    public init(userId: Int64, email: String, mailboxId: Int64, customDomainId: Int64? = nil,
                name: String? = nil, note: String? = nil, createdAt: Date) {
        self.userId = userId
        self.email = email
        self.mailboxId = mailboxId
        self.customDomainId = customDomainId
        self.name = name
        self.note = note
        self.createdAt = createdAt
        self.lastActivityAt = createdAt
    }
}

public struct Contact: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    public var aliasId: Int64
    /// The correspondent's address, original case kept for display.
    public var websiteEmail: String
    public var name: String?
    /// The reverse-alias the owner writes to.
    public var replyEmail: String
    public var mailFrom: String?
    public var blockForward: Bool = false
    public var isCc: Bool = false
    public var invalidEmail: Bool = false
    public var lastEmailSentAt: Date?
    public var createdAt: Date

    public init(userId: Int64, aliasId: Int64, websiteEmail: String, name: String?, replyEmail: String,
                createdAt: Date) {
        self.userId = userId
        self.aliasId = aliasId
        self.websiteEmail = websiteEmail
        self.name = name
        self.replyEmail = replyEmail
        self.createdAt = createdAt
    }
}

/// What happened to one message for one alias, as the API reports it.
public enum EmailAction: String, Sendable, Codable {
    case forward, reply, block, bounced

    /// What a log shows as: a reply, else a bounce, else a block, else a forward.
    public init(isReply: Bool, bounced: Bool, blocked: Bool) {
        self = isReply ? .reply : bounced ? .bounced : blocked ? .block : .forward
    }
}

public struct EmailLog: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    public var aliasId: Int64
    public var contactId: Int64?
    public var mailboxId: Int64?
    public var bouncedMailboxId: Int64?
    public var isReply: Bool = false
    public var blocked: Bool = false
    public var bounced: Bool = false
    public var autoReplied: Bool = false
    public var isSpam: Bool = false
    public var bounceReason: String?
    public var messageId: String?
    public var veilMessageId: String?
    public var createdAt: Date

    public init(userId: Int64, aliasId: Int64, contactId: Int64?, mailboxId: Int64?, isReply: Bool = false,
                blocked: Bool = false, messageId: String? = nil, createdAt: Date) {
        self.userId = userId
        self.aliasId = aliasId
        self.contactId = contactId
        self.mailboxId = mailboxId
        self.isReply = isReply
        self.blocked = blocked
        self.messageId = messageId
        self.createdAt = createdAt
    }

    /// Precedence as SimpleLogin reports it: reply, else bounced, else block, else forward.
    public var action: EmailAction { EmailAction(isReply: isReply, bounced: bounced, blocked: blocked) }
}

public struct DeletedAlias: Sendable, Equatable, Codable {
    public var id: Int64?
    public var email: String
    public var userId: Int64?
    /// Set for the per-domain trash of a custom domain.
    public var customDomainId: Int64?
    public var reason: String?
    public var createdAt: Date

    public init(email: String, userId: Int64?, customDomainId: Int64?, reason: String?, createdAt: Date) {
        self.email = email
        self.userId = userId
        self.customDomainId = customDomainId
        self.reason = reason
        self.createdAt = createdAt
    }
}

public struct UserNotification: Sendable, Equatable, Codable {
    public var id: Int64?
    public var userId: Int64
    public var title: String?
    public var message: String
    public var read: Bool = false
    public var createdAt: Date

    public init(userId: Int64, title: String?, message: String, createdAt: Date) {
        self.userId = userId
        self.title = title
        self.message = message
        self.createdAt = createdAt
    }
}
