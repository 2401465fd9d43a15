/// One command line from an SMTP or LMTP client (RFC 5321 §4.1, RFC 2033 §4.1).
public enum SMTPCommand: Sendable, Equatable {
    /// `EHLO`, `HELO` or (LMTP) `LHLO`.
    case hello(verb: String, domain: String)
    case mail(reversePath: String, parameters: MailParameters)
    case rcpt(forwardPath: String)
    case data
    case rset
    case noop
    case quit
    case vrfy
    case help
    case startTLS

    /// What a `MAIL FROM` line asked for with its ESMTP parameters.
    public struct MailParameters: Sendable, Equatable {
        public var declaredSize: Int?
        /// `BODY=8BITMIME`.
        public var eightBitMIME = false
        public var smtpUTF8 = false

        public init(declaredSize: Int? = nil, eightBitMIME: Bool = false, smtpUTF8: Bool = false) {
            self.declaredSize = declaredSize
            self.eightBitMIME = eightBitMIME
            self.smtpUTF8 = smtpUTF8
        }
    }

    public enum ParseError: Error, Equatable {
        case unknownCommand
        case syntax(SMTPReply)
    }

    /// Parses one line (without its CRLF). Verbs are case-insensitive; `MAIL FROM: <a>` with a
    /// space is accepted, as Postfix does.
    public static func parse(_ line: String) throws(ParseError) -> SMTPCommand {
        let trimmed = line.trimmingTrailingSpaces()
        let verbEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        let verb = trimmed[..<verbEnd].uppercased()
        let argument = trimmed[verbEnd...].drop { $0 == " " }
        switch verb {
        case "EHLO", "HELO", "LHLO":
            guard !argument.isEmpty else { throw .syntax(SMTPReply(501, "5.5.4", "Syntax: \(verb) hostname")) }
            return .hello(verb: verb, domain: String(argument))
        case "MAIL":
            guard let path = try pathArgument(argument, keyword: "FROM:") else {
                throw .syntax(SMTPReply(501, "5.5.4", "Syntax: MAIL FROM:<address>"))
            }
            return .mail(reversePath: path.address, parameters: try mailParameters(path.rest))
        case "RCPT":
            guard let path = try pathArgument(argument, keyword: "TO:"), !path.address.isEmpty else {
                throw .syntax(SMTPReply(501, "5.5.4", "Syntax: RCPT TO:<address>"))
            }
            return .rcpt(forwardPath: path.address)
        case "DATA": return try bare(.data, argument)
        case "RSET": return try bare(.rset, argument)
        case "NOOP": return .noop
        case "QUIT": return try bare(.quit, argument)
        case "VRFY": return .vrfy
        case "HELP": return .help
        case "STARTTLS": return try bare(.startTLS, argument)
        default: throw .unknownCommand
        }
    }

    private static func bare(_ command: SMTPCommand, _ argument: Substring) throws(ParseError) -> SMTPCommand {
        guard argument.isEmpty else { throw .syntax(SMTPReply(501, "5.5.4", "Syntax: no parameters allowed")) }
        return command
    }

    /// `FROM:<path> rest` → (`path` without brackets and source route, `rest`).
    private static func pathArgument(_ argument: Substring, keyword: String) throws(ParseError)
        -> (address: String, rest: Substring)?
    {
        guard argument.uppercased().hasPrefix(keyword) else { return nil }
        let afterKeyword = argument.dropFirst(keyword.count).drop { $0 == " " }
        guard afterKeyword.first == "<", let close = closingBracket(afterKeyword) else { return nil }
        var address = afterKeyword[afterKeyword.index(after: afterKeyword.startIndex)..<close]
        // A source route (`<@relay:user@domain>`) is ignored (RFC 5321 §4.1.2).
        if address.first == "@", let colon = address.firstIndex(of: ":") { address = address[address.index(after: colon)...] }
        guard !address.contains(where: { $0 == " " || $0 == "<" || $0 == ">" }) || address.first == "\"" else {
            throw .syntax(SMTPReply(501, "5.1.3", "Bad address syntax"))
        }
        return (String(address), afterKeyword[afterKeyword.index(after: close)...])
    }

    /// The `>` that closes the path, skipping quoted local parts.
    private static func closingBracket(_ text: Substring) -> Substring.Index? {
        var quoted = false
        var escaped = false
        for index in text.indices.dropFirst() {
            let character = text[index]
            if escaped { escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "\"" { quoted.toggle(); continue }
            if character == ">" && !quoted { return index }
        }
        return nil
    }

    private static func mailParameters(_ text: Substring) throws(ParseError) -> MailParameters {
        var parameters = MailParameters()
        for word in text.split(separator: " ") {
            // `=` alone or `=value` has no keyword: an empty first part, never a missing one.
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].uppercased()
            guard !key.isEmpty else { throw .syntax(SMTPReply(501, "5.5.4", "Bad MAIL parameter syntax")) }
            let value = parts.count > 1 ? parts[1].uppercased() : nil
            switch key {
            case "SIZE":
                guard let value, let size = Int(value), size >= 0 else { throw .syntax(SMTPReply(501, "5.5.4", "Bad SIZE parameter")) }
                parameters.declaredSize = size
            case "BODY":
                switch value {
                case "8BITMIME": parameters.eightBitMIME = true
                case "7BIT": parameters.eightBitMIME = false
                default: throw .syntax(SMTPReply(501, "5.5.4", "Unsupported BODY parameter"))
                }
            case "SMTPUTF8":
                parameters.smtpUTF8 = true
            default:
                throw .syntax(SMTPReply(555, "5.5.4", "Unsupported option: \(key)"))
            }
        }
        return parameters
    }
}

extension String {
    func trimmingTrailingSpaces() -> Substring {
        var text = Substring(self)
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
