import Foundation
import VeilCore
import VeilServices
import VeilStore

/// The JSON shapes of spec/api.md §2.
enum Serialize {
    static func mailboxRef(_ mailbox: Mailbox) -> JSON {
        ["id": .optional(mailbox.id), "email": .string(mailbox.email)]
    }

    /// Alias object, v2 serialisation (§2.1), written straight into the answer: every alias of a
    /// page goes through here. Creation answers add the address as a top-level `alias` field
    /// (Bitwarden reads it).
    static func alias(_ view: AliasView, format: SenderFormat, to json: inout JSONWriter, isCreation: Bool = false) {
        let alias = view.alias
        json.beginObject()
        json.key("id"); json.optional(alias.id)
        json.key("email"); json.string(alias.email)
        json.key("name"); json.optional(alias.name)
        json.key("note"); json.optional(alias.note)
        json.key("enabled"); json.bool(alias.enabled)
        json.key("pinned"); json.bool(alias.pinned)
        json.key("creation_date"); APIDate.write(alias.createdAt, to: &json)
        json.key("creation_timestamp"); json.int(APIDate.seconds(alias.createdAt))
        json.key("nb_forward"); json.int(Int64(alias.nbForward))
        json.key("nb_block"); json.int(Int64(alias.nbBlock))
        json.key("nb_reply"); json.int(Int64(alias.nbReply))
        json.key("mailbox")
        if let primary = view.mailboxes.first { mailboxRef(primary, to: &json) } else { json.null() }
        json.key("mailboxes")
        json.beginArray()
        for mailbox in view.mailboxes { mailboxRef(mailbox, to: &json) }
        json.endArray()
        json.key("support_pgp"); json.bool(view.mailboxes.contains(where: \.hasPGPKey))
        json.key("disable_pgp"); json.bool(alias.disablePgp)
        json.key("latest_activity")
        if let activity = view.latestActivity {
            let contact = activity.contact
            json.beginObject()
            json.key("timestamp"); json.int(APIDate.seconds(activity.createdAt))
            json.key("action"); json.string(activity.action.rawValue)
            json.key("contact")
            json.beginObject()
            json.key("email"); json.string(contact?.websiteEmail ?? "")
            json.key("name"); json.optional(contact?.name)
            json.key("reverse_alias")
            json.beginString()
            if let contact {
                ReverseAlias.display(contactName: contact.name, contactEmail: contact.websiteEmail,
                                     reverseAlias: contact.replyEmail, format: format, to: &json)
            }
            json.endString()
            json.endObject()
            json.endObject()
        } else {
            json.null()
        }
        if isCreation {
            json.key("alias"); json.string(alias.email)
        }
        json.endObject()
    }

    static func mailboxRef(_ mailbox: AliasView.MailboxRef, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.int(mailbox.id)
        json.key("email"); json.string(mailbox.email)
        json.endObject()
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
            // Veil's own: false while the mailbox receives nothing (its owner's choice, or bounces).
            "enabled": .bool(!mailbox.disabled),
            "disabled_for_bounces": .bool(mailbox.disabled && mailbox.disabledAt != nil),
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
