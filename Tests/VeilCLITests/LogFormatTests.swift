import Foundation
import Logging
import Testing
@testable import veil

@Suite struct LogFormatTests {
    let time = timespec(tv_sec: 1_586_195_834, tv_nsec: 7_900_000)

    func line(_ format: LineLogHandler.Format, _ message: String, _ metadata: Logger.Metadata) -> String {
        String(decoding: LineLogHandler.line(format: format, time: time, level: .info, label: "veil.api",
                                             message: message, metadata: metadata), as: UTF8.self)
    }

    @Test func logfmtLineSortsKeysAndQuotesOnlyWhereNeeded() {
        let text = line(.logfmt, "http request", ["status": "200", "path": "/api/v2/aliases", "note": "a=b", "empty": "",
                                                 "control": "tab\there\u{01}", "quote": "say \"hi\" \\o/"])
        #expect(text == #"ts=2020-04-06T17:57:14.007Z level=info label=veil.api msg="http request" control="tab\there\u0001" empty="" note="a=b" path=/api/v2/aliases quote="say \"hi\" \\o/" status=200"#)
    }

    @Test func jsonLineEscapesEveryString() {
        let text = line(.json, "say \"hi\"\n", ["b": "2", "a": "é"])
        #expect(text == #"{"ts":"2020-04-06T17:57:14.007Z","level":"info","label":"veil.api","msg":"say \"hi\"\n","a":"é","b":"2"}"#)
        let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(parsed?["msg"] == "say \"hi\"\n" && parsed?["a"] == "é")
    }

    @Test func timestampsKeepTheirMilliseconds() {
        var stamp: [UInt8] = []
        LineLogHandler.appendTimestamp(timespec(tv_sec: 951_782_400, tv_nsec: 999_999_999), to: &stamp)
        #expect(String(decoding: stamp, as: UTF8.self) == "2000-02-29T00:00:00.999Z")
        stamp = []
        LineLogHandler.appendTimestamp(timespec(tv_sec: 0, tv_nsec: 0), to: &stamp)
        #expect(String(decoding: stamp, as: UTF8.self) == "1970-01-01T00:00:00.000Z")
    }
}
