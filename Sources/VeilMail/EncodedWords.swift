import Foundation

/// RFC 2047 decoding of header text: `=?charset?B|Q?text?=` words, any case, with white space
/// between adjacent encoded words dropped. Unknown charsets decode as UTF-8 with replacement
/// characters; malformed words stay as written (spec/mail.md ). Never throws.
public enum EncodedWordDecoder {
    public static func decode(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        var pendingSpace = ""
        var lastWasEncoded = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            if let (decoded, end) = word(in: rest[start.lowerBound...]) {
                let onlySpace = before.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
                if !(lastWasEncoded && onlySpace) { output += pendingSpace + before }
                output += decoded
                pendingSpace = ""
                lastWasEncoded = true
                rest = rest[end...]
            } else {
                output += pendingSpace + before + "=?"
                pendingSpace = ""
                lastWasEncoded = false
                rest = rest[start.upperBound...]
            }
        }
        return output + pendingSpace + rest
    }

    /// One encoded word at the start of `text`: its decoded text and where it ends.
    static func word(in text: Substring) -> (String, Substring.Index)? {
        let parts = text.dropFirst(2)
        guard let charsetEnd = parts.firstIndex(of: "?") else { return nil }
        let charset = parts[..<charsetEnd].lowercased()
        let afterCharset = parts[parts.index(after: charsetEnd)...]
        guard let encoding = afterCharset.first, afterCharset.dropFirst().first == "?" else { return nil }
        let payloadStart = afterCharset.index(afterCharset.startIndex, offsetBy: 2)
        guard let close = afterCharset[payloadStart...].range(of: "?=") else { return nil }
        let payload = afterCharset[payloadStart..<close.lowerBound]
        guard !payload.contains(" ") else { return nil }
        let bytes: [UInt8]
        switch encoding {
        case "B", "b":
            var base64 = String(payload)
            while base64.count % 4 != 0 { base64 += "=" }
            guard let data = Data(base64Encoded: base64) else { return nil }
            bytes = Array(data)
        case "Q", "q":
            guard let decoded = qDecode(payload) else { return nil }
            bytes = decoded
        default:
            return nil
        }
        return (string(bytes, charset: charset), close.upperBound)
    }

    static func qDecode(_ text: Substring) -> [UInt8]? {
        var output: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "_"): output.append(0x20)
            case UInt8(ascii: "="):
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                output.append(value)
            default: output.append(byte)
            }
        }
        return output
    }

    static func string(_ bytes: [UInt8], charset: String) -> String {
        switch charset {
        case "iso-8859-1", "latin1", "iso-8859-15", "windows-1252", "cp1252":
            return String(bytes.map { Character(Unicode.Scalar($0)) })
        case "us-ascii", "ascii":
            return String(decoding: bytes.map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        default:
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
