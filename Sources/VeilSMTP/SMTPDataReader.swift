import NIOCore

/// Reads the content of `DATA` byte by byte until `CRLF.CRLF`, removing dot-stuffing
/// (RFC 5321 §4.5.2) and keeping at most `limit` bytes. Only CRLF starts a line: a bare LF or
/// bare CR is remembered (`sawBareNewline`) and never lets `.` end the data, so `<LF>.<LF>` and
/// `<LF>.<CR><LF>` cannot smuggle a second message.
public struct SMTPDataReader: Sendable {
    enum Position: Sendable {
        /// At the start of a line (after CRLF, or at the start of the data).
        case lineStart
        case inLine
        /// A CR inside a line; CRLF if an LF follows.
        case carriageReturn
        /// A `.` at the start of a line.
        case dot
        /// `.` then CR at the start of a line: the end if an LF follows.
        case dotCarriageReturn
    }

    public let limit: Int
    private var position = Position.lineStart
    /// The message, dot-unstuffed, with CRLF line ends as received.
    public private(set) var content: [UInt8] = []
    /// More than `limit` bytes arrived; the rest was counted and dropped.
    public private(set) var exceededLimit = false
    public private(set) var sawBareNewline = false
    public private(set) var receivedBytes = 0

    public init(limit: Int) {
        self.limit = limit
        content.reserveCapacity(min(limit, 64 * 1024))
    }

    /// Consumes bytes from `buffer` up to and including the end-of-data marker. Returns true when
    /// the marker was found; bytes after it stay in `buffer` (a pipelined next command).
    public mutating func consume(_ buffer: inout ByteBuffer) -> Bool {
        var finished = false
        let consumed = buffer.withUnsafeReadableBytes { bytes -> Int in
            for (offset, byte) in bytes.enumerated() {
                if step(byte) {
                    finished = true
                    return offset + 1
                }
            }
            return bytes.count
        }
        receivedBytes += consumed
        buffer.moveReaderIndex(forwardBy: consumed)
        return finished
    }

    /// One byte of input; true at the end of data.
    private mutating func step(_ byte: UInt8) -> Bool {
        let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, dot = UInt8(ascii: ".")
        switch position {
        case .lineStart:
            if byte == dot { position = .dot; return false }
            inLine(byte)
        case .inLine:
            inLine(byte)
        case .carriageReturn:
            if byte == lf {
                append(cr); append(lf)
                position = .lineStart
            } else {
                sawBareNewline = true
                append(cr)
                inLine(byte)
            }
        case .dot:
            // A leading dot followed by anything but CR is stuffing: drop it.
            if byte == cr { position = .dotCarriageReturn } else { inLine(byte) }
        case .dotCarriageReturn:
            if byte == lf { return true }
            sawBareNewline = true
            append(cr)
            inLine(byte)
        }
        return false
    }

    private mutating func inLine(_ byte: UInt8) {
        if byte == 0x0D { position = .carriageReturn; return }
        if byte == 0x0A { sawBareNewline = true }
        append(byte)
        position = .inLine
    }

    private mutating func append(_ byte: UInt8) {
        if content.count < limit { content.append(byte) } else { exceededLimit = true }
    }
}
