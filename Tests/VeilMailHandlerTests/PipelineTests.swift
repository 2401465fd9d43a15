import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
import VeilCore
import VeilMail
import VeilSMTP
import VeilStore
import VeilTestSupport
@testable import VeilMailHandler

/// `veil smtpd` in miniature: a real SMTP server with the pipeline on loopback, a real SQLite
/// file, and a real SMTP listener standing in for the relay.
final class MailHarness: @unchecked Sendable {
    let store: Store
    let sink: SMTPSink
    let server: SMTPServer
    let user: User
    let alias: Alias
    let mailbox: Mailbox

    init(rateLimits: Bool = false, lmtp: Bool = false, maxForwardRecipients: Int = 30) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-mail-\(UUID().uuidString).sqlite").path
        store = try Store(path: path)
        try store.migrate()
        try store.ensureSecrets()
        user = try store.createUser(email: "owner@mailbox.example", name: "Owner", passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id)
        mailbox = try #require(try store.mailboxes(userId: userId).first)
        let mailboxId = try #require(mailbox.id)
        alias = try store.createAlias(userId: userId, email: "shop.fox123@veil.test", mailboxIds: [mailboxId])
        sink = try await SMTPSink()
        var configuration = MailConfiguration(aliasDomains: ["veil.test"], emailDomain: "veil.test", rateLimits: rateLimits)
        configuration.maxForwardRecipients = maxForwardRecipients
        let pipeline = try MailPipeline(store: store, relay: SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30)),
                                        configuration: configuration, lmtp: lmtp)
        server = try await SMTPServer.start(host: "127.0.0.1", port: 0,
                                            configuration: .init(hostname: "mx.veil.test", lmtp: lmtp), delegate: pipeline)
    }

    /// Sends through the server; returns the final reply, or the refusal.
    func send(from: String, to: [String], _ message: String) async -> SMTPReply {
        let client = SMTPClient(host: "127.0.0.1", port: server.port, heloName: "mta.example", timeout: .seconds(30))
        do {
            return try await client.send(from: from, to: to, message: Array(message.utf8))
        } catch let SMTPClient.Failure.refused(_, reply) {
            return reply
        } catch {
            return SMTPReply(code: 0, lines: ["\(error)"])
        }
    }

    func logs() throws -> [EmailLog] {
        let aliasId = try #require(alias.id), userId = try #require(user.id)
        return try store.emailLogs(aliasId: aliasId, userId: userId, limit: 100, offset: 0)
    }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(1))
        await sink.shutdown()
    }
}

extension SMTPReply {
    /// `550 5.1.1 E515` — the parts Appendix A says tests compare.
    var head: String {
        let words = (lines.first ?? "").split(separator: " ")
        return "\(code) " + words.prefix(2).joined(separator: " ")
    }
}

func header(_ data: String, _ name: String) -> String? {
    guard let message = try? Message(parsing: Array(data.utf8)) else { return nil }
    return message.value(name)
}

let newsletter = """
    Received: from mail.shop.example (mail.shop.example [192.0.2.1])\r
    DKIM-Signature: v=1; a=rsa-sha256; d=shop.example; b=abc\r
    From: "Shop News" <news@shop.example>\r
    Reply-To: support@shop.example\r
    To: shop.fox123@veil.test\r
    Cc: Friend <friend@elsewhere.example>\r
    Subject: =?utf-8?q?Caf=C3=A9?= deals\r
    Message-ID: <abc123@shop.example>\r
    X-Mailer: ShopMailer 1.0\r
    MIME-Version: 1.0\r
    Content-Type: text/plain; charset=utf-8\r
    Content-Transfer-Encoding: 8bit\r
    \r
    Hello caf\u{e9} lovers,\r
    .this line starts with a dot\r

    """

