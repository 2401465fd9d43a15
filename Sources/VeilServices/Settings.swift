import Foundation
import VeilCore
import VeilStore

/// The settings a user may change; nil leaves one as it is.
public struct SettingChange: Sendable, Equatable {
    public var notification: Bool?
    public var aliasGenerator: AliasGenerator?
    public var senderFormat: SenderFormat?
    public var randomAliasSuffix: RandomAliasSuffix?
    /// A built-in alias domain or a verified custom domain of the user, by name.
    public var randomAliasDefaultDomain: String?
    public var blockBehaviour: BlockBehaviour?
    public var includeSenderInReverseAlias: Bool?

    public init() {}
}

/// A setting that cannot be applied, with SimpleLogin's message.
public struct SettingRefusal: Error, Sendable, Equatable {
    public var message: String
}

extension Services {
    /// Checks every field before storing any, so a refused change changes nothing.
    public func applySettings(_ change: SettingChange, user: User, userId: Int64) throws -> User {
        enum DomainChoice { case builtIn(String), custom(Int64) }
        var domainChoice: DomainChoice?
        if let raw = change.randomAliasDefaultDomain {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if configuration.aliasDomains.contains(name) {
                guard builtInDomains(for: user).contains(name) else { throw SettingRefusal(message: "You cannot use this domain") }
                domainChoice = .builtIn(name)
            } else if let custom = try store.verifiedCustomDomains(userId: userId).first(where: { $0.domain == name }), let id = custom.id {
                domainChoice = .custom(id)
            } else {
                throw SettingRefusal(message: "invalid domain")
            }
        }
        let updated = try store.updateUser(id: userId) { stored in
            if let value = change.notification { stored.notification = value }
            if let value = change.aliasGenerator { stored.aliasGenerator = value }
            if let value = change.senderFormat { stored.senderFormat = value }
            if let value = change.randomAliasSuffix { stored.randomAliasSuffix = value }
            if let value = change.blockBehaviour { stored.blockBehaviour = value }
            if let value = change.includeSenderInReverseAlias { stored.includeSenderInReverseAlias = value }
            switch domainChoice {
            case .builtIn(let name):
                stored.randomAliasDefaultDomain = name
                stored.defaultCustomDomainId = nil
            case .custom(let id):
                stored.defaultCustomDomainId = id
                stored.randomAliasDefaultDomain = nil
            case nil: break
            }
        }
        return updated ?? user
    }
}
