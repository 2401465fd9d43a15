import Foundation
import HTTPTypes
import VeilCore
import VeilStore

/// Why a contact was not created, with SimpleLogin's message.
public struct ContactRefusal: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String
}

extension Services {
    /// Free users flagged by the admin create no contacts while the instance's switch is on.
    public func checkContactCreationAllowed(_ user: User) throws {
        if configuration.disableCreateContactsForFree, user.cannotCreateContacts, !user.isPremium {
            throw ContactRefusal(status: .forbidden, message: "Please upgrade to premium to create reverse-alias")
        }
    }

    /// The contact `raw` (`Name <address>` or an address) of the alias, created with its
    /// reverse-alias unless it exists; `existed` says which.
    public func createContact(alias: Alias, user: User, raw: String) throws -> (contact: Contact, existed: Bool) {
        try checkContactCreationAllowed(user)
        if raw.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ContactRefusal(status: .badRequest, message: "Empty address is not a valid email address")
        }
        // A reverse-alias is never a contact: mail to it would loop back into Veil.
        guard let parsed = NamedAddress.parse(raw), EmailAddress.isValid(parsed.address),
              try store.contact(reverseAlias: parsed.address) == nil
        else { throw ContactRefusal(status: .badRequest, message: "\(raw) is not a valid email address") }
        return try store.findOrCreateContact(
            alias: alias, websiteEmail: parsed.address, name: parsed.name,
            reverseAliasDomain: configuration.emailDomain, includeSender: user.includeSenderInReverseAlias)
    }
}