@Suite(.serialized) struct ForwardTests {
    @Test func forwardRewritesHeadersAndKeepsTheBody() async throws {
        let harness = try await MailHarness()
        let reply = await harness.send(from: "bounce-123@shop.example", to: ["Shop.Fox123@veil.test"], newsletter)
        #expect(reply.head == "250 2.0.0 E200")
        let delivered = try await harness.sink.waitForMessages(1)
        let message = try #require(delivered.first)
        #expect(message.recipients == ["owner@mailbox.example"])
        #expect(message.sender.hasPrefix("sl.") && message.sender.hasSuffix("@veil.test"))

        let aliasId = try #require(harness.alias.id)
        let contact = try #require(try harness.store.contact(aliasId: aliasId, websiteEmail: "news@shop.example"))
        #expect(contact.name == "Shop News")
        #expect(contact.mailFrom == "bounce-123@shop.example")
        #expect(header(message.data, "From") == "\"Shop News - news at shop.example\" <\(contact.replyEmail)>")
        let cc = try #require(header(message.data, "Cc"))
        #expect(cc.hasPrefix("\"Friend - friend at elsewhere.example\" <") && cc.hasSuffix("@veil.test>"))
        #expect(header(message.data, "To") == "shop.fox123@veil.test")
        let replyTo = try #require(header(message.data, "Reply-To"))
        #expect(replyTo.hasPrefix("\"support at shop.example\" <") && !replyTo.contains("support@shop.example"))
        for removed in ["Received", "X-Mailer"] { #expect(header(message.data, removed) == nil) }
        // The sender's signature is gone; Veil's own covers the rewritten message.
        let signature = try #require(header(message.data, "DKIM-Signature"))
        #expect(signature.hasPrefix("v=1; a=rsa-sha256; c=relaxed/relaxed; d=veil.test; s=veil;"))
        #expect(!message.data.contains("d=shop.example"))
        for kept in ["Subject", "Message-ID", "MIME-Version", "Content-Type"] {
            #expect(header(message.data, kept) == header(newsletter, kept))
        }
        #expect(header(message.data, "X-Veil-Type") == "Forward")
        #expect(header(message.data, "X-Veil-Envelope-To") == "shop.fox123@veil.test")
        let logs = try harness.logs()
        #expect(logs.count == 1)
        #expect(header(message.data, "X-Veil-EmailLog-ID") == logs.first?.id.map(String.init))
        #expect(logs.first?.messageId == "<abc123@shop.example>")
        #expect(logs.first?.contactId == contact.id)
        #expect(logs.first?.mailboxId == harness.mailbox.id)
        // Body bytes untouched (the sink undoes dot-stuffing).
        #expect(message.data.hasSuffix("\r\n\r\nHello caf\u{e9} lovers,\r\n.this line starts with a dot"))
        let alias = try #require(try harness.store.alias(email: "shop.fox123@veil.test"))
        #expect(alias.nbForward == 1)
        await harness.stop()
    }

    @Test func unknownAliasAndForeignDomainAreRefusedAtRCPT() async throws {
        let harness = try await MailHarness()
        #expect(await harness.send(from: "a@b.example", to: ["nobody@veil.test"], "Subject: x\r\n\r\nx\r\n").head == "550 5.1.1 E515")
        #expect(await harness.send(from: "a@b.example", to: ["victim@gmail.com"], "Subject: x\r\n\r\nx\r\n").head == "550 5.7.1 E503")
        #expect(await harness.send(from: "a@b.example", to: ["sl.abc.def@veil.test"], "Subject: x\r\n\r\nx\r\n").head == "550 5.1.1 E512")
        #expect(harness.sink.messages.isEmpty)
        await harness.stop()
    }

    @Test func firstSuccessWinsAcrossRecipients() async throws {
        let harness = try await MailHarness(lmtp: false)
        // The unknown one is refused at RCPT, the transaction goes on with the alias.
        let client = try await RawLMTPClient.connect(port: harness.server.port)
        let transcript = try await client.exchange([
            "EHLO mta.example", "MAIL FROM:<a@b.example>", "RCPT TO:<nobody@veil.test>", "RCPT TO:<shop.fox123@veil.test>", "DATA",
        ], then: "From: a@b.example\r\nSubject: x\r\n\r\nx\r\n.\r\n", expectFinal: 1)
        #expect(transcript == ["250 2.0.0 E200 Message accepted for delivery"])
        #expect(try await harness.sink.waitForMessages(1).count == 1)
        await harness.stop()
    }

    @Test(arguments: [BlockBehaviour.return2xx, .return5xx])
    func disabledAliasAndBlockedContactAreLoggedAsBlocks(_ behaviour: BlockBehaviour) async throws {
        let harness = try await MailHarness()
        let userId = try #require(harness.user.id), aliasId = try #require(harness.alias.id)
        _ = try harness.store.updateUser(id: userId) { $0.blockBehaviour = behaviour }
        _ = try harness.store.updateAlias(id: aliasId, userId: userId) { $0.enabled = false }
        let expected = behaviour == .return2xx ? "250 2.0.0 E200" : "550 5.1.1 E502"
        #expect(await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\n\r\nx\r\n").head == expected)
        _ = try harness.store.updateAlias(id: aliasId, userId: userId) { $0.enabled = true }
        let contact = try #require(try harness.store.contact(aliasId: aliasId, websiteEmail: "a@b.example"))
        let contactId = try #require(contact.id)
        _ = try harness.store.toggleContactBlock(id: contactId, userId: userId)
        #expect(await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\n\r\nx\r\n").head == expected)
        try await Task.sleep(for: .milliseconds(100))
        #expect(harness.sink.messages.isEmpty)
        let logs = try harness.logs()
        #expect(logs.count == 2 && logs.allSatisfy { $0.blocked && $0.mailboxId == nil })
        #expect(try harness.store.alias(email: "shop.fox123@veil.test")?.nbBlock == 2)
        await harness.stop()
    }

    @Test func mailFromOwnMailboxIsALoop() async throws {
        let harness = try await MailHarness()
        let reply = await harness.send(from: "owner@mailbox.example", to: ["shop.fox123@veil.test"], "From: owner@mailbox.example\r\n\r\nx\r\n")
        #expect(reply.head == "250 2.0.0 E209")
        try await Task.sleep(for: .milliseconds(100))
        // Only the owner's notice went out, nothing was forwarded.
        #expect(harness.sink.messages.allSatisfy { header($0.data, "X-Veil-Type") == "Notice" })
        #expect(try harness.logs().isEmpty)
        await harness.stop()
    }

    @Test func mailFromOneOfOurReverseAliasesIsRefusedAndTheOwnerToldOnce() async throws {
        let harness = try await MailHarness()
        _ = await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\n\r\nx\r\n")
        _ = try await harness.sink.waitForMessages(1)
        let aliasId = try #require(harness.alias.id)
        let reverse = try #require(try harness.store.contact(aliasId: aliasId, websiteEmail: "news@shop.example")).replyEmail
        for _ in 0..<2 {
            let chained = "From: \(reverse)\r\nSubject: via another forwarder\r\n\r\nx\r\n"
            #expect(await harness.send(from: "bounces@other-forwarder.example", to: ["shop.fox123@veil.test"], chained).head == "550 5.2.1 E504")
        }
        try await Task.sleep(for: .milliseconds(100))
        let notices = harness.sink.messages.filter { header($0.data, "Subject") == "Veil shouldn't be used with another email forwarding system" }
        #expect(notices.count == 1)
        await harness.stop()
    }

    @Test func aMalformedHeaderIsRefusedPermanently() async throws {
        let harness = try await MailHarness()
        let reply = await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\nno colon on this line\r\n\r\nx\r\n")
        #expect(reply.head == "550 5.6.0 E523")
        #expect(try harness.logs().isEmpty)
        await harness.stop()
    }

    @Test func tooManyRecipientsInToAndCc() async throws {
        let harness = try await MailHarness()
        let many = (1...31).map { "p\($0)@b.example" }.joined(separator: ", ")
        let reply = await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\nTo: \(many)\r\n\r\nx\r\n")
        #expect(reply.head == "550 5.5.3 E526")
        await harness.stop()
    }

    @Test func relayDownGives451AndNoLog() async throws {
        let harness = try await MailHarness()
        harness.sink.refuse(true)
        let reply = await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\n\r\nx\r\n")
        #expect(reply.head == "451 4.4.0 E407")
        #expect(try harness.logs().isEmpty)
        #expect(try harness.store.outboundQueueLength == 0)
        harness.sink.refuse(false)
        #expect(await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\n\r\nx\r\n").head == "250 2.0.0 E200")
        #expect(try harness.logs().count == 1)
        await harness.stop()
    }

    @Test func rateLimitDefersWithA4xx() async throws {
        let harness = try await MailHarness(rateLimits: true)
        var heads: [String] = []
        for _ in 0..<11 {
            heads.append(await harness.send(from: "a@b.example", to: ["shop.fox123@veil.test"], "From: a@b.example\r\n\r\nx\r\n").head)
        }
        #expect(heads.prefix(10).allSatisfy { $0 == "250 2.0.0 E200" })
        #expect(heads.last == "451 4.7.0 E522")
        await harness.stop()
    }

    /// `random/new?hostname=sl.se` makes `sl.<word>@domain`: it must receive like any alias,
    /// while a VERP-shaped address that is not an alias is still checked as VERP.
    @Test func anAliasStartingWithTheVERPPrefixReceivesMail() async throws {
        let harness = try await MailHarness()
        let userId = try #require(harness.user.id), mailboxId = try #require(harness.mailbox.id)
        _ = try harness.store.createAlias(userId: userId, email: "sl.apple12@veil.test", mailboxIds: [mailboxId])
        #expect(await harness.send(from: "a@b.example", to: ["sl.apple12@veil.test"], "From: a@b.example\r\n\r\nx\r\n").head
                == "250 2.0.0 E200")
        #expect(try await harness.sink.waitForMessages(1).first?.recipients == ["owner@mailbox.example"])
        #expect(await harness.send(from: "a@b.example", to: ["sl.apple13@veil.test"], "Subject: x\r\n\r\nx\r\n").head == "550 5.1.1 E512")
        await harness.stop()
    }

