import Foundation

/// Rules for e-mail addresses typed by people or found in envelopes (spec/api.md §1.6, spec/mail.md R-1.1).
public enum EmailAddress {
    /// Providers that ignore dots and `+tag` in the local part.
    static let canonicalisingDomains: Set<String> = ["gmail.com", "googlemail.com", "protonmail.com", "proton.me", "pm.me"]

    /// Trimmed, internal spaces removed, lower-cased, U+200F removed.
    public static func sanitize(_ raw: String) -> String {
        var result = ""
        result.reserveCapacity(raw.utf8.count)
        for scalar in raw.unicodeScalars where scalar != "\u{200F}" && !scalar.properties.isWhitespace {
            result.unicodeScalars.append(scalar)
        }
        return result.lowercased()
    }

    /// The sanitized address with provider-specific aliasing removed (`a.b+c@gmail.com` → `ab@gmail.com`).
    public static func canonical(_ raw: String) -> String {
        let email = sanitize(raw)
        guard let (local, domain) = split(email), canonicalisingDomains.contains(domain) else { return email }
        var base = Substring(local)
        if let plus = base.firstIndex(of: "+") { base = base[..<plus] }
        return base.replacingOccurrences(of: ".", with: "") + "@" + domain
    }

    /// Splits at the last `@`; nil when either side is empty.
    public static func split(_ email: String) -> (local: String, domain: String)? {
        guard let at = email.lastIndex(of: "@") else { return nil }
        let local = String(email[..<at])
        let domain = String(email[email.index(after: at)...])
        guard !local.isEmpty, !domain.isEmpty else { return nil }
        return (local, domain)
    }

    public static func domain(of email: String) -> String? { split(email)?.domain }

    /// A conservative check of an ASCII address: dot-atom local part (≤ 64 octets) and a
    /// hostname with at least two labels (≤ 253 octets).
    public static func isValid(_ email: String) -> Bool {
        guard email.utf8.count <= 254, let (local, domain) = split(email) else { return false }
        return isValidLocalPart(local) && isValidDomain(domain)
    }

    public static func isValidLocalPart(_ local: String) -> Bool {
        guard (1...64).contains(local.utf8.count), !local.hasPrefix("."), !local.hasSuffix("."),
              !local.contains("..")
        else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.")
        return local.allSatisfy { allowed.contains($0) }
    }

    public static func isValidDomain(_ domain: String) -> Bool {
        guard (3...253).contains(domain.utf8.count) else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.utf8.count), !label.hasPrefix("-"), !label.hasSuffix("-"),
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
            else { return false }
        }
        // The top-level label is never all digits (rules out bare IPv4 addresses).
        return !(labels.last?.allSatisfy(\.isNumber) ?? true)
    }
}

/// `"Display Name <addr@x.com>"` or a bare `addr@x.com`, as people type a correspondent.
public struct NamedAddress: Sendable, Equatable {
    public var name: String?
    public var address: String

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }

    public static func parse(_ raw: String) -> NamedAddress? {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return nil }
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            let address = text[text.index(after: open)..<text.index(before: text.endIndex)]
                .trimmingCharacters(in: .whitespaces)
            var name = text[..<open].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
            guard !address.isEmpty, !address.contains("<"), !address.contains(" ") else { return nil }
            return NamedAddress(name: name.isEmpty ? nil : name, address: address)
        }
        guard !text.contains(" "), !text.contains("<"), !text.contains(">") else { return nil }
        return NamedAddress(name: nil, address: text)
    }
}
