import Foundation

/// Renders the `From` of a forwarded message: the original sender as the display name,
/// the reverse-alias as the address (spec/mail.md R-2.27).
extension SenderFormat {
    /// The display name this format gives a sender; nil means "no display name".
    public func displayName(contactName: String?, contactEmail: String) -> String? {
        let name = (contactName ?? "").trimmingCharacters(in: .whitespaces)
        let hasOwnName = !name.isEmpty && name.lowercased() != contactEmail.lowercased()
        switch self {
        case .at, .a:
            let formatted = self == .at
                ? contactEmail.replacingOccurrences(of: "@", with: " at ")
                : contactEmail.replacingOccurrences(of: "@", with: "(a)")
            if formatted.isEmpty { return hasOwnName ? name : nil }
            return hasOwnName ? name + " - " + formatted : formatted
        case .nameOnly:
            return name.isEmpty ? nil : name
        case .atOnly:
            return contactEmail.isEmpty ? nil : contactEmail.replacingOccurrences(of: "@", with: " at ")
        case .noName:
            return nil
        }
    }

    /// The exact header value, e.g. `"First Last - john at example.com" <rev@veil.test>`.
    public func fromHeader(contactName: String?, contactEmail: String, reverseAlias: String) -> String {
        MailboxFormatting.format(
            displayName: displayName(contactName: contactName, contactEmail: contactEmail), address: reverseAlias)
    }
}

/// `name <address>` the way Python's `email.utils.formataddr` writes it, which is what
/// SimpleLogin's tests compare against: quotes only when the name holds an RFC 5322 special,
/// non-ASCII names as one UTF-8 Q encoded-word (RFC 2047).
public enum MailboxFormatting {
    static let specials = Set<Character>("()<>[]:;@\\,.\"")

    public static func format(displayName raw: String?, address: String) -> String {
        // Control characters (a CR/LF from a decoded encoded-word among them) never reach a header.
        let displayName = raw.map { String(String.UnicodeScalarView($0.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 })) }
        guard let displayName, !displayName.isEmpty else { return address }
        if !displayName.allSatisfy(\.isASCII) {
            return EncodedWord.qEncode(displayName) + " <" + address + ">"
        }
        let needsQuotes = displayName.contains { specials.contains($0) }
        var escaped = ""
        for character in displayName {
            if character == "\\" || character == "\"" { escaped.append("\\") }
            escaped.append(character)
        }
        return needsQuotes ? "\"" + escaped + "\" <" + address + ">" : escaped + " <" + address + ">"
    }
}

/// RFC 2047 encoded-words.
public enum EncodedWord {
    /// Bytes written as themselves in a Q-encoded phrase (as Python's `quoprimime.header_encode`).
    static let literal: Set<UInt8> = Set(Array("-!*+/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8))
    static let hex = Array("0123456789ABCDEF".utf8)
    /// RFC 2047 §2: an encoded-word is at most 75 characters.
    static let maxWordLength = 75

    /// `Nhơn Nguyễn` → `=?utf-8?q?Nh=C6=A1n_Nguy=E1=BB=85n?=`. Long text becomes several words
    /// separated by a space, never splitting a character.
    public static func qEncode(_ text: String) -> String {
        let prefix = "=?utf-8?q?", suffix = "?="
        let budget = maxWordLength - prefix.count - suffix.count
        var words: [String] = []
        var current: [UInt8] = []
        for character in text {
            var encoded: [UInt8] = []
            for byte in String(character).utf8 {
                if byte == UInt8(ascii: " ") {
                    encoded.append(UInt8(ascii: "_"))
                } else if literal.contains(byte) {
                    encoded.append(byte)
                } else {
                    encoded += [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                }
            }
            if current.count + encoded.count > budget, !current.isEmpty {
                words.append(prefix + String(decoding: current, as: UTF8.self) + suffix)
                current = []
            }
            current += encoded
        }
        words.append(prefix + String(decoding: current, as: UTF8.self) + suffix)
        return words.joined(separator: " ")
    }
}