    @Test(arguments: [false, true])
    func theSameRecipientTwiceGetsOneCopy(lmtp: Bool) async throws {
        let harness = try await MailHarness(lmtp: lmtp)
        let client = try await RawLMTPClient.connect(port: harness.server.port)
        let transcript = try await client.exchange([
            (lmtp ? "LHLO" : "EHLO") + " mta.example", "MAIL FROM:<a@b.example>", "RCPT TO:<shop.fox123@veil.test>",
            "RCPT TO:<Shop.Fox123@veil.test>", "DATA",
        ], then: "From: a@b.example\r\nSubject: x\r\n\r\nx\r\n.\r\n", expectFinal: lmtp ? 2 : 1)
        #expect(transcript == Array(repeating: "250 2.0.0 E200 Message accepted for delivery", count: lmtp ? 2 : 1))
        #expect(try await harness.sink.waitForMessages(1).count == 1)
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.sink.messages.count == 1)
        #expect(try harness.logs().count == 1)
        await harness.stop()
    }

    /// A display name that decodes to a line break must not add a header to the forwarded copy.
    @Test func anEncodedLineBreakInTheSenderNameInjectsNoHeader() async throws {
        let harness = try await MailHarness()
        let message = "From: =?utf-8?q?Shop=0D=0AX-Injected=3A_yes?= <news@shop.example>\r\nSubject: hi\r\n\r\nx\r\n"
        #expect(await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], message).head == "250 2.0.0 E200")
        let forwarded = try #require(try await harness.sink.waitForMessages(1).first)
        #expect(header(forwarded.data, "X-Injected") == nil)
        #expect(!forwarded.data.contains("\r\nX-Injected:"))
        let from = try #require(header(forwarded.data, "From"))
        #expect(from.contains("Shop  X-Injected: yes"), "\(from)")
        await harness.stop()
    }

    /// Rewritten To/Cc/References over 998 octets are folded before signing (RFC 5322 §2.2.3).
    @Test func longRewrittenHeadersAreFolded() async throws {
        let harness = try await MailHarness(maxForwardRecipients: 100)
        let to = (["shop.fox123@veil.test"] + (1...59).map { "\"Colleague Number \($0)\" <colleague\($0)@team.example>" })
            .joined(separator: ", ")
        let references = (1...60).map { "<\($0).1700000000.4242@mail.team.example>" }.joined(separator: " ")
        let message = "From: boss@team.example\r\nTo: \(to)\r\nReferences: \(references)\r\nSubject: all hands\r\n\r\nhi\r\n"
        #expect(await harness.send(from: "boss@team.example", to: ["shop.fox123@veil.test"], message).head == "250 2.0.0 E200")
        let forwarded = try #require(try await harness.sink.waitForMessages(1).first)
        let headerBlock = forwarded.data.components(separatedBy: "\r\n\r\n")[0]
        let lines = headerBlock.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 }, "\(lines.map(\.utf8.count).max() ?? 0)")
        #expect(lines.filter { !$0.hasPrefix(" ") && !$0.hasPrefix("\t") && !$0.hasPrefix("DKIM-Signature") }
            .allSatisfy { $0.utf8.count <= 78 })
        let rewritten = try #require(header(forwarded.data, "To"))
        let entries = AddressList.parse(rewritten)
        #expect(entries.count == 60)
        #expect(entries.filter { $0.address.hasSuffix("@veil.test") }.count == 60)
        #expect(header(forwarded.data, "References") == references)
        await harness.stop()
    }

    @Test func lmtpRepliesPerRecipient() async throws {
        let harness = try await MailHarness(lmtp: true)
        let userId = try #require(harness.user.id)
        let mailboxId = try #require(harness.mailbox.id), aliasId = try #require(harness.alias.id)
        _ = try harness.store.createAlias(userId: userId, email: "second@veil.test", mailboxIds: [mailboxId])
        _ = try harness.store.updateAlias(id: aliasId, userId: userId) { $0.enabled = false }
        _ = try harness.store.updateUser(id: userId) { $0.blockBehaviour = .return5xx }
        // Driven by hand: SMTPClient speaks EHLO, so speak LMTP over the raw socket.
        let client = try await RawLMTPClient.connect(port: harness.server.port)
        let transcript = try await client.exchange([
            "LHLO mta.example", "MAIL FROM:<a@b.example>", "RCPT TO:<shop.fox123@veil.test>", "RCPT TO:<second@veil.test>",
            "DATA",
        ], then: "From: a@b.example\r\nSubject: x\r\n\r\nx\r\n.\r\n", expectFinal: 2)
        #expect(transcript.suffix(2) == ["550 5.1.1 E502 Email not exist", "250 2.0.0 E200 Message accepted for delivery"])
        await harness.stop()
    }
}

