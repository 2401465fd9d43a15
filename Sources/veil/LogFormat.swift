import Foundation
import Logging
import VeilCore

/// One line per event on standard error, in logfmt (`ts=... level=info label=veil.api msg="http request" status=200`)
/// or JSON, so operators can grep or ship them. Chosen with `VEIL_LOG_FORMAT=logfmt|json`.
struct LineLogHandler: LogHandler {
    enum Format: String { case logfmt, json }

    let label: String
    let format: Format
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let lock = NSLock()

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { $1 } }
        if let extra = event.metadata, !extra.isEmpty {
            if merged.isEmpty { merged = extra } else { merged.merge(extra) { $1 } }
        }
        var line = Self.line(format: format, time: Self.now(), level: event.level, label: label,
                             message: event.message.description, metadata: merged)
        line.append(UInt8(ascii: "\n"))
        // One write per line, so lines from two threads never interleave.
        Self.lock.lock()
        defer { Self.lock.unlock() }
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// One event as a line (without its newline). Built as bytes: it runs once per API request,
    /// and the string interpolations and joins it was made of showed in profiles.
    static func line(format: Format, time: timespec, level: Logger.Level, label: String, message: String,
                     metadata: Logger.Metadata) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        let keys = metadata.keys.sorted()
        switch format {
        case .logfmt:
            line.append(contentsOf: "ts=".utf8)
            appendTimestamp(time, to: &line)
            line.append(contentsOf: " level=".utf8)
            line.append(contentsOf: level.rawValue.utf8)
            line.append(contentsOf: " label=".utf8)
            appendLogfmtValue(label, to: &line)
            line.append(contentsOf: " msg=".utf8)
            appendLogfmtValue(message, to: &line)
            for key in keys {
                line.append(UInt8(ascii: " "))
                line.append(contentsOf: key.utf8)
                line.append(UInt8(ascii: "="))
                appendLogfmtValue(metadata[key]?.description ?? "", to: &line)
            }
        case .json:
            line.append(contentsOf: "{\"ts\":\"".utf8)
            appendTimestamp(time, to: &line)
            line.append(contentsOf: "\",\"level\":".utf8)
            appendJSONString(level.rawValue, to: &line)
            line.append(contentsOf: ",\"label\":".utf8)
            appendJSONString(label, to: &line)
            line.append(contentsOf: ",\"msg\":".utf8)
            appendJSONString(message, to: &line)
            for key in keys {
                line.append(UInt8(ascii: ","))
                appendJSONString(key, to: &line)
                line.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key]?.description ?? "", to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
        return line
    }

    static func now() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }

    /// `2026-11-23T10:15:02.123Z`.
    static func appendTimestamp(_ time: timespec, to line: inout [UInt8]) {
        let start = line.count
        line.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: TextFormat.utcDateTimeLength))
        let written = line.withUnsafeMutableBytes { bytes in
            TextFormat.writeUTCDateTime(Int64(time.tv_sec), separator: UInt8(ascii: "T"),
                                        to: UnsafeMutableRawBufferPointer(rebasing: bytes[start...]))
        }
        if !written {
            line.removeLast(TextFormat.utcDateTimeLength)
            line.append(contentsOf: TextFormat.utcDateTime(Int64(time.tv_sec), separator: "T").utf8)
        }
        let millis = Int(time.tv_nsec / 1_000_000)
        line.append(UInt8(ascii: "."))
        line.append(UInt8(ascii: "0") + UInt8(millis / 100))
        line.append(UInt8(ascii: "0") + UInt8(millis / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(millis % 10))
        line.append(UInt8(ascii: "Z"))
    }

    /// Bare when it has no space, quote, `=`, backslash or control character; quoted with escapes otherwise.
    static func appendLogfmtValue(_ value: String, to line: inout [UInt8]) {
        let needsQuotes = value.isEmpty || value.utf8.contains {
            $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 < 0x20 || $0 == UInt8(ascii: "\\")
        }
        if needsQuotes { appendJSONString(value, to: &line) } else { line.append(contentsOf: value.utf8) }
    }

    static func appendJSONString(_ value: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "\""))
        TextFormat.appendJSONEscaped(value, to: &line)
        line.append(UInt8(ascii: "\""))
    }

    /// Installs the handler for the whole process, once, before any logger is made.
    static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let format = Format(rawValue: (environment["VEIL_LOG_FORMAT"] ?? "logfmt").lowercased()) ?? .logfmt
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format) }
    }
}
