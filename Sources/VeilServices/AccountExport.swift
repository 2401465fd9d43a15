import Foundation
import VeilCore
import VeilStore

/// What "export my data" hands out, in SimpleLogin's shape.
public struct AccountExport: Sendable, Equatable, Encodable {
    public struct ExportedAliasState: Sendable, Equatable, Encodable {
        public var email: String
        public var enabled: Bool
    }

    public var email: String
    public var name: String?
    public var aliases: [ExportedAliasState]
    public var customDomains: [String]
    /// SimpleLogin lists its OAuth apps here; Veil has none.
    public var apps: [String] = []

    enum CodingKeys: String, CodingKey {
        case email, name, aliases, customDomains = "custom_domains", apps
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(email, forKey: .email)
        try container.encode(name, forKey: .name)  // null when unset, as SimpleLogin writes it
        try container.encode(aliases, forKey: .aliases)
        try container.encode(customDomains, forKey: .customDomains)
        try container.encode(apps, forKey: .apps)
    }
}

extension Services {
    public func accountExport(user: User, userId: Int64) throws -> AccountExport {
        AccountExport(
            email: user.email, name: user.name,
            aliases: try store.exportedAliases(userId: userId).map { .init(email: $0.email, enabled: $0.enabled) },
            customDomains: try store.customDomainNames(userId: userId))
    }
}