@Suite(.serialized) struct ReplyTests {
    /// Forwards one message so the contact and its reverse-alias exist.
    func contact(_ harness: MailHarness) async throws -> Contact {
        _ = await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], newsletter)
        _ = try await harness.sink.waitForMessages(1)
        let aliasId = try #require(harness.alias.id)
        return try #require(try harness.store.contact(aliasId: aliasId, websiteEmail: "news@shop.example"))
    }

    @Test func replyGoesOutFromTheAliasWithoutTheMailbox() async throws {
        let harness = try await MailHarness()
        let contact = try await contact(harness)
        let forwardedId = try #require(harness.sink.messages.first.flatMap { header($0.data, "Message-ID") })
        let reply = """
            Received: from laptop (owner.example [198.51.100.7])\r
            From: Owner Person <owner@mailbox.example>\r
            Sender: owner@mailbox.example\r
            To: "Shop News - news at shop.example" <\(contact.replyEmail)>\r
            Subject: Re: deals\r
            Message-ID: <reply-1@mailbox.example>\r
            In-Reply-To: \(forwardedId)\r
            References: \(forwardedId)\r
            User-Agent: Thunderbird\r
            X-Originating-IP: 198.51.100.7\r
            \r
            Thanks!\r
            -- owner@mailbox.example\r

            """
        let result = await harness.send(from: "owner@mailbox.example", to: [contact.replyEmail], reply)
        #expect(result.head == "250 2.0.0 E200")
        let messages = try await harness.sink.waitForMessages(2)
        let sent = try #require(messages.last)
        #expect(sent.recipients == ["news@shop.example"])
        #expect(sent.sender.hasPrefix("sl.") && sent.sender.hasSuffix("@veil.test"))
        #expect(header(sent.data, "From") == "shop.fox123@veil.test")
        #expect(header(sent.data, "To") == "Shop News <news@shop.example>")
        #expect(header(sent.data, "X-Veil-Type") == "Reply")
        let veilId = try #require(header(sent.data, "Message-ID"))
        #expect(veilId.hasSuffix("@veil.test>"))
        #expect(header(sent.data, "In-Reply-To") == forwardedId)
        let headerBlock = sent.data.components(separatedBy: "\r\n\r\n").first ?? ""
        #expect(!headerBlock.lowercased().contains("mailbox.example"), "mailbox leaked: \(headerBlock)")
        #expect(!headerBlock.contains("198.51.100.7"))
        // The body is the user's business and stays as written.
        #expect(sent.data.hasSuffix("Thanks!\r\n-- owner@mailbox.example"), "\(sent.data)")
        let replyLog = try #require(try harness.logs().first { $0.isReply })
        #expect(replyLog.veilMessageId == veilId && replyLog.mailboxId == harness.mailbox.id)

        // The contact answers the Veil id: the user sees their own original id again.
        let answer = "From: news@shop.example\r\nTo: shop.fox123@veil.test\r\nIn-Reply-To: \(veilId)\r\nReferences: \(forwardedId) \(veilId)\r\n\r\nok\r\n"
        #expect(await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], answer).head == "250 2.0.0 E200")
        let third = try #require(try await harness.sink.waitForMessages(3).last)
        #expect(header(third.data, "In-Reply-To") == "<reply-1@mailbox.example>")
        #expect(header(third.data, "References") == "\(forwardedId) <reply-1@mailbox.example>")
        await harness.stop()
    }

    @Test func strangerCannotUseTheReverseAlias() async throws {
        let harness = try await MailHarness()
        let contact = try await contact(harness)
        let result = await harness.send(from: "mallory@evil.example", to: [contact.replyEmail],
                                        "From: mallory@evil.example\r\nTo: \(contact.replyEmail)\r\n\r\nhi\r\n")
        #expect(result.head == "250 2.0.0 E214")
        try await Task.sleep(for: .milliseconds(100))
        #expect(!harness.sink.messages.contains { $0.recipients == ["news@shop.example"] })
        // The owner is told (the notice goes to the account address).
        #expect(harness.sink.messages.contains { $0.recipients == ["owner@mailbox.example"] && header($0.data, "X-Veil-Type") == "Notice" })
        await harness.stop()
    }

    @Test func nonReverseAliasInCcStopsTheReply() async throws {
        let harness = try await MailHarness()
        let contact = try await contact(harness)
        let result = await harness.send(from: "owner@mailbox.example", to: [contact.replyEmail],
                                        "From: owner@mailbox.example\r\nTo: \(contact.replyEmail)\r\nCc: boss@work.example\r\n\r\nhi\r\n")
        #expect(result.head == "250 2.0.0 E200")
        try await Task.sleep(for: .milliseconds(100))
        #expect(!harness.sink.messages.contains { $0.recipients == ["news@shop.example"] })
        #expect(try harness.logs().allSatisfy { !$0.isReply })
        await harness.stop()
    }

    @Test func bounceToVERPMarksTheLog() async throws {
        let harness = try await MailHarness()
        _ = try await contact(harness)
        let verpSender = try #require(harness.sink.messages.first?.sender)
        let dsn = "From: MAILER-DAEMON@mailbox.example\r\nAuto-Submitted: auto-replied\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
            + "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mailbox.example\r\n\r\n"
            + "Final-Recipient: rfc822; owner@mailbox.example\r\nAction: failed\r\nStatus: 5.2.2\r\n"
            + "Diagnostic-Code: smtp; 550 5.1.1 mailbox full\r\n\r\n--b--\r\n"
        #expect(await harness.send(from: "", to: [verpSender], dsn).head == "250 2.0.0 E211")
        let log = try #require(try harness.logs().first)
        #expect(log.bounced)
        #expect(log.bounceReason == "smtp; 550 5.1.1 mailbox full")
        await harness.stop()
    }
}

