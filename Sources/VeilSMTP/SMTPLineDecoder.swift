import NIOCore

/// Splits SMTP input into lines and bounds their length. By default only a CRLF ends a line: a
/// bare LF or CR stays inside it (what replies and the test sink need). The server's command
/// reader sets `bareLineFeedEndsLine`, Postfix 3.9's `smtpd_forbid_bare_newline = normal`: a
/// line ending in a bare LF counts as ending in CRLF. A bare CR never ends a line.
public struct SMTPLineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Line

    public struct Line: Sendable, Equatable {
        /// The line without its CRLF (or LF).
        public var bytes: ByteBuffer
        /// The line held a bare CR, or (when bare LFs do not end lines) a bare LF.
        public var hasBareNewline: Bool
        /// The line was longer than the limit; its content was cut at the limit.
        public var tooLong: Bool
    }

    public let maxLength: Int
    public let bareLineFeedEndsLine: Bool
    private var discardingOverlong = false

    public init(maxLength: Int, bareLineFeedEndsLine: Bool = false) {
        self.maxLength = maxLength
        self.bareLineFeedEndsLine = bareLineFeedEndsLine
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let line = nextLine(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let line = nextLine(&buffer) { context.fireChannelRead(wrapInboundOut(line)) }
        return .needMoreData
    }

    /// The next complete line in `buffer`, consumed; nil (and the partial line left in place) when none.
    public mutating func nextLine(_ buffer: inout ByteBuffer) -> Line? {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index < view.endIndex {
            let byte = view[index]
            let next = view.index(after: index)
            var terminator = 0
            if byte == cr, next < view.endIndex, view[next] == lf {
                terminator = 2
            } else if byte == lf, bareLineFeedEndsLine {
                terminator = 1
            }
            if terminator > 0 {
                let length = index - view.startIndex
                guard let slice = buffer.readSlice(length: length) else { return nil }
                buffer.moveReaderIndex(forwardBy: terminator)
                let overlong = discardingOverlong || length > maxLength
                discardingOverlong = false
                let content = overlong ? slice.getSlice(at: slice.readerIndex, length: min(length, maxLength)) ?? slice : slice
                let bare = content.readableBytesView.contains { $0 == lf || $0 == cr }
                return Line(bytes: content, hasBareNewline: bare, tooLong: overlong)
            }
            index = next
        }
        // No line end yet: keep memory bounded by dropping what is past the limit.
        if buffer.readableBytes > maxLength + 1 {
            let keep = 1  // a trailing CR may start the CRLF
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes - keep)
            discardingOverlong = true
        }
        return nil
    }
}
