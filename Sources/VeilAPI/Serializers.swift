import Foundation
import VeilCore
import VeilStore

/// The JSON shapes of spec/api.md §2.
enum Serialize {
    static func mailboxRef(_ mailbox: Mailbox) -> JSON {
        ["id": .optional(mailbox.id), "email": .string(mailbox.email)]
    }

    /// Alias object, v2 serialisation (§2.1).
    static func alias(_ view: AliasView, format: SenderFormat) -> JSON {
        let alias = view.alias
        var latest: JSON = .null
        if let log = view.latestLog {
            let contact = view.latestContact
            latest = [
                "timestamp": APIDate.timestamp(log.createdAt),
                "action": .string(log.action.rawValue),
                "contact": [
                    "email": .string(contact?.websiteEmail ?? ""),
                    "name": .optional(contact?.name),
                    "reverse_alias": .string(contact.map { reverseAliasDisplay($0, format: format) } ?? ""),
                ],
            ]
        }
        let primary = view.mailboxes.first
        return [
            "id": .optional(alias.id),
            "email": .string(alias.email),
            "name": .optional(alias.name),
            "note": .optional(alias.note),
            "enabled": .bool(alias.enabled),
            "pinned": .bool(alias.pinned),
            "creation_date": .string(APIDate.string(alias.createdAt)),
            "creation_timestamp": APIDate.timestamp(alias.createdAt),
            "nb_forward": .int(Int64(alias.nbForward)),
            "nb_block": .int(Int64(alias.nbBlock)),
            "nb_reply": .int(Int64(alias.nbReply)),
            "mailbox": primary.map(mailboxRef) ?? .null,
            "mailboxes": .array(view.mailboxes.map(mailboxRef)),
            "support_pgp": .bool(view.mailboxes.contains { $0.pgpPublicKey != nil }),
            "disable_pgp": .bool(alias.disablePgp),
            "latest_activity": latest,
        ]
    }

    /// Creation answers add the address as a top-level `alias` field (Bitwarden reads it).
    static func createdAlias(_ view: AliasView, format: SenderFormat) -> JSON {
        guard case .object(var members) = alias(view, format: format) else { return .null }
        members.append(("alias", .string(view.alias.email)))
        return .object(members)
    }

    /// v1 serialisation, for the legacy `/api/aliases`.
    static func aliasV1(_ alias: Alias) -> JSON {
        [
            "id": .optional(alias.id),
            "email": .string(alias.email),
            "creation_date": .string(APIDate.string(alias.createdAt)),
            "creation_timestamp": APIDate.timestamp(alias.createdAt),
            "enabled": .bool(alias.enabled),
            "note": .optional(alias.note),
            "nb_forward": .int(Int64(alias.nbForward)),
            "nb_block": .int(Int64(alias.nbBlock)),
            "nb_reply": .int(Int64(alias.nbReply)),
        ]
    }

    static func reverseAliasDisplay(_ contact: Contact, format: SenderFormat) -> String {
        ReverseAlias.display(contactName: contact.name, contactEmail: contact.websiteEmail,
                             reverseAlias: contact.replyEmail, format: format)
    }

    /// Contact object (§2.2).
    static func contact(_ contact: Contact, format: SenderFormat, existed: Bool = false) -> JSON {
        [
            "id": .optional(contact.id),
            "contact": .string(contact.websiteEmail),
            "creation_date": .string(APIDate.string(contact.createdAt)),
            "creation_timestamp": APIDate.timestamp(contact.createdAt),
            "last_email_sent_date": contact.lastEmailSentAt.map { .string(APIDate.string($0)) } ?? .null,
            "last_email_sent_timestamp": contact.lastEmailSentAt.map(APIDate.timestamp) ?? .null,
            "reverse_alias": .string(reverseAliasDisplay(contact, format: format)),
            "reverse_alias_address": .string(contact.replyEmail),
            "existed": .bool(existed),
            "block_forward": .bool(contact.blockForward),
        ]
    }

    /// Mailbox object (§2.3).
    static func mailbox(_ mailbox: Mailbox, isDefault: Bool, aliasCount: Int) -> JSON {
        [
            "id": .optional(mailbox.id),
            "email": .string(mailbox.email),
            "verified": .bool(mailbox.verified),
            "default": .bool(isDefault),
            "creation_timestamp": APIDate.timestamp(mailbox.createdAt),
            "nb_alias": .int(Int64(aliasCount)),
        ]
    }
}

extension Serialize {
    /// Custom domain object (§2.4); `mailboxes` already falls back to the default mailbox.
    static func customDomain(_ view: CustomDomainView, mailboxes: [Mailbox]) -> JSON {
        let domain = view.domain
        return [
            "id": .optional(domain.id),
            "domain_name": .string(domain.domain),
            "is_verified": .bool(domain.verified),
            "nb_alias": .int(Int64(view.aliasCount)),
            "creation_date": .string(APIDate.string(domain.createdAt)),
            "creation_timestamp": APIDate.timestamp(domain.createdAt),
            "catch_all": .bool(domain.catchAll),
            "name": .optional(domain.name),
            "random_prefix_generation": .bool(domain.randomPrefixGeneration),
            "mailboxes": .array(mailboxes.map(mailboxRef)),
        ]
    }
}