@Suite(.serialized) struct DeliveryReportTests {
    /// A DSN saying "delayed" carries `Auto-Submitted` like an out-of-office reply, and names the
    /// mailbox: it must never be passed on to the contact.
    @Test(arguments: ["delayed", "relayed", "delivered", "expanded"])
    func aReportThatIsNotAFailureIsLoggedAndGoesNowhere(action: String) async throws {
        let harness = try await MailHarness()
        _ = await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\nSubject: Deal\r\n\r\nx\r\n")
        let verp = try #require(try await harness.sink.waitForMessages(1).first?.sender)
        let report = "From: MAILER-DAEMON@mailbox.example\r\nAuto-Submitted: auto-replied\r\nSubject: Delivery delayed\r\n"
            + "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
            + "--b\r\nContent-Type: text/plain\r\n\r\nStill trying to reach owner@mailbox.example\r\n"
            + "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mailbox.example\r\n\r\n"
            + "Final-Recipient: rfc822; owner@mailbox.example\r\nAction: \(action)\r\nStatus: 4.4.7\r\n\r\n--b--\r\n"
        #expect(await harness.send(from: "", to: [verp], report).head == "250 2.0.0 E213")
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.sink.messages.count == 1)
        #expect(!harness.sink.messages.contains { $0.recipients == ["news@shop.example"] })
        let log = try #require(try harness.logs().first)
        #expect(!log.bounced && !log.autoReplied)
        await harness.stop()
    }
}

@Suite(.serialized) struct BounceTests {
    static func dsn(status: String) -> String {
        "From: MAILER-DAEMON@mailbox.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
            + "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mailbox.example\r\n\r\n"
            + "Final-Recipient: rfc822; owner@mailbox.example\r\nAction: failed\r\nStatus: \(status)\r\n\r\n--b--\r\n"
    }

    /// Forwards `count` messages and bounces each copy with `status`; returns the forwards' VERP senders.
    static func forwardAndBounce(_ harness: MailHarness, count: Int, status: String, already: Int = 0) async throws {
        for index in 0..<count {
            _ = await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\nSubject: \(index)\r\n\r\nx\r\n")
        }
        let forwards = try await harness.sink.waitForMessages(already + count).filter { header($0.data, "X-Veil-Type") == "Forward" }
        for copy in forwards.suffix(count) {
            #expect(await harness.send(from: "", to: [copy.sender], dsn(status: status)).head == "250 2.0.0 E211")
        }
    }

