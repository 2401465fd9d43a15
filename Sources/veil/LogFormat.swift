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

    static let output = FileHandle.standardError
    static let lock = NSLock()

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let time = Self.timestamp()
        let line: String
        switch format {
        case .logfmt:
            var parts = ["ts=\(time)", "level=\(event.level.rawValue)", "label=\(Self.logfmtValue(label))", "msg=\(Self.logfmtValue(event.message.description))"]
            for key in merged.keys.sorted() { parts.append("\(key)=\(Self.logfmtValue(merged[key]?.description ?? ""))") }
            line = parts.joined(separator: " ")
        case .json:
            var fields: [(String, String)] = [("ts", time), ("level", event.level.rawValue), ("label", label), ("msg", event.message.description)]
            for key in merged.keys.sorted() { fields.append((key, merged[key]?.description ?? "")) }
            line = "{" + fields.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",") + "}"
        }
        let data = Data((line + "\n").utf8)
        Self.lock.lock()
        Self.output.write(data)
        Self.lock.unlock()
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return TextFormat.utcDateTime(Int64(now.tv_sec), separator: "T") + "." + TextFormat.zeroPadded(Int(now.tv_nsec / 1_000_000), width: 3) + "Z"
    }

    /// Bare when it has no space, quote, `=` or control character; quoted with escapes otherwise.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0 == "\\" }
        guard needsQuotes else { return value }
        return jsonString(value)
    }

    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Installs the handler for the whole process, once, before any logger is made.
    static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let format = Format(rawValue: (environment["VEIL_LOG_FORMAT"] ?? "logfmt").lowercased()) ?? .logfmt
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format) }
    }
}
