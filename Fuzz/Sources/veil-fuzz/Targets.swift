import Foundation
import NIOCore
import VeilCore
import VeilMail
import VeilSMTP

/// One libFuzzer entry point; `VEIL_FUZZ_TARGET` picks the parser. Each target also checks the
/// invariants its parser promises, so a wrong answer is a crash too, not only a trap.
enum FuzzTarget: String, CaseIterable {
    case smtpLine = "smtp-line"
    case smtpData = "smtp-data"
    case smtpCommand = "smtp-command"
    case message
    case addressList = "address-list"
    case encodedWords = "encoded-words"
    case authenticationResults = "authentication-results"
    case deliveryReport = "delivery-report"
    case csv
    case multipart

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["VEIL_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("VEIL_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .smtpLine: Self.smtpLine(bytes)
        case .smtpData: Self.smtpData(bytes)
        case .smtpCommand: _ = try? SMTPCommand.parse(String(decoding: bytes, as: UTF8.self))
        case .message: Self.message(bytes)
        case .addressList: Self.addressList(String(decoding: bytes, as: UTF8.self))
        case .encodedWords: _ = EncodedWordDecoder.decode(String(decoding: bytes, as: UTF8.self))
        case .authenticationResults: _ = AuthenticationResults.parse(String(decoding: bytes, as: UTF8.self))
        case .deliveryReport: Self.deliveryReport(bytes)
        case .csv: Self.csv(String(decoding: bytes, as: UTF8.self))
        case .multipart: Self.multipart(bytes)
        }
    }

    /// Lines come out bounded, and everything fed in is accounted for, in both modes, however the
    /// input is split into reads.
    static func smtpLine(_ bytes: [UInt8]) {
        for bareLineFeed in [false, true] {
            var decoder = SMTPLineDecoder(maxLength: 64, bareLineFeedEndsLine: bareLineFeed)
            var buffer = ByteBuffer()
            for chunk in chunks(bytes) {
                buffer.writeBytes(chunk)
                while let line = decoder.nextLine(&buffer) {
                    precondition(line.bytes.readableBytes <= 64, "a line longer than the limit")
                    precondition(line.tooLong || !line.bytes.readableBytesView.contains(0x0D) || line.hasBareNewline)
                }
                precondition(buffer.readableBytes <= 66, "unbounded buffering")
                buffer.discardReadBytes()
            }
        }
    }

    /// The reader never keeps more than its limit, ends only after CRLF.CRLF, never lets a bare CR
    /// or LF through as a line end, and reading in pieces gives what reading at once does.
    static func smtpData(_ bytes: [UInt8]) {
        var whole = SMTPDataReader(limit: 4_096)
        var all = ByteBuffer(bytes: bytes)
        let finished = whole.consume(&all)
        precondition(whole.content.count <= 4_096)
        if finished {
            let used = bytes.count - all.readableBytes
            precondition(used >= 3 && Array(bytes[(used - 3)..<used]) == Array(".\r\n".utf8), "ended without the marker")
            precondition(used == 3 || (used >= 5 && bytes[used - 5] == 0x0D && bytes[used - 4] == 0x0A), "ended after a bare line end")
        }
        if !whole.exceededLimit {
            // Every line end in the content is CRLF; a CR alone appears only when it was seen.
            var previous: UInt8 = 0
            for byte in whole.content {
                if byte == 0x0A { precondition(previous == 0x0D, "a bare LF in the content") }
                previous = byte
            }
        }
        var pieces = SMTPDataReader(limit: 4_096)
        var piecesFinished = false
        for chunk in chunks(bytes) where !piecesFinished {
            var buffer = ByteBuffer(bytes: chunk)
            piecesFinished = pieces.consume(&buffer)
        }
        precondition(piecesFinished == finished && pieces.content == whole.content, "pieces differ from the whole")
    }

    /// Parse, rewrite what Veil rewrites, serialize, parse again: the values survive, and no
    /// field Veil wrote has a line over 998 octets.
    static func message(_ bytes: [UInt8]) {
        guard var message = try? Message(parsing: bytes) else { return }
        for field in message.fields.prefix(50) {
            _ = AddressList.parse(field.value)
            _ = EncodedWordDecoder.decode(field.value)
        }
        _ = AuthenticationResults.trusted(in: message, trustedID: nil)
        let to = AddressList.parse(message.value("To") ?? "").map { MailboxFormatting.format(displayName: $0.name, address: $0.address) }
            .joined(separator: ", ")
        message.set("To", to)
        message.set("References", message.value("References") ?? "")
        message.foldOverlongFields()
        let serialized = message.serialized
        guard let again = try? Message(parsing: serialized) else {
            preconditionFailure("a serialized message no longer parses")
        }
        precondition(again.value("To") == message.value("To"), "To changed through serialization")
        precondition(again.body == message.body, "the body changed")
        for field in [again.fields(named: "To"), again.fields(named: "References")].joined() {
            let longest = field.rawValue.split(separator: 0x0A).map(\.count).max() ?? 0
            let words = field.value.split(separator: " ").map(\.utf8.count).max() ?? 0
            precondition(longest <= max(998, words + 2), "a folded line over 998 octets")
        }
    }

    /// Folding never changes an address list's meaning.
    static func addressList(_ text: String) {
        let entries = AddressList.parse(text)
        let written = entries.map { MailboxFormatting.format(displayName: $0.name, address: $0.address) }.joined(separator: ", ")
        let folded = HeaderFolding.fold(name: "To", value: written)
        let unfolded = String(decoding: folded.filter { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        // A CR or LF in a value becomes a space (no header injection); nothing else changes.
        let expected = " " + String(String.UnicodeScalarView(written.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
        precondition(unfolded == expected, "folding changed the value")
        precondition(!folded.split(separator: 0x0A).dropFirst().contains { $0.first != 0x20 && $0.first != 0x09 },
                     "a folded line that does not start with white space")
    }

    static func deliveryReport(_ bytes: [UInt8]) {
        guard let message = try? Message(parsing: bytes) else { return }
        let report = DeliveryReport.parse(message)
        if report.isPermanentFailure { precondition(report.isFailure) }
        _ = report.reason
    }

    static func csv(_ text: String) {
        guard let records = try? CSV.parse(text) else { return }
        // What Veil writes reads back the same.
        // A leading byte-order mark is dropped on reading, by design (spreadsheet exports).
        for record in records.prefix(20) where record.fields.first?.unicodeScalars.first != "\u{FEFF}" {
            let line = CSV.line(record.fields)
            if let reread = try? CSV.parse(line) {
                precondition(reread.first?.fields == record.fields || record.fields.isEmpty, "CSV.line did not round-trip")
            }
        }
    }

    /// The dashboard's form parser: parts bounded in number, each within the body.
    static func multipart(_ bytes: [UInt8]) {
        guard let form = Multipart(body: bytes, boundary: "XY") else { return }
        precondition(form.parts.count <= Multipart.maxParts, "more parts than the limit")
        precondition(form.parts.reduce(0) { $0 + $1.body.count } <= bytes.count, "parts larger than the body")
        _ = Multipart.boundary(contentType: String(decoding: bytes.prefix(200), as: UTF8.self))
    }

    /// Splits the input into reads at positions taken from its own bytes.
    static func chunks(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let length = 1 + Int(bytes[start] % 7)
            let end = min(bytes.count, start + length)
            result.append(bytes[start..<end])
            start = end
        }
        return result
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    FuzzTarget.selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// SwiftPM links an executable's entry point as `<module>_main`; it hands over to libFuzzer.
@_cdecl("veil_fuzz_main")
public func veilFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
}
