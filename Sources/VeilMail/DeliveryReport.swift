/// A delivery status notification (RFC 3464 `multipart/report; report-type=delivery-status`),
/// or the reason a plain-text bounce gives. Never throws: a report that cannot be read yields what
/// could be read.
public struct DeliveryReport: Sendable, Equatable {
    public struct Recipient: Sendable, Equatable {
        public var finalRecipient: String?
        /// `failed`, `delayed`, `delivered`, `relayed`, `expanded` (lower case).
        public var action: String?
        /// `5.1.1`
        public var status: String?
        public var diagnosticCode: String?
    }

    /// The top-level type was `multipart/report`.
    public var isMultipartReport: Bool
    public var reportingMTA: String?
    public var recipients: [Recipient]
    /// A line of a report without a delivery-status part that looks like an SMTP error.
    public var textReason: String?

    /// True unless every recipient of a structured report was only delayed, relayed or delivered.
    public var isFailure: Bool {
        guard !recipients.isEmpty else { return true }
        return recipients.contains { $0.action == nil || $0.action == "failed" }
    }

    /// A failure the sending MTA will not retry: some failed recipient has a 5.x.x status (or
    /// none), or a report without recipients gives no 4xx reason. A failure with only 4.x.x
    /// statuses (a relay that gave up on a temporary problem) is not permanent.
    public var isPermanentFailure: Bool {
        guard isFailure else { return false }
        let failed = recipients.filter { $0.action == nil || $0.action == "failed" }
        if failed.isEmpty {
            let code = textReason?.split(separator: " ").first { $0.count == 3 && $0.allSatisfy(\.isNumber) }
            return code?.first != "4"
        }
        return failed.contains { !($0.status?.hasPrefix("4") ?? false) }
    }

    /// What to show the user: the first failed recipient's diagnostic code, else its status,
    /// else the text reason.
    public var reason: String? {
        let failed = recipients.first { $0.action == nil || $0.action == "failed" } ?? recipients.first
        if let diagnostic = failed?.diagnosticCode, !diagnostic.isEmpty { return diagnostic }
        if let status = failed?.status { return "status " + status }
        return textReason
    }

    public static func parse(_ message: Message) -> DeliveryReport {
        let contentType = ContentType(message.value("Content-Type") ?? "text/plain")
        var report = DeliveryReport(isMultipartReport: contentType.mediaType == "multipart/report", reportingMTA: nil,
                                    recipients: [], textReason: nil)
        let parts = contentType.boundary.map { MIMEParts.split(message.body, boundary: $0) } ?? []
        for part in parts {
            guard let parsed = try? Message(parsing: Array(part)) else { continue }
            let partType = ContentType(parsed.value("Content-Type") ?? "text/plain").mediaType
            if partType == "message/delivery-status" || partType == "message/global-delivery-status" {
                report.readStatusFields(parsed.body)
            } else if report.textReason == nil, partType == "text/plain" {
                report.textReason = smtpErrorLine(in: parsed.body)
            }
        }
        if parts.isEmpty { report.textReason = smtpErrorLine(in: message.body) }
        return report
    }

    /// The per-message block, then one block per recipient, separated by blank lines.
    private mutating func readStatusFields(_ body: ArraySlice<UInt8>) {
        let text = String(decoding: body, as: UTF8.self).replacingLineEnds()
        let blocks = text.components(separatedByBlankLines: ())
        for (index, block) in blocks.enumerated() {
            guard let fields = try? Message(parsing: Array((block + "\n\n").utf8)) else { continue }
            if index == 0, fields.value("Final-Recipient") == nil {
                reportingMTA = fields.value("Reporting-MTA").map(Self.typedValue)
                continue
            }
            guard fields.value("Final-Recipient") != nil || fields.value("Action") != nil else { continue }
            recipients.append(Recipient(finalRecipient: fields.value("Final-Recipient").map(Self.typedValue),
                                        action: fields.value("Action")?.lowercased(),
                                        status: fields.value("Status").map { String($0.prefix { !$0.isWhitespace }) },
                                        diagnosticCode: fields.value("Diagnostic-Code").map(Self.collapsed)))
        }
    }

    /// Folding leaves runs of white space; one space reads better. At most 512 characters.
    static func collapsed(_ text: String) -> String {
        String(text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ").prefix(512))
    }

    /// `rfc822; user@example.com` → `user@example.com`.
    static func typedValue(_ value: String) -> String {
        guard let semicolon = value.firstIndex(of: ";") else { return value }
        return value[value.index(after: semicolon)...].trimming(" \t")
    }

    /// The first line holding an SMTP reply code with an enhanced status (`550 5.1.1 ...`).
    static func smtpErrorLine(in body: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self).replacingLineEnds()
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            for (index, word) in words.enumerated() where word.count == 3 && word.allSatisfy(\.isNumber)
                && (word.first == "4" || word.first == "5") && index + 1 < words.count {
                let next = words[index + 1].trimming("-")
                if next.split(separator: ".").count == 3 { return String(String(line).trimming(" \t").prefix(512)) }
            }
        }
        return nil
    }
}

/// `type/subtype; name=value; ...` as far as reports need it.
struct ContentType {
    var mediaType: String
    var parameters: [String: String]

    init(_ value: String) {
        let pieces = value.split(separator: ";", omittingEmptySubsequences: true)
        mediaType = pieces.first.map { String($0).trimming(" \t").lowercased() } ?? "text/plain"
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            var value = String(pair[1]).trimming(" \t")
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            parameters[String(pair[0]).trimming(" \t").lowercased()] = value
        }
        self.parameters = parameters
    }

    var boundary: String? { parameters["boundary"] }
}

enum MIMEParts {
    /// The bodies between `--boundary` lines (headers included), without the preamble and epilogue.
    static func split(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            var lineEnd = lineStart
            while lineEnd < body.endIndex, body[lineEnd] != 0x0A { lineEnd += 1 }
            let line = body[lineStart..<lineEnd]
            let trimmed = line.last == 0x0D ? line.dropLast() : line
            if trimmed.starts(with: delimiter) {
                if let start = partStart { parts.append(body[start..<lineStart]) }
                let rest = trimmed.dropFirst(delimiter.count)
                if rest.starts(with: Array("--".utf8)) { return parts }
                partStart = min(lineEnd + 1, body.endIndex)
            }
            lineStart = lineEnd + 1
        }
        if let start = partStart, start < body.endIndex { parts.append(body[start..<body.endIndex]) }
        return parts
    }
}

extension String {
    func replacingLineEnds() -> String {
        var output = ""
        output.reserveCapacity(utf8.count)
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" { previousCR = true; output.unicodeScalars.append("\n"); continue }
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            output.unicodeScalars.append(scalar)
        }
        return output
    }

    /// Blocks separated by one or more empty lines (text with `\n` line ends).
    func components(separatedByBlankLines: ()) -> [String] {
        var blocks: [String] = []
        var current: [Substring] = []
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if !current.isEmpty { blocks.append(current.joined(separator: "\n")); current = [] }
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { blocks.append(current.joined(separator: "\n")) }
        return blocks
    }
}

extension Substring {
    func trimming(_ set: String) -> String { String(self).trimming(set) }
}
