import NIOCore

/// Splits SMTP input into lines. Unlike NIO's `LineBasedFrameDecoder` it bounds the line length
/// and only a CRLF ends a line: a bare LF or CR stays inside the line, so `<LF>.<LF>` can never
/// end DATA (no SMTP smuggling). The caller decides whether a bare LF/CR is refused.
public struct SMTPLineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Line

    public struct Line: Sendable, Equatable {
        /// The line without its CRLF.
        public var bytes: ByteBuffer
        /// The line held a bare CR or LF.
        public var hasBareNewline: Bool
        /// The line was longer than the limit; its content was cut at the limit.
        public var tooLong: Bool
    }

    public let maxLength: Int
    private var discardingOverlong = false

    public init(maxLength: Int) {
        self.maxLength = maxLength
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

    mutating func nextLine(_ buffer: inout ByteBuffer) -> Line? {
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index < view.endIndex {
            if view[index] == UInt8(ascii: "\r"), view.index(after: index) < view.endIndex,
               view[view.index(after: index)] == UInt8(ascii: "\n") {
                let length = index - view.startIndex
                guard let slice = buffer.readSlice(length: length) else { return nil }
                buffer.moveReaderIndex(forwardBy: 2)
                let overlong = discardingOverlong || length > maxLength
                discardingOverlong = false
                let content = overlong ? slice.getSlice(at: slice.readerIndex, length: min(length, maxLength)) ?? slice : slice
                let bare = content.readableBytesView.contains { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
                return Line(bytes: content, hasBareNewline: bare, tooLong: overlong)
            }
            index = view.index(after: index)
        }
        // No CRLF yet: keep memory bounded by dropping what is past the limit.
        if buffer.readableBytes > maxLength + 1 {
            let keep = 1  // a trailing CR may start the CRLF
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes - keep)
            discardingOverlong = true
        }
        return nil
    }
}
