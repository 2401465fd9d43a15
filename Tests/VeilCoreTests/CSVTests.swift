import Testing
@testable import VeilCore

@Suite struct CSVTests {
    @Test func writesLikePythonsCSVModule() {
        #expect(CSV.line(["alias", "note", "enabled", "mailboxes"]) == "alias,note,enabled,mailboxes\r\n")
        #expect(CSV.line(["abc@veil.example", "Used on Facebook, Instagram.", "True", "a@x.com b@x.com"])
            == "abc@veil.example,\"Used on Facebook, Instagram.\",True,a@x.com b@x.com\r\n")
        #expect(CSV.line(["a", "say \"hi\"", "", "line\nbreak"]) == "a,\"say \"\"hi\"\"\",,\"line\nbreak\"\r\n")
    }

    @Test func parsesQuotedFieldsLineBreaksAndBOM() throws {
        let text = "\u{FEFF}alias,note\r\na@x.com,\"one, two\"\r\nb@x.com,\"multi\r\nline \"\"quoted\"\"\"\r\n\r\nc@x.com,plain\nd@x.com,"
        let records = try CSV.parse(text)
        #expect(records.map(\.fields) == [["alias", "note"], ["a@x.com", "one, two"], ["b@x.com", "multi\r\nline \"quoted\""],
                                          ["c@x.com", "plain"], ["d@x.com", ""]])
        #expect(records.map(\.line) == [1, 2, 3, 6, 7])
        #expect(throws: CSV.ParseError(line: 2)) { try CSV.parse("a\n\"open") }
    }

    /// Found by fuzzing: a comma or quote with a combining mark after it is one `Character`, so
    /// the writer did not quote it, and the reader split the field there.
    @Test(arguments: [",\u{301}", "\"\u{301}x", "note,\u{20DD} more", "\r\u{301}"])
    func separatorsFollowedByCombiningMarksAreQuoted(_ value: String) throws {
        let records = try CSV.parse(CSV.line(["a@veil.test", value, "True"]))
        #expect(records.map(\.fields) == [["a@veil.test", value, "True"]])
    }

    @Test func roundTripsAnyText() throws {
        let rows = [["x", "héllo 👋, \"wörld\"\nnext", "True", ""], ["y", "\r\n", "False", "m@x.com"]]
        let text = rows.map(CSV.line).joined()
        #expect(try CSV.parse(text).map(\.fields) == rows)
    }

    @Test func relativeTimes() {
        let cases: [(Int64, String)] = [(0, "just now"), (9, "just now"), (44, "44 seconds ago"), (60, "a minute ago"),
                                        (120, "2 minutes ago"), (44 * 60, "44 minutes ago"), (3_600, "an hour ago"),
                                        (3 * 3_600, "3 hours ago"), (30 * 3_600, "a day ago"), (2 * 86_400, "2 days ago"),
                                        (7 * 86_400, "a week ago"), (21 * 86_400, "3 weeks ago"), (40 * 86_400, "a month ago"),
                                        (400 * 86_400, "a year ago"), (3 * 365 * 86_400, "3 years ago"), (-5, "just now")]
        for (seconds, text) in cases { #expect(RelativeTime.ago(seconds: seconds) == text, "\(seconds)") }
    }
}