    func mailbox(_ harness: MailHarness) throws -> Mailbox {
        let mailboxId = try #require(harness.mailbox.id), userId = try #require(harness.user.id)
        return try #require(try harness.store.mailbox(id: mailboxId, userId: userId))
    }

    @Test func aMailboxThatKeepsBouncingStopsReceivingAndComesBack() async throws {
        let harness = try await MailHarness()
        let userId = try #require(harness.user.id)
        _ = try harness.store.createMailbox(userId: userId, email: "spare@other.example", verified: true)
        try await Self.forwardAndBounce(harness, count: 5, status: "5.2.2")
        #expect(try mailbox(harness).disabled && mailbox(harness).disabledAt != nil)
        // The owner is told at another mailbox (the account address is the one bouncing), with the way back.
        try await Task.sleep(for: .milliseconds(100))
        let notice = try #require(harness.sink.messages.first { header($0.data, "Subject") == "Your mailbox owner@mailbox.example is bouncing" })
        #expect(notice.recipients == ["spare@other.example"])
        let mailboxId = try #require(harness.mailbox.id)
        #expect(notice.data.contains("PUT /api/mailboxes/\(mailboxId) {\"enabled\": true}"))
        // Within the grace period the sender keeps the mail and retries: nothing is lost.
        let next = "From: news@shop.example\r\nSubject: later\r\n\r\nx\r\n"
        #expect(await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], next).head == "451 4.2.1 E518")
        // Re-enabled, it receives again, and the old bounces no longer count: one more does not disable it.
        _ = try harness.store.setMailboxEnabled(id: mailboxId, userId: userId, true)
        let before = harness.sink.messages.count
        #expect(await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], next).head == "250 2.0.0 E200")
        let latest = try #require(try await harness.sink.waitForMessages(before + 1).last)
        #expect(await harness.send(from: "", to: [latest.sender], Self.dsn(status: "5.2.2")).head == "250 2.0.0 E211")
        #expect(try !mailbox(harness).disabled)
        await harness.stop()
    }

    @Test func pastTheGracePeriodADisabledMailboxRefuses() async throws {
        let harness = try await MailHarness()
        let mailboxId = try #require(harness.mailbox.id), userId = try #require(harness.user.id)
        try harness.store.markMailboxBouncing(id: mailboxId, now: Date().addingTimeInterval(-6 * 86_400))
        #expect(await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\n\r\nx\r\n").head
                == "550 5.2.1 E518")
        // Its owner turned it off: refused at once.
        _ = try harness.store.setMailboxEnabled(id: mailboxId, userId: userId, false)
        #expect(await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\n\r\nx\r\n").head
                == "550 5.2.1 E518")
        await harness.stop()
    }

    /// A relay that gave up on a temporary problem (4.x.x) is not the mailbox's fault.
    @Test func temporaryFailuresNeverDisableAMailbox() async throws {
        let harness = try await MailHarness()
        try await Self.forwardAndBounce(harness, count: 6, status: "4.4.1")
        #expect(try !mailbox(harness).disabled)
        #expect(try harness.logs().filter(\.bounced).count == 6)
        await harness.stop()
    }

    @Test func verifyingAgainReenables() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-reverify-\(UUID().uuidString).sqlite").path
        let store = try Store(path: path)
        try store.migrate()
        let user = try store.createUser(email: "a@mailbox.example", name: nil, passwordHash: nil, activated: true, isPremium: false)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        try store.markMailboxBouncing(id: mailboxId)
        let confirmed = try #require(try store.confirmMailbox(id: mailboxId, userId: userId, address: "a@mailbox.example"))
        #expect(!confirmed.disabled && confirmed.disabledAt == nil && confirmed.bouncesCountedSince != nil)
    }
}

@Suite(.serialized) struct InboundAuthenticationTests {
    @Test func dmarcRejectIsQuarantinedAndFailureWithoutPolicyIsFlagged() async throws {
        let harness = try await MailHarness()
        let reject = "Authentication-Results: mx.veil.test; spf=fail smtp.mailfrom=bank.example; dmarc=fail (p=reject dis=none) header.from=bank.example\r\nFrom: bank@bank.example\r\nSubject: Verify\r\n\r\nx\r\n"
        #expect(await harness.send(from: "bank@bank.example", to: ["shop.fox123@veil.test"], reject).head == "250 2.0.0 E215")
        #expect(try harness.logs().first?.blocked == true)
        try await Task.sleep(for: .milliseconds(100))
        #expect(!harness.sink.messages.contains { header($0.data, "X-Veil-Type") == "Forward" })
        #expect(harness.sink.messages.contains { header($0.data, "Subject") == "shop.fox123@veil.test has a new mail in quarantine" })

        let none = "Authentication-Results: mx.veil.test; spf=pass smtp.mailfrom=small.example; dmarc=fail (p=none) header.from=small.example\r\nFrom: a@small.example\r\nSubject: Hello\r\n\r\nx\r\n"
        #expect(await harness.send(from: "a@small.example", to: ["shop.fox123@veil.test"], none).head == "250 2.0.0 E200")
        let forwarded = try await harness.sink.waitForMessages(2).first { header($0.data, "X-Veil-Type") == "Forward" }
        #expect(header(forwarded?.data ?? "", "Subject") == "[Possible phishing attempt] Hello")
        #expect(header(forwarded?.data ?? "", "Authentication-Results") == nil)
        await harness.stop()
    }

