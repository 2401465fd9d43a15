import Foundation
import NIOCore
import Testing
import VeilCore
import VeilStore
@testable import VeilAPI

@Suite struct JSONWriterTests {
    func text(_ value: JSON) -> String { String(decoding: value.serialized, as: UTF8.self) }

    func text(_ write: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter(capacity: 4)  // small, so that every test also grows the buffer
        write(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func layoutOfContainersAndScalars() {
        #expect(text(["a": 1, "b": [1, 2, [], [:]], "c": ["d": nil, "e": true, "f": false]])
            == #"{"a": 1, "b": [1, 2, [], {}], "c": {"d": null, "e": true, "f": false}}"#)
        #expect(text([]) == "[]")
        #expect(text([:]) == "{}")
        #expect(text(.double(2.5)) == "2.5")
        #expect(text(.double(.infinity)) == "null")
    }

    @Test func integersAtTheirLimits() {
        for value: Int64 in [0, 7, -7, 10, -10, 99, 100, 1_586_195_834, .max, .min, .min + 1] {
            #expect(text(.int(value)) == String(value))
        }
    }

    @Test func stringsAreEscapedOnlyWhereJSONRequires() throws {
        let raw = "quote\" backslash\\ nl\n cr\r tab\t nul\u{00} unit\u{1F} é 😀 / <>"
        let written = text(.string(raw))
        #expect(written == #""quote\" backslash\\ nl\n cr\r tab\t nul\u0000 unit\u001f é 😀 / <>""#)
        #expect(try JSON.parse(Array(written.utf8)) == .string(raw))
        #expect(text(["k\"ey": "v"]) == #"{"k\"ey": "v"}"#)
        // Small (inline) and large (heap) strings take the same path.
        #expect(text(.string("abc")) == #""abc""#)
        #expect(text(.string(String(repeating: "x", count: 100))) == "\"" + String(repeating: "x", count: 100) + "\"")
    }

    @Test func stringsInPiecesEscapeEachPiece() {
        let written = text { json in
            json.beginArray()
            json.int(1)
            json.beginString()
            json.write("a\"b")
            json.write("")
            json.write("\\\n")
            json.endString()
            json.endArray()
        }
        #expect(written == #"[1, "a\"b\\\n"]"#)
    }

    @Test func datesInPlace() {
        let written = text { json in
            json.beginObject()
            json.key("at"); json.utcDateTime(1_586_195_834, suffix: "+00:00")
            json.key("leap"); json.utcDateTime(951_782_400, suffix: "")
            json.key("far"); json.utcDateTime(253_402_300_800, suffix: "+00:00")  // year 10000
            json.endObject()
        }
        #expect(written == #"{"at": "2020-04-06 17:57:14+00:00", "leap": "2000-02-29 00:00:00", "far": "10000-01-01 00:00:00+00:00"}"#)
    }

    /// The whole alias object, byte for byte, against the layout written out by hand.
    @Test func aliasObject() {
        var alias = Alias(userId: 1, email: "shop@veil.test", mailboxId: 3, note: "line\nbreak",
                          createdAt: Date(timeIntervalSince1970: 1_586_195_834))
        alias.id = 42
        alias.nbForward = 5
        alias.nbReply = 1
        var primary = Mailbox(userId: 1, email: "me@example.com", verified: true, createdAt: Date())
        primary.id = 3
        var other = Mailbox(userId: 1, email: "other@example.com", verified: true, createdAt: Date())
        other.id = 4
        other.pgpPublicKey = "key"
        var log = EmailLog(userId: 1, aliasId: 42, contactId: 9, mailboxId: 3, isReply: true,
                           createdAt: Date(timeIntervalSince1970: 1_586_200_000))
        log.id = 77
        var contact = Contact(userId: 1, aliasId: 42, websiteEmail: "a@b.example", name: "Say \"hi\"",
                              replyEmail: "rev@veil.test", createdAt: Date())
        contact.id = 9
        let activity = AliasView.Activity(createdAt: log.createdAt, action: log.action,
                                          contact: AliasView.ContactRef(websiteEmail: contact.websiteEmail, name: contact.name,
                                                                        replyEmail: contact.replyEmail))
        let view = AliasView(alias: alias, mailboxes: [primary, other].map(AliasView.MailboxRef.init), latestActivity: activity)
        let written = text { Serialize.alias(view, format: .a, to: &$0, isCreation: true) }
        let expected = #"{"id": 42, "email": "shop@veil.test", "name": null, "note": "line\nbreak", "enabled": true, "pinned": false, "#
            + #""creation_date": "2020-04-06 17:57:14+00:00", "creation_timestamp": 1586195834, "nb_forward": 5, "nb_block": 0, "nb_reply": 1, "#
            + #""mailbox": {"id": 3, "email": "me@example.com"}, "mailboxes": [{"id": 3, "email": "me@example.com"}, {"id": 4, "email": "other@example.com"}], "#
            + #""support_pgp": true, "disable_pgp": false, "latest_activity": {"timestamp": 1586200000, "action": "reply", "#
            + #""contact": {"email": "a@b.example", "name": "Say \"hi\"", "reverse_alias": "\"Say hi | a(a)b.example\" <rev@veil.test>"}}, "#
            + #""alias": "shop@veil.test"}"#
        #expect(written == expected)

        let quiet = AliasView(alias: alias, mailboxes: [], latestActivity: nil)
        let plain = text { Serialize.alias(quiet, format: .at, to: &$0) }
        #expect(plain.contains(#""mailbox": null, "mailboxes": [], "support_pgp": false"#))
        #expect(plain.hasSuffix(#""latest_activity": null}"#))
    }
}
