import Foundation

/// RFC 4180 CSV as Python's `csv` module writes it by default (SimpleLogin's export): comma
/// separator, CRLF line ends, a field quoted only when it holds a comma, a quote or a line break,
/// quotes doubled.
public enum CSV {
    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// Decided on Unicode scalars, as the reader reads: a comma or quote followed by a combining
    /// mark is one `Character` but still a separator or quote to every CSV reader.
    static func field(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in value.unicodeScalars {
            if scalar == "\"" { quoted.append("\"") }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }

    public struct Record: Sendable, Equatable {
        /// The physical line the record starts on, 1-based.
        public var line: Int
        public var fields: [String]
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var description: String { "unterminated quoted field starting on line \(line)" }
    }

    /// Records of a CSV text; quoted fields may hold commas, quotes and line breaks. Accepts CRLF
    /// and LF line ends (files edited by hand) and skips blank lines.
    public static func parse(_ text: String) throws(ParseError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var quotedStart = 0
        var line = 1
        var recordLine = 1
        var scalars = Array(text.unicodeScalars)[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }  // a BOM from spreadsheet programs
        var index = scalars.startIndex
        func endRecord() {
            fields.append(field)
            field = ""
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []
        }
        while index < scalars.endIndex {
            let scalar = scalars[index]
            index += 1
            if inQuotes {
                if scalar == "\"" {
                    if index < scalars.endIndex, scalars[index] == "\"" {
                        field.unicodeScalars.append("\"")
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty:
                inQuotes = true
                quotedStart = line
            case ",":
                fields.append(field)
                field = ""
            case "\r" where index < scalars.endIndex && scalars[index] == "\n":
                continue
            case "\n", "\r":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes { throw ParseError(line: quotedStart) }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}

/// English relative times as SimpleLogin's humanizer writes them ("just now", "2 minutes ago").
public enum RelativeTime {
    public static func ago(seconds raw: Int64) -> String {
        let delta = max(raw, 0)
        switch delta {
        case ..<10: return "just now"
        case ..<45: return "\(delta) seconds ago"
        case ..<90: return "a minute ago"
        case ..<2_700: return "\(max(delta / 60, 2)) minutes ago"
        case ..<5_400: return "an hour ago"
        case ..<79_200: return "\(max(delta / 3_600, 2)) hours ago"
        case ..<129_600: return "a day ago"
        case ..<554_400: return "\(max((delta + 86_399) / 86_400, 2)) days ago"
        case ..<907_200: return "a week ago"
        case ..<2_419_200: return "\(max(delta / 604_800, 2)) weeks ago"
        case ..<3_888_000: return "a month ago"
        case ..<29_808_000: return "\(max(delta / 2_592_000, 2)) months ago"
        case ..<47_260_800: return "a year ago"
        default: return "\(max(delta / 31_536_000, 2)) years ago"
        }
    }
}
