import NIOCore

/// One SMTP reply, possibly multi-line (`250-...` continuation lines).
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// `SMTPReply(550, "5.1.1", "E515 Email not exist")` → `550 5.1.1 E515 Email not exist`.
    public init(_ code: Int, _ enhancedCode: String, _ text: String) {
        self.init(code: code, lines: [enhancedCode + " " + text])
    }

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isPermanent: Bool { code >= 500 }

    /// The reply as written on the wire: `250-first`, ..., `250 last`, each ending in CRLF.
    public var wireFormat: String {
        var output = ""
        let texts = lines.isEmpty ? [""] : lines
        for (index, line) in texts.enumerated() {
            output += String(code) + (index == texts.count - 1 ? " " : "-") + line + "\r\n"
        }
        return output
    }
    public var isTransient: Bool { (400..<500).contains(code) }
    public var description: String { "\(code) " + lines.joined(separator: " / ") }
}

/// Reads reply lines into `SMTPReply` values; a line is at most 4 KiB.
public struct SMTPReplyDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SMTPReply
    var lines = SMTPLineDecoder(maxLength: 4096)
    var pending: [String] = []

    public init() {}

    public struct MalformedReply: Error {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let line = lines.nextLine(&buffer) else { return .needMoreData }
        let text = String(buffer: line.bytes)
        let characters = Array(text.utf8)
        guard characters.count >= 3, let code = Int(String(decoding: characters[0..<3], as: UTF8.self)) else {
            throw MalformedReply()
        }
        let separator = characters.count > 3 ? characters[3] : UInt8(ascii: " ")
        pending.append(characters.count > 4 ? String(decoding: characters[4...], as: UTF8.self) : "")
        if separator == UInt8(ascii: "-") { return .continue }
        let reply = SMTPReply(code: code, lines: pending)
        pending = []
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }
}
