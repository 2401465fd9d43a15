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

    /// Replaces every field with this name by one field with `value` (appended when absent).
    public mutating func set(_ name: String, _ value: String) {
        let lowered = name.lowercased()
        let field = Field(name: name, rawValue: Array((" " + value).utf8))
        if let first = fields.firstIndex(where: { $0.name.lowercased() == lowered }) {
            fields[first] = field
            fields = fields.enumerated().filter { $0.offset == first || $0.element.name.lowercased() != lowered }.map(\.element)
        } else {
            fields.append(field)
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

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
