import Foundation

/// Reverse-alias addresses: what the alias owner writes to so that a reply reaches a contact
/// (spec/mail.md R-2.13–R-2.16, spec/api.md §2.2).
public enum ReverseAlias {
    public static let maxAttempts = 1000

    /// `<20–50 random letters>@domain`, or with `includeSender`
    /// `<sender slug ≤45>_<5–10 random letters>@domain`. The local part never exceeds 64 octets.
    public static func generate(senderAddress: String, includeSender: Bool, domain: String) -> String {
        let slug = includeSender ? senderSlug(senderAddress) : ""
        if slug.isEmpty {
            let length = SecureRandom.int(in: 20...50)
            return SecureRandom.string(length: length, alphabet: SecureRandom.lowercaseLetters) + "@" + domain
        }
        let random = SecureRandom.string(length: SecureRandom.int(in: 5...10), alphabet: SecureRandom.lowercaseLetters)
        return slug + "_" + random + "@" + domain
    }

    /// A fresh address that `isTaken` (contacts, aliases, deleted aliases) does not know;
    /// nil after `maxAttempts` collisions.
    public static func unique(senderAddress: String, includeSender: Bool, domain: String,
                              isTaken: (String) throws -> Bool) rethrows -> String? {
        for _ in 0..<maxAttempts {
            let candidate = generate(senderAddress: senderAddress, includeSender: includeSender, domain: domain)
            if try !isTaken(candidate) { return candidate }
        }
        return nil
    }

    /// `test.dot@example.org` → `test_dot_at_example_org`; at most 45 characters of `[a-z0-9_.-]`.
    public static func senderSlug(_ address: String) -> String {
        let replaced = address.replacingOccurrences(of: "@", with: "_at_").replacingOccurrences(of: ".", with: "_")
            .lowercased()
        let ascii = Transliteration.ascii(replaced).replacingOccurrences(of: " ", with: "")
        let mapped = AliasPrefix.mapDisallowed(ascii).lowercased()
        return String(mapped.prefix(45))
    }

    /// How the API shows a contact: `"<name> | <formatted address>" <reverse alias>` (spec/api.md §2.2).
    public static func display(contactName: String?, contactEmail: String, reverseAlias: String,
                               format: SenderFormat) -> String {
        var text = ""
        display(contactName: contactName, contactEmail: contactEmail, reverseAlias: reverseAlias, format: format, to: &text)
        return text
    }

    /// The same text, streamed in pieces (the API writes it straight into a JSON answer, where
    /// building the string first cost an allocation per piece on every alias of a page).
    public static func display(contactName: String?, contactEmail: String, reverseAlias: String,
                               format: SenderFormat, to output: inout some TextOutputStream) {
        output.write("\"")
        if let contactName, contactName.utf8.contains(where: { $0 != UInt8(ascii: "\"") }) {
            TextFormat.write(contactName, replacing: "\"", with: "", to: &output)
            output.write(" | ")
        }
        switch format {
        case .at: TextFormat.write(contactEmail, replacing: "@", with: " at ", to: &output)
        case .a: TextFormat.write(contactEmail, replacing: "@", with: "(a)", to: &output)
        case .nameOnly, .atOnly, .noName: output.write(contactEmail)
        }
        output.write("\" <")
        output.write(reverseAlias)
        output.write(">")
    }
}