    @Test func aSpoofedMailboxCannotReply() async throws {
        let harness = try await MailHarness()
        _ = await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\n\r\nx\r\n")
        _ = try await harness.sink.waitForMessages(1)
        let aliasId = try #require(harness.alias.id)
        let contact = try #require(try harness.store.contact(aliasId: aliasId, websiteEmail: "news@shop.example"))
        let spoofed = "Authentication-Results: mx.veil.test; spf=fail smtp.mailfrom=mailbox.example; dkim=none\r\nFrom: owner@mailbox.example\r\nTo: \(contact.replyEmail)\r\n\r\nsend money\r\n"
        #expect(await harness.send(from: "owner@mailbox.example", to: [contact.replyEmail], spoofed).head == "250 2.0.0 E201")
        try await Task.sleep(for: .milliseconds(100))
        #expect(!harness.sink.messages.contains { $0.recipients == ["news@shop.example"] })
        let genuine = "Authentication-Results: mx.veil.test; spf=pass smtp.mailfrom=mailbox.example; dkim=pass header.d=mailbox.example\r\nFrom: owner@mailbox.example\r\nTo: \(contact.replyEmail)\r\n\r\nhi\r\n"
        #expect(await harness.send(from: "owner@mailbox.example", to: [contact.replyEmail], genuine).head == "250 2.0.0 E200")
        #expect(try await harness.sink.waitForMessages(3).contains { $0.recipients == ["news@shop.example"] })
        await harness.stop()
    }
}

@Suite(.serialized) struct AutomaticReplyTests {
    @Test func automaticRepliesToVERPAddressesReachTheOtherPartyOnceMarked() async throws {
        let harness = try await MailHarness()
        _ = await harness.send(from: "news@shop.example", to: ["shop.fox123@veil.test"], "From: news@shop.example\r\nSubject: Deal\r\n\r\nx\r\n")
        let forwardVERP = try #require(try await harness.sink.waitForMessages(1).first?.sender)
        // The user's mailbox answers automatically (null sender, to the VERP address).
        let outOfOffice = "From: owner@mailbox.example\r\nTo: \(forwardVERP)\r\nReply-To: owner@mailbox.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway\r\n"
        #expect(await harness.send(from: "", to: [forwardVERP], outOfOffice).head == "250 2.0.0 E200")
        let toContact = try #require(try await harness.sink.waitForMessages(2).last)
        #expect(toContact.recipients == ["news@shop.example"])
        #expect(header(toContact.data, "From") == "shop.fox123@veil.test")
        #expect(header(toContact.data, "Auto-Submitted") == "auto-replied")
        #expect(header(toContact.data, "Reply-To") == nil)
        #expect(!(toContact.data.components(separatedBy: "\r\n\r\n").first ?? "").contains("owner@mailbox.example"))
        // The contact answers automatically to the reply's VERP address: forwarded to the user.
        let replyVERP = toContact.sender
        let contactAway = "From: news@shop.example\r\nTo: \(replyVERP)\r\nAuto-Submitted: auto-replied\r\nSubject: Auto: Out of office\r\n\r\nAlso away\r\n"
        #expect(await harness.send(from: "", to: [replyVERP], contactAway).head == "250 2.0.0 E200")
        let toMailbox = try #require(try await harness.sink.waitForMessages(3).last)
        #expect(toMailbox.recipients == ["owner@mailbox.example"])
        #expect(header(toMailbox.data, "To") == "shop.fox123@veil.test")
        #expect(header(toMailbox.data, "Auto-Submitted") == "auto-replied")
        #expect(try harness.logs().contains { $0.autoReplied })
        // Straight to a reverse-alias with a null sender: dropped.
        let aliasId = try #require(harness.alias.id)
        let contact = try #require(try harness.store.contact(aliasId: aliasId, websiteEmail: "news@shop.example"))
        #expect(await harness.send(from: "", to: [contact.replyEmail], contactAway).head == "250 2.0.0 E206")
        await harness.stop()
    }
}

/// Speaks LMTP on a raw socket (SMTPClient only speaks ESMTP).
struct RawLMTPClient {
    let connection: SMTPTestConnection

    static func connect(port: Int) async throws -> RawLMTPClient {
        RawLMTPClient(connection: try await SMTPTestConnection.connect(port: port))
    }

    func exchange(_ commands: [String], then data: String, expectFinal: Int) async throws -> [String] {
        _ = try await connection.readReply()
        for command in commands {
            try await connection.write(command + "\r\n")
            _ = try await connection.readReply()
        }
        try await connection.write(data)
        var finals: [String] = []
        for _ in 0..<expectFinal { finals.append(try await connection.readReply()) }
        return finals
    }
}

/// A relay in front of a real one that refuses, for now, the copies to some recipients.
final class FlakyRelay: MailRelay, @unchecked Sendable {
    let inner: SMTPClient
    let refusing = NIOLockedValueBox<Set<String>>([])

    init(port: Int) { inner = SMTPClient(host: "127.0.0.1", port: port, timeout: .seconds(30)) }

    func send(from sender: String, to recipients: [String], message: [UInt8]) async throws(RelayFailure) -> String {
        if recipients.contains(where: { refusing.withLockedValue { $0 }.contains($0) }) {
            throw RelayFailure(isTransient: true, description: "451 4.3.0 try later")
        }
        return try await inner.send(from: sender, to: recipients, message: message) as String
    }
}

