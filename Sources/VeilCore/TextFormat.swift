import Foundation

/// Formatting used on every request and message. `String(format:)` goes through CoreFoundation's
/// format parser and showed up in profiles of the API; these build the bytes directly.
public enum TextFormat {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Lowercase hexadecimal, two digits per byte.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits (negative values are not padded).
    public static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        guard value >= 0, digits.utf8.count < width else { return digits }
        return String(repeating: "0", count: width - digits.utf8.count) + digits
    }

    /// A duration in milliseconds with two decimals, as in `12.34`.
    public static func milliseconds(_ duration: Duration) -> String {
        let parts = duration.components
        let hundredths = parts.seconds * 100_000 + parts.attoseconds / 10_000_000_000_000
        let sign = hundredths < 0 ? "-" : ""
        let magnitude = hundredths.magnitude
        return sign + String(magnitude / 100) + "." + zeroPadded(Int(magnitude % 100), width: 2)
    }

    /// UTC `YYYY-MM-DD HH:MM:SS` (or with `T` as the separator), from whole seconds since 1970.
    public static func utcDateTime(_ seconds: Int64, separator: Character = " ", suffix: String = "") -> String {
        let parts = utcParts(seconds)
        guard (0...9999).contains(parts.year), let separatorByte = separator.asciiValue else {
            return zeroPadded(parts.year, width: 4) + "-" + zeroPadded(Int(parts.tm.tm_mon) + 1, width: 2) + "-"
                + zeroPadded(Int(parts.tm.tm_mday), width: 2) + String(separator) + zeroPadded(Int(parts.tm.tm_hour), width: 2) + ":"
                + zeroPadded(Int(parts.tm.tm_min), width: 2) + ":" + zeroPadded(Int(parts.tm.tm_sec), width: 2) + suffix
        }
        // Written in place: the string concatenations allocated a dozen times per date, and every
        // alias of an API page carries one.
        let suffixBytes = suffix.utf8
        return String(unsafeUninitializedCapacity: utcDateTimeLength + suffixBytes.count) { buffer in
            writeUTCDateTime(parts, separator: separatorByte, to: UnsafeMutableRawBufferPointer(buffer))
            var end = utcDateTimeLength
            for byte in suffixBytes {
                buffer[end] = byte
                end += 1
            }
            return end
        }
    }

    /// The 19 bytes of `YYYY-MM-DD HH:MM:SS` at the start of `buffer`, for writers that have a
    /// buffer of their own; false (nothing written) for years outside 0–9999.
    public static func writeUTCDateTime(_ seconds: Int64, separator: UInt8 = UInt8(ascii: " "),
                                        to buffer: UnsafeMutableRawBufferPointer) -> Bool {
        let parts = utcParts(seconds)
        guard (0...9999).contains(parts.year), buffer.count >= utcDateTimeLength else { return false }
        writeUTCDateTime(parts, separator: separator, to: buffer)
        return true
    }

    public static let utcDateTimeLength = 19

    private static func utcParts(_ seconds: Int64) -> (tm: tm, year: Int) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return (parts, Int(parts.tm_year) + 1900)
    }

    private static func writeUTCDateTime(_ parts: (tm: tm, year: Int), separator: UInt8, to buffer: UnsafeMutableRawBufferPointer) {
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var rest = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
        put(parts.year, 4, at: 0)
        buffer[4] = UInt8(ascii: "-")
        put(Int(parts.tm.tm_mon) + 1, 2, at: 5)
        buffer[7] = UInt8(ascii: "-")
        put(Int(parts.tm.tm_mday), 2, at: 8)
        buffer[10] = separator
        put(Int(parts.tm.tm_hour), 2, at: 11)
        buffer[13] = UInt8(ascii: ":")
        put(Int(parts.tm.tm_min), 2, at: 14)
        buffer[16] = UInt8(ascii: ":")
        put(Int(parts.tm.tm_sec), 2, at: 17)
    }

    /// `text` with every occurrence of the ASCII byte `target` replaced by `replacement`.
    public static func replacing(_ target: Unicode.Scalar, with replacement: String, in text: String) -> String {
        guard text.utf8.contains(UInt8(target.value)) else { return text }
        var out = ""
        write(text, replacing: target, with: replacement, to: &out)
        return out
    }

    /// The same text, streamed in pieces.
    public static func write(_ text: String, replacing target: Unicode.Scalar, with replacement: String,
                             to output: inout some TextOutputStream) {
        precondition(target.isASCII)
        let byte = UInt8(target.value)
        var start = text.utf8.startIndex
        while let found = text.utf8[start...].firstIndex(of: byte) {
            // Slices at an ASCII byte are always whole characters.
            output.write(String(text.utf8[start..<found]) ?? "")
            output.write(replacement)
            start = text.utf8.index(after: found)
        }
        output.write(start == text.utf8.startIndex ? text : String(text.utf8[start...]) ?? "")
    }

    /// `value` with JSON's string escapes (quote, backslash, control characters), without the
    /// surrounding quotes, appended to `bytes`. Most strings need none: they are checked and
    /// copied whole from their contiguous UTF-8 storage.
    public static func appendJSONEscaped(_ value: String, to bytes: inout [UInt8]) {
        let copied = value.utf8.withContiguousStorageIfAvailable { source -> Bool in
            for byte in source where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: source)
            return true
        }
        if copied == true { return }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0x0A: bytes.append(contentsOf: "\\n".utf8)
            case 0x0D: bytes.append(contentsOf: "\\r".utf8)
            case 0x09: bytes.append(contentsOf: "\\t".utf8)
            case 0x00..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
    }
}
