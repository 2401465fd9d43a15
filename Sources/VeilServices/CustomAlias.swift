import Foundation
import HTTPTypes
import VeilCore
import VeilStore

/// Why an alias was not created, with SimpleLogin's message.
public struct AliasRefusal: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case invalid, conflict, expired

        public var status: HTTPResponse.Status {
            switch self {
            case .invalid: return .badRequest
            case .conflict: return .conflict
            case .expired: return .preconditionFailed
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

extension Services {
    public struct Suffix: Sendable, Equatable {
        public var suffix: String
        public var isCustom: Bool
        public var isPremium: Bool
        public var customDomainId: Int64?
    }

    /// The suffixes offered to a user, in SimpleLogin's order (§4.1).
    public func suffixes(for user: User, userId: Int64) throws -> [Suffix] {
        var custom: [Suffix] = []
        for domain in try store.verifiedCustomDomains(userId: userId) {
            var entries: [Suffix] = []
            if domain.randomPrefixGeneration {
                let part = RandomAliasGenerator.suffixPart(user.randomAliasSuffix, customDomain: true)
                entries.append(Suffix(suffix: "." + part + "@" + domain.domain, isCustom: true, isPremium: false, customDomainId: domain.id))
            }
            entries.append(Suffix(suffix: "@" + domain.domain, isCustom: true, isPremium: false, customDomainId: domain.id))
            if domain.id == user.defaultCustomDomainId { custom.insert(contentsOf: entries, at: 0) } else { custom += entries }
        }
        var builtIn: [Suffix] = []
        for domain in builtInDomains(for: user) {
            let part = RandomAliasGenerator.suffixPart(user.randomAliasSuffix, customDomain: false)
            let entry = Suffix(suffix: "." + part + "@" + domain, isCustom: false,
                               isPremium: configuration.premiumAliasDomains.contains(domain), customDomainId: nil)
            if domain == user.randomAliasDefaultDomain, user.defaultCustomDomainId == nil { builtIn.insert(entry, at: 0) } else { builtIn.append(entry) }
        }
        return custom + builtIn
    }

    /// A custom alias `prefix + suffix`, the suffix as signed by the options the user was offered;
    /// checks in SimpleLogin's order, each refusal with its message. Quota and rate limit are the
    /// caller's, checked before.
    public func createCustomAlias(user: User, userId: Int64, prefix rawPrefix: String, signedSuffix: String,
                                  mailboxIds: [Int64], name: String?, note: String?,
                                  invalidEmailMessage: String = "Email alias is invalid") async throws -> AliasView {
        let prefix = AliasPrefix.normalize(rawPrefix)
        guard AliasPrefix.isValid(prefix) else { throw AliasRefusal(.invalid, "alias prefix invalid format or too long") }
        guard !mailboxIds.isEmpty else { throw AliasRefusal(.invalid, "At least one mailbox must be selected") }
        for id in mailboxIds where try store.verifiedMailbox(id: id, userId: userId) == nil {
            throw AliasRefusal(.invalid, "Errors with Mailbox")
        }
        let suffix: String
        do {
            suffix = try suffixSigner.verify(signedSuffix, now: Date())
        } catch .malformed {
            throw AliasRefusal(.invalid, "Tampered suffix")
        } catch {
            throw AliasRefusal(.expired, "Alias creation time is expired, please retry")
        }
        guard let at = suffix.firstIndex(of: "@") else { throw AliasRefusal(.invalid, "wrong alias prefix or suffix") }
        let suffixDomain = String(suffix[suffix.index(after: at)...]).lowercased()
        var customDomainId: Int64?
        if builtInDomains(for: user).contains(suffixDomain) {
            guard suffix.hasPrefix(".") else { throw AliasRefusal(.invalid, "wrong alias prefix or suffix") }
        } else if let custom = try store.verifiedCustomDomains(userId: userId).first(where: { $0.domain == suffixDomain }) {
            customDomainId = custom.id
        } else {
            throw AliasRefusal(.invalid, "wrong alias prefix or suffix")
        }
        let email = (prefix + suffix).lowercased()
        if try store.isAddressTaken(email) { throw AliasRefusal(.conflict, "alias \(email) already exists") }
        if email.contains("..") { throw AliasRefusal(.invalid, "2 consecutive dot signs aren't allowed in an email address") }
        guard EmailAddress.isValid(email) else { throw AliasRefusal(.invalid, invalidEmailMessage) }
        do {
            return try await store.createAliasBatched(userId: userId, email: email, mailboxIds: mailboxIds,
                                                      customDomainId: customDomainId, name: name, note: note)
        } catch StoreError.conflict {
            throw AliasRefusal(.conflict, "alias \(email) already exists")
        }
    }
}

/// Names lose their line breaks; empty means none.
public func cleanName(_ name: String?) -> String? {
    guard let name else { return nil }
    let cleaned = name.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
    return cleaned.isEmpty ? nil : cleaned
}
