/// An RFC 5322 message as Veil handles it: a list of header fields that can be read and rewritten,
/// and body bytes that are never touched (no re-encoding, DESIGN.md "Mail handling principles").
public struct Message: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        /// The name as written (`Reply-To`); compare case-insensitively.
        public var name: String
        /// The raw value after the colon, folding kept (`"a,\r\n b"`), without the final CRLF.
        public var rawValue: [UInt8]

        public init(name: String, rawValue: [UInt8]) {
            self.name = name
            self.rawValue = rawValue
        }

        /// The value unfolded (CRLF/LF followed by white space becomes that white space) and trimmed.
        /// Bytes that are not UTF-8 are replaced, never rejected (RFC 6532 allows raw UTF-8).
        public var value: String {
            var unfolded: [UInt8] = []
            unfolded.reserveCapacity(rawValue.count)
            for byte in rawValue where byte != 0x0D && byte != 0x0A { unfolded.append(byte) }
            return String(decoding: unfolded, as: UTF8.self).trimmingSpaces()
        }
    }

    public var fields: [Field]
    /// Everything after the blank line that ends the header, byte for byte.
    public var body: ArraySlice<UInt8>

    public enum ParseError: Error, Equatable {
        /// A header line that is neither a field nor a continuation.
        case malformedHeaderLine(Int)
    }

    /// Splits `bytes` into header fields and body. Accepts CRLF or bare LF line ends in the header.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        var fields: [Field] = []
        var index = 0
        var lineNumber = 0
        while index < bytes.count {
            let lineEnd = Self.endOfLine(bytes, from: index)
            let contentEnd = lineEnd.content
            lineNumber += 1
            if contentEnd == index {  // the blank line
                index = lineEnd.next
                break
            }
            if bytes[index] == 0x20 || bytes[index] == 0x09 {
                guard !fields.isEmpty else { throw .malformedHeaderLine(lineNumber) }
                fields[fields.count - 1].rawValue += [0x0D, 0x0A] + bytes[index..<contentEnd]
            } else {
                guard let colon = bytes[index..<contentEnd].firstIndex(of: UInt8(ascii: ":")), colon > index,
                      bytes[index..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
                else { throw .malformedHeaderLine(lineNumber) }
                fields.append(Field(name: String(decoding: bytes[index..<colon], as: UTF8.self),
                                    rawValue: Array(bytes[(colon + 1)..<contentEnd])))
            }
            index = lineEnd.next
        }
        self.fields = fields
        self.body = bytes[min(index, bytes.count)...]
    }

    static func endOfLine(_ bytes: [UInt8], from start: Int) -> (content: Int, next: Int) {
        var index = start
        while index < bytes.count {
            if bytes[index] == 0x0A {
                let content = index > start && bytes[index - 1] == 0x0D ? index - 1 : index
                return (content, index + 1)
            }
            index += 1
        }
        return (bytes.count, bytes.count)
    }

    /// Every field with this name, in order.
    public func fields(named name: String) -> [Field] {
        let lowered = name.lowercased()
        return fields.filter { $0.name.lowercased() == lowered }
    }

    /// The unfolded value of the first field with this name.
    public func value(_ name: String) -> String? { fields(named: name).first?.value }

    public mutating func removeAll(named name: String) {
        let lowered = name.lowercased()
        fields.removeAll { $0.name.lowercased() == lowered }
    }

    /// Replaces every field with this name by one field with `value` (appended when absent),
    /// folded to lines of at most 78 octets where the value allows (`HeaderFolding`).
    public mutating func set(_ name: String, _ value: String) {
        let lowered = name.lowercased()
        let field = Field(name: name, rawValue: HeaderFolding.fold(name: name, value: value))
        if let first = fields.firstIndex(where: { $0.name.lowercased() == lowered }) {
            fields[first] = field
            fields = fields.enumerated().filter { $0.offset == first || $0.element.name.lowercased() != lowered }.map(\.element)
        } else {
            fields.append(field)
        }
    }

    /// Folds again every field with a line longer than RFC 5322's 998 octets (a sender's, kept
    /// as it came), so that no relay splits it after it was signed.
    public mutating func foldOverlongFields() {
        for index in fields.indices {
            let field = fields[index]
            var lineLength = field.name.utf8.count + 1, overlong = false
            for byte in field.rawValue {
                if byte == 0x0A { lineLength = 0 } else if byte != 0x0D { lineLength += 1 }
                if lineLength > HeaderFolding.maximumLength { overlong = true; break }
            }
            if overlong { fields[index].rawValue = HeaderFolding.fold(name: field.name, value: field.value) }
        }
    }

    /// The message with CRLF after every header line; the body bytes as they came.
    public var serialized: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(body.count + fields.count * 64)
        for field in fields {
            output += Array(field.name.utf8)
            output.append(UInt8(ascii: ":"))
            output += field.rawValue
            output += [0x0D, 0x0A]
        }
        output += [0x0D, 0x0A]
        output += body
        return output
    }
}

