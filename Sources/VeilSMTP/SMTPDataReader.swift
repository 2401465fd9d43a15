import NIOCore

/// Reads the content of `DATA` byte by byte until `CRLF.CRLF`, removing dot-stuffing
/// (RFC 5321 §4.5.2) and keeping at most `limit` bytes.
///
/// Bare line feeds are treated as Postfix 3.9 does by default (`smtpd_forbid_bare_newline =
/// normal`): a line ending in a bare LF is kept as if it ended in CRLF (and is stored with CRLF),
/// but only a `.` line that follows a CRLF and ends in CRLF ends the data. `<LF>.<LF>`,
/// `<LF>.<CR><LF>` and `<CR><LF>.<LF>` stay content (a line holding one dot), so they can never
/// end a message or start a second one. A bare CR is kept as content and remembered
/// (`sawBareCarriageReturn`); the server refuses such a message.
public struct SMTPDataReader: Sendable {
    enum Position: Sendable {
        /// At the start of a line; `afterCRLF` when the previous line ended in CRLF (or this is
        /// the first line), the only place where the end-of-data line may start.
        case lineStart(afterCRLF: Bool)
        case inLine
        /// A CR inside a line; CRLF if an LF follows.
        case carriageReturn
        /// A `.` at the start of a line.
        case dot(afterCRLF: Bool)
        /// `.` then CR at the start of a line: the end if an LF follows and the line began after CRLF.
        case dotCarriageReturn(afterCRLF: Bool)
    }

    public let limit: Int
    private var position = Position.lineStart(afterCRLF: true)
    /// The message, dot-unstuffed, with CRLF line ends.
    public private(set) var content: [UInt8] = []
    /// More than `limit` bytes arrived; the rest was counted and dropped.
    public private(set) var exceededLimit = false
    public private(set) var sawBareCarriageReturn = false
    /// Some line ended in a bare LF (stored as CRLF).
    public private(set) var sawBareLineFeed = false
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

    private static let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, dot = UInt8(ascii: ".")

    /// One byte of input; true at the end of data.
    private mutating func step(_ byte: UInt8) -> Bool {
        switch position {
        case .lineStart(let afterCRLF):
            if byte == Self.dot { position = .dot(afterCRLF: afterCRLF); return false }
            inLine(byte)
        case .inLine:
            inLine(byte)
        case .carriageReturn:
            if byte == Self.lf {
                endLine()
                position = .lineStart(afterCRLF: true)
            } else {
                sawBareCarriageReturn = true
                append(Self.cr)
                inLine(byte)
            }
        case .dot(let afterCRLF):
            if byte == Self.cr {
                position = .dotCarriageReturn(afterCRLF: afterCRLF)
            } else if byte == Self.lf {
                // `.<LF>`: not the end; a line holding one dot.
                sawBareLineFeed = true
                append(Self.dot)
                endLine()
                position = .lineStart(afterCRLF: false)
            } else {
                // A leading dot followed by more text is stuffing: drop it.
                inLine(byte)
            }
        case .dotCarriageReturn(let afterCRLF):
            if byte == Self.lf {
                if afterCRLF { return true }
                append(Self.dot)
                endLine()
                position = .lineStart(afterCRLF: true)
            } else {
                sawBareCarriageReturn = true
                append(Self.dot)
                append(Self.cr)
                inLine(byte)
            }
        }
        return false
    }

    private mutating func inLine(_ byte: UInt8) {
        switch byte {
        case Self.cr:
            position = .carriageReturn
        case Self.lf:
            sawBareLineFeed = true
            endLine()
            position = .lineStart(afterCRLF: false)
        default:
            append(byte)
            position = .inLine
        }
    }

    private mutating func endLine() {
        append(Self.cr)
        append(Self.lf)
    }

    private mutating func append(_ byte: UInt8) {
        if content.count < limit { content.append(byte) } else { exceededLimit = true }
    }
}
