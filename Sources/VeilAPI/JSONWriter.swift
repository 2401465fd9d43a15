import NIOCore
import VeilCore

/// Writes JSON text, in the one layout every answer uses (`{"a": 1, "b": [1, 2]}`), without
/// building a `JSON` tree first: the alias page spent a fifth of its CPU on the tree. Bytes go
/// to an array and are copied into the response's buffer once; writing them into a `ByteBuffer`
/// one at a time cost far more than that copy.
///
/// Members and items are separated as they come: a value written right after `key` or after an
/// opening bracket takes no comma, any other one does. Closing a container always leaves its
/// parent past its first member, so one flag is all the state there is.
struct JSONWriter: TextOutputStream {
    private(set) var bytes: [UInt8] = []
    private var atStart = true

    init(capacity: Int = 1_024) {
        bytes.reserveCapacity(capacity)
    }

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    private mutating func separate() {
        if !atStart { append(", ") }
        atStart = false
    }

    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        atStart = true
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        atStart = false
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        atStart = true
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        atStart = false
    }

    /// A member name known to need no escaping (every name Veil answers with).
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        append(name)
        append("\": ")
        atStart = true
    }

    /// A member name from data (a `JSON` tree's keys): escaped like any string.
    mutating func key(escaping name: String) {
        separate()
        writeEscaped(name)
        append(": ")
        atStart = true
    }

    mutating func null() {
        separate()
        append("null")
    }

    mutating func bool(_ value: Bool) {
        separate()
        append(value ? "true" : "false")
    }

    mutating func int(_ value: Int64) {
        separate()
        // Digits in place, last first: `String(value)` was an allocation per number.
        let magnitude = value.magnitude
        var digitCount = 1
        var rest = magnitude / 10
        while rest > 0 { digitCount += 1; rest /= 10 }
        let width = digitCount + (value < 0 ? 1 : 0)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var remaining = magnitude
        for index in stride(from: start + width - 1, through: start + width - digitCount, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        if value < 0 { bytes[start] = UInt8(ascii: "-") }
    }

    mutating func double(_ value: Double) {
        separate()
        if value.isFinite { bytes.append(contentsOf: "\(value)".utf8) } else { append("null") }
    }

    mutating func string(_ value: String) {
        separate()
        writeEscaped(value)
    }

    /// A `TextFormat.utcDateTime` string, written in place.
    mutating func utcDateTime(_ seconds: Int64, suffix: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: TextFormat.utcDateTimeLength))
        let written = bytes.withUnsafeMutableBytes { all in
            TextFormat.writeUTCDateTime(seconds, to: UnsafeMutableRawBufferPointer(rebasing: all[start...]))
        }
        if !written {
            bytes.removeLast(TextFormat.utcDateTimeLength)
            TextFormat.appendJSONEscaped(TextFormat.utcDateTime(seconds), to: &bytes)
        }
        append(suffix)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func optional(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    mutating func optional(_ value: Int64?) {
        if let value { int(value) } else { null() }
    }

    /// A string written in pieces: `beginString()`, then `write(_:)` (from `TextOutputStream`, so
    /// text formatters can stream into it) as often as needed, then `endString()`. Each piece is
    /// escaped on its own, which gives the same text as escaping their concatenation.
    mutating func beginString() {
        separate()
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func endString() {
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func writeEscaped(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        TextFormat.appendJSONEscaped(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// One piece of the string begun by `beginString()`.
    mutating func write(_ piece: String) {
        TextFormat.appendJSONEscaped(piece, to: &bytes)
    }
}

extension JSON {
    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .int(let value): writer.int(value)
        case .double(let value): writer.double(value)
        case .string(let value): writer.string(value)
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for (key, value) in members {
                writer.key(escaping: key)
                value.write(to: &writer)
            }
            writer.endObject()
        }
    }

    /// The JSON text, in the layout every answer uses.
    public var serialized: [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }
}