@Suite(.serialized) struct OutboundQueueTests {
    @Test func aCopyRefusedForNowIsQueuedAndDeliveredLater() async throws {
        let harness = try await MailHarness()
        let userId = try #require(harness.user.id)
        let second = try harness.store.createMailbox(userId: userId, email: "second@other.example", verified: true)
        let primaryId = try #require(harness.mailbox.id), secondId = try #require(second.id)
        let aliasId = try #require(harness.alias.id)
        _ = try harness.store.setAliasMailboxes(aliasId: aliasId, userId: userId, mailboxIds: [primaryId, secondId])
        let relay = FlakyRelay(port: harness.sink.port)
        relay.refusing.withLockedValue { $0 = ["second@other.example"] }
        let pipeline = try MailPipeline(store: harness.store, relay: relay,
                                        configuration: MailConfiguration(aliasDomains: ["veil.test"], emailDomain: "veil.test", rateLimits: false))
        let envelope = SMTPEnvelope(id: "T1", sender: "a@b.example", recipients: ["shop.fox123@veil.test"])
        let replies = await pipeline.deliver(envelope, message: Array("From: a@b.example\r\nSubject: q\r\n\r\nx\r\n".utf8))
        // One copy arrived, the other is held by Veil: 250 is honest.
        #expect(replies.map(\.code) == [250])
        #expect(try await harness.sink.waitForMessages(1).map(\.recipients) == [["owner@mailbox.example"]])
        #expect(try harness.store.outboundQueueLength == 1)
        #expect(try harness.logs().count == 2)

        let worker = OutboundQueueWorker(store: harness.store, relay: relay)
        #expect(try await worker.runOnce() == 0)  // still refused: rescheduled with backoff
        #expect(try harness.store.outboundQueueLength == 1)
        relay.refusing.withLockedValue { $0 = [] }
        #expect(try await worker.runOnce(now: Date().addingTimeInterval(120)) == 1)
        #expect(try harness.store.outboundQueueLength == 0)
        let delivered = try await harness.sink.waitForMessages(2)
        #expect(delivered.last?.recipients == ["second@other.example"])
        #expect(header(delivered.last?.data ?? "", "X-Veil-Type") == "Forward")
        await harness.stop()
    }

    @Test func nothingDeliveredMeans451AndNothingQueued() async throws {
        let harness = try await MailHarness()
        let relay = FlakyRelay(port: harness.sink.port)
        relay.refusing.withLockedValue { $0 = ["owner@mailbox.example"] }
        let pipeline = try MailPipeline(store: harness.store, relay: relay,
                                        configuration: MailConfiguration(aliasDomains: ["veil.test"], emailDomain: "veil.test", rateLimits: false))
        let envelope = SMTPEnvelope(id: "T2", sender: "a@b.example", recipients: ["shop.fox123@veil.test"])
        let replies = await pipeline.deliver(envelope, message: Array("From: a@b.example\r\n\r\nx\r\n".utf8))
        #expect(replies.first?.head == "451 4.4.0 E407")
        #expect(try harness.store.outboundQueueLength == 0)
        #expect(try harness.logs().isEmpty)
        await harness.stop()
    }
}

@Suite(.serialized) struct CatchAllTests {
    func customDomain(_ harness: MailHarness, catchAll: Bool, verified: Bool = true) throws -> CustomDomain {
        let userId = try #require(harness.user.id)
        var domain = CustomDomain(userId: userId, domain: "mine.example", ownershipToken: "t", createdAt: Date())
        domain.verified = verified
        domain.catchAll = catchAll
        return try harness.store.insertCustomDomain(domain)
    }

    @Test func catchAllCreatesTheAliasOnceAndNeverRecreatesADeletedOne() async throws {
        let harness = try await MailHarness()
        _ = try customDomain(harness, catchAll: true)
        let reply = await harness.send(from: "a@b.example", to: ["Anything@Mine.Example"], "From: a@b.example\r\nSubject: c\r\n\r\nx\r\n")
        #expect(reply.head == "250 2.0.0 E200")
        let alias = try #require(try harness.store.alias(email: "anything@mine.example"))
        #expect(alias.note == "Created by catchall option")
        #expect(alias.automaticCreation)
        #expect(alias.mailboxId == harness.mailbox.id)
        #expect(try await harness.sink.waitForMessages(1).first?.recipients == ["owner@mailbox.example"])
        // Plus-addressing is off: a tagged address is another catch-all alias, not this one.
        #expect(await harness.send(from: "a@b.example", to: ["anything+tag@mine.example"], "From: a@b.example\r\n\r\nx\r\n").head == "250 2.0.0 E200")
        #expect(try harness.store.alias(email: "anything+tag@mine.example") != nil)
        // Deleted: never created again.
        let aliasId = try #require(alias.id), userId = try #require(harness.user.id)
        #expect(try harness.store.deleteAliasPermanently(id: aliasId, userId: userId))
        #expect(await harness.send(from: "a@b.example", to: ["anything@mine.example"], "From: a@b.example\r\n\r\nx\r\n").head == "550 5.1.1 E515")
        await harness.stop()
    }

    @Test func withoutCatchAllOrVerificationUnknownAddressesAreRefused() async throws {
        let harness = try await MailHarness()
        _ = try customDomain(harness, catchAll: false)
        #expect(await harness.send(from: "a@b.example", to: ["who@mine.example"], "From: a@b.example\r\n\r\nx\r\n").head == "550 5.1.1 E515")
        #expect(try harness.store.alias(email: "who@mine.example") == nil)
        await harness.stop()
    }
}
