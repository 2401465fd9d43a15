/// One entry of an address header (`From`, `To`, `Cc`, `Reply-To`): a display name, decoded from
/// RFC 2047 words, and the address as written.
public struct MailboxAddress: Sendable, Equatable {
    public var name: String?
    public var address: String

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }
}

/// RFC 5322 §3.4 address lists, read leniently: commas inside quotes, angle brackets or comments
/// do not split; groups (`undisclosed-recipients:;`) contribute their members; each display
/// name is decoded (RFC 2047) after splitting, so an encoded comma cannot split an entry.
public enum AddressList {
    public static func parse(_ value: String) -> [MailboxAddress] {
        split(value).compactMap(entry)
    }

    /// The raw entries, split on top-level commas and group delimiters.
    static func split(_ value: String) -> [String] {
        var entries: [String] = []
        var current = ""
        var inQuotes = false, escaped = false
        var angle = 0, comment = 0
        for character in value {
            if escaped { current.append(character); escaped = false; continue }
            switch character {
            case "\\" where inQuotes || comment > 0:
                escaped = true
                current.append(character)
            case "\"" where comment == 0:
                inQuotes.toggle()
                current.append(character)
            case "(" where !inQuotes:
                comment += 1
                current.append(character)
            case ")" where !inQuotes && comment > 0:
                comment -= 1
                current.append(character)
            case "<" where !inQuotes && comment == 0:
                angle += 1
                current.append(character)
            case ">" where !inQuotes && comment == 0 && angle > 0:
                angle -= 1
                current.append(character)
            case ":" where !inQuotes && comment == 0 && angle == 0:
                current = ""  // a group's display name
            case ",", ";":
                if inQuotes || comment > 0 || angle > 0 {
                    current.append(character)
                } else {
                    entries.append(current)
                    current = ""
                }
            default:
                current.append(character)
            }
        }
        entries.append(current)
        return entries.map { $0.trimming(" \t\r\n") }.filter { !$0.isEmpty }
    }

    static func entry(_ raw: String) -> MailboxAddress? {
        if let open = lastUnquoted("<", in: raw), let close = raw[open...].firstIndex(of: ">") {
            let address = String(raw[raw.index(after: open)..<close]).trimming(" \t")
            let name = displayName(String(raw[..<open]))
            return MailboxAddress(name: name, address: address)
        }
        // `addr@example.com (Name)`: the comment is the name.
        var address = "", commentText = ""
        var depth = 0
        for character in raw {
            if character == "(" { depth += 1; if depth == 1 { continue } }
            if character == ")" && depth > 0 { depth -= 1; if depth == 0 { continue } }
            if depth > 0 { commentText.append(character) } else { address.append(character) }
        }
        let trimmed = address.trimming(" \t")
        guard !trimmed.isEmpty else { return nil }
        return MailboxAddress(name: displayName(commentText), address: trimmed)
    }

    private static func lastUnquoted(_ target: Character, in text: String) -> String.Index? {
        var inQuotes = false, escaped = false
        var found: String.Index?
        for index in text.indices {
            let character = text[index]
            if escaped { escaped = false; continue }
            if character == "\\" && inQuotes { escaped = true; continue }
            if character == "\"" { inQuotes.toggle(); continue }
            if character == target && !inQuotes { found = index }
        }
        return found
    }

    /// Unquotes and decodes a phrase; nil when empty.
    static func displayName(_ raw: String) -> String? {
        var text = raw.trimming(" \t")
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            var unescaped = ""
            var escaped = false
            for character in text.dropFirst().dropLast() {
                if escaped { unescaped.append(character); escaped = false; continue }
                if character == "\\" { escaped = true; continue }
                unescaped.append(character)
            }
            text = unescaped
        }
        let decoded = EncodedWordDecoder.decode(text).trimming(" \t")
        return decoded.isEmpty ? nil : decoded
    }
}

extension String {
    func trimming(_ set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