/// RFC 5322 §2.2.3 folding for the fields Veil writes: a CRLF goes in before a space, so that
/// unfolding (removing each CRLF) gives the value back unchanged. Lines stay within 78 octets
/// where a space allows it, breaking preferably after a comma outside quotes (between two
/// addresses); a line is longer only when a single word is, and never longer than 998 octets
/// unless one word alone is.
public enum HeaderFolding {
    public static let preferredLength = 78
    public static let maximumLength = 998

    /// The raw value (leading space included) for `name: value`. A CR or LF inside `value` (a
    /// decoded display name, say) becomes a space: it could otherwise end the field and start
    /// another one (header injection).
    public static func fold(name: String, value: String) -> [UInt8] {
        var bytes = Array((" " + value).utf8)
        for index in bytes.indices where bytes[index] == 0x0D || bytes[index] == 0x0A { bytes[index] = 0x20 }
        // "Name:" counts towards the first line.
        var lineStart = -(name.utf8.count + 1)
        guard bytes.count - lineStart > preferredLength else { return bytes }
        // Candidate breaks: the index of a space (the CRLF goes before it), and whether it is
        // the space after a comma outside a quoted string.
        var breaks: [(index: Int, preferred: Bool)] = []
        var inQuotes = false, escaped = false
        for (index, byte) in bytes.enumerated() {
            if escaped { escaped = false; continue }
            switch byte {
            case UInt8(ascii: "\\") where inQuotes: escaped = true
            case UInt8(ascii: "\""): inQuotes.toggle()
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                // Never at the very start (the space after the colon), nor before another space
                // (a line holding only white space is not allowed).
                guard index > 0, index + 1 < bytes.count, bytes[index + 1] != UInt8(ascii: " "),
                      bytes[index + 1] != UInt8(ascii: "\t") else { continue }
                breaks.append((index, !inQuotes && bytes[index - 1] == UInt8(ascii: ",")))
            default: break
            }
        }
        var cuts: [Int] = []
        var candidate = 0
        while bytes.count - lineStart > preferredLength, candidate < breaks.count {
            // The last break that keeps this line within the preferred length, a comma break first.
            var chosen: Int?, chosenAny: Int?
            var probe = candidate
            while probe < breaks.count, breaks[probe].index - lineStart <= preferredLength {
                if breaks[probe].index > lineStart {
                    chosenAny = probe
                    if breaks[probe].preferred { chosen = probe }
                }
                probe += 1
            }
            // Nothing fits: the first break after, so the overlong word stands alone.
            guard let pick = chosen ?? chosenAny ?? (probe < breaks.count ? probe : nil) else { break }
            cuts.append(breaks[pick].index)
            lineStart = breaks[pick].index
            candidate = pick + 1
        }
        guard !cuts.isEmpty else { return bytes }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 2 * cuts.count)
        var previous = 0
        for cut in cuts {
            output += bytes[previous..<cut]
            output += [0x0D, 0x0A]
            previous = cut
        }
        output += bytes[previous...]
        return output
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
