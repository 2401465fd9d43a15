import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilCore
@testable import VeilWeb

@Suite struct MultipartTests {
    @Test func boundariesFromTheContentType() {
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(Multipart.boundary(contentType: #"Multipart/Form-Data; charset=utf-8; boundary="a b""#) == "a b")
        #expect(Multipart.boundary(contentType: "application/x-www-form-urlencoded") == nil)
        #expect(Multipart.boundary(contentType: "multipart/form-data") == nil)
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "x", count: 71)) == nil)
    }

    @Test func partsWithBinaryContentThatLooksLikeLineBreaks() throws {
        let binary: [UInt8] = [0x89, 0x50, 13, 10, 0x2D, 0x2D, 0, 255, 13, 10]
        let body = Array("preamble\r\n--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--XY\r\nContent-Disposition: form-data; name=\"f\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            + binary + Array("\r\n--XY--\r\n".utf8)
        let form = try #require(Multipart(body: body, boundary: "XY"))
        #expect(form.text("a") == "one")
        #expect(form["f"]?.filename == "p.png" && form["f"]?.contentType == "image/png")
        #expect(form["f"]?.body == binary)
    }

    @Test func malformedBodiesAreRefusedNotTrapped() {
        let cases = [
            "",
            "--XY",
            "--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno closing delimiter",
            "--XY\r\nno header end\r\n--XY--",
            "--XY\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--XY--\r\n",
            "--XYjunk",
        ]
        for text in cases { #expect(Multipart(body: Array(text.utf8), boundary: "XY") == nil, "\(text)") }
        let many = (0...Multipart.maxParts).map { "--XY\r\nContent-Disposition: form-data; name=\"p\($0)\"\r\n\r\nv\r\n" }.joined() + "--XY--\r\n"
        #expect(Multipart(body: Array(many.utf8), boundary: "XY") == nil, "too many parts")
    }

    @Test func aProfilePictureIsUploadedShownAndRemoved() async throws {
        let harness = try WebHarness()
        let user = try harness.user()
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 100)
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let settings = try await browser.get("/dashboard/setting")
            #expect(!settings.html.contains("Your profile picture"))
            let text = try await browser.submitMultipart("/dashboard/setting/picture", from: settings,
                                                         files: [("picture", "x.txt", Array("not an image".utf8))])
            #expect(text.status == .badRequest && text.html.contains("Choose a PNG, JPEG, GIF or WebP image"))
            let uploaded = try await browser.submitMultipart("/dashboard/setting/picture", from: settings, files: [("picture", "me.png", png)])
            #expect(uploaded.location == "/dashboard/setting?notice=settings-saved")
            let shown = try await browser.get("/dashboard/setting")
            let source = try #require(shown.firstMatch(#"<img class="avatar" src="([^"]+)""#))
            let image = try await browser.get(source)
            #expect(image.status == .ok && image.headers[.contentType] == "image/png")
            #expect(image.headers[.contentLength] == "\(png.count)")
            #expect(try harness.store.profilePicture(userId: user.id)?.data == Data(png), "the bytes as sent")
            try await browser.submit("/dashboard/setting/picture/delete", from: shown)
            #expect(try harness.store.profilePicture(userId: user.id) == nil)
            #expect(try await browser.get("/dashboard/profile_picture").status == .notFound)

            let forged = try await browser.submitMultipart("/dashboard/setting/picture", from: Page(status: .ok, headers: [:], html: ""),
                                                           files: [("picture", "me.png", png)])
            #expect(forged.status == .forbidden, "no CSRF token, no upload")
            #expect(try harness.store.profilePicture(userId: user.id) == nil)
        }
    }

    @Test func theImportTakesTheFileItself() async throws {
        let harness = try WebHarness()
        let user = try harness.user(premium: true)
        let domain = try harness.store.createCustomDomain(userId: user.id, domain: "mine.example", dkimPrivateKey: "")
        try harness.store.updateCustomDomain(id: domain.id ?? 0, userId: user.id) { $0.verified = true }
        try await harness.test { browser in
            try await browser.logIn(user.email)
            let form = try await browser.get("/dashboard/import")
            #expect(form.html.contains(#"enctype="multipart/form-data""#))
            let result = try await browser.submitMultipart("/dashboard/import", from: form, fields: [("csv", "")], files: [
                ("file", "aliases.csv", Array("alias,note,enabled,mailboxes\r\nfile@mine.example,,True,user@example.com\r\n".utf8)),
            ])
            #expect(result.status == .ok && result.html.contains("1 aliases created, 0 skipped."))
            let binary = try await browser.submitMultipart("/dashboard/import", from: form, files: [("file", "x.csv", [0xFF, 0xFE, 0x00])])
            #expect(binary.status == .badRequest && binary.html.contains("The file must be UTF-8 text"))
        }
    }
}
