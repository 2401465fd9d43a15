import Foundation

/// Splits a migration file into its statements for PostgreSQL's extended protocol, which runs one
/// statement per query: at each `;` outside a quoted string, a quoted name, a dollar-quoted body
/// (`$$ … $$`, `$tag$ … $tag$`) and a comment. Statements come back trimmed, empty ones dropped.
enum SQLStatements {
    static func split(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        func flush(until end: Int) {
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty && !isOnlyComments(trimmed) { statements.append(trimmed) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                index = closing(byte, in: bytes, after: index)
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                while index + 1 < bytes.count && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 1
            case UInt8(ascii: "$"):
                if let tagEnd = dollarTagEnd(in: bytes, at: index) {
                    let tag = Array(bytes[index...tagEnd])
                    var search = tagEnd + 1
                    while search + tag.count <= bytes.count && !bytes[search..<(search + tag.count)].elementsEqual(tag) { search += 1 }
                    index = min(bytes.count, search + tag.count) - 1
                }
            case UInt8(ascii: ";"):
                flush(until: index)
                start = index + 1
            default:
                break
            }
            index += 1
        }
        if start < bytes.count { flush(until: bytes.count) }
        return statements
    }

    /// The index of the quote that closes the one at `open` (a doubled quote is part of the text).
    private static func closing(_ quote: UInt8, in bytes: [UInt8], after open: Int) -> Int {
        var index = open + 1
        while index < bytes.count {
            if bytes[index] == quote {
                if index + 1 < bytes.count && bytes[index + 1] == quote { index += 2; continue }
                return index
            }
            index += 1
        }
        return bytes.count
    }

    /// `$$` or `$tag$` starting at `index`: the index of its closing `$`. A `$1` parameter is not a tag.
    private static func dollarTagEnd(in bytes: [UInt8], at index: Int) -> Int? {
        var end = index + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "$") { return end }
            let isTagCharacter = byte == UInt8(ascii: "_") || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || (end > index + 1 && byte >= 0x30 && byte <= 0x39)
            guard isTagCharacter else { return nil }
            end += 1
        }
        return nil
    }

    private static func isOnlyComments(_ text: String) -> Bool {
        text.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
    }
}
