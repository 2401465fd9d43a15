import Testing
@testable import VeilMail

/// Report shapes written after what Postfix, Gmail and Exchange send (own fixtures).
enum DSNFixtures {
    static let postfix = """
        Return-Path: <>\r
        From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r
        Subject: Undelivered Mail Returned to Sender\r
        Auto-Submitted: auto-replied\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report; report-type=delivery-status;\r
        \tboundary="4B7C1E2A.1700000000/mx.example.net"\r
        \r
        This is a MIME-encapsulated message.\r
        \r
        --4B7C1E2A.1700000000/mx.example.net\r
        Content-Description: Notification\r
        Content-Type: text/plain; charset=us-ascii\r
        \r
        I'm sorry to have to inform you that your message could not\r
        be delivered to one or more recipients.\r
        \r
        <owner@mailbox.example>: host mx.mailbox.example[192.0.2.5] said: 550 5.1.1\r
            <owner@mailbox.example>: Recipient address rejected: User unknown\r
        \r
        --4B7C1E2A.1700000000/mx.example.net\r
        Content-Description: Delivery report\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.net\r
        X-Postfix-Queue-ID: 4B7C1E2A\r
        Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\r
        \r
        Final-Recipient: rfc822; owner@mailbox.example\r
        Original-Recipient: rfc822;owner@mailbox.example\r
        Action: failed\r
        Status: 5.1.1\r
        Remote-MTA: dns; mx.mailbox.example\r
        Diagnostic-Code: smtp; 550 5.1.1 <owner@mailbox.example>: Recipient address\r
            rejected: User unknown\r
        \r
        --4B7C1E2A.1700000000/mx.example.net\r
        Content-Description: Undelivered Message Headers\r
        Content-Type: text/rfc822-headers\r
        \r
        From: "News" <rev@veil.test>\r
        Subject: hello\r
        \r
        --4B7C1E2A.1700000000/mx.example.net--\r

        """

    static let gmail = """
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r
        Subject: Delivery Status Notification (Failure)\r
        X-Failed-Recipients: someone@gmail.com\r
        Content-Type: multipart/report; boundary="000000000000abc123"; report-type=delivery-status\r
        \r
        --000000000000abc123\r
        Content-Type: multipart/related; boundary="000000000000def456"\r
        \r
        --000000000000def456\r
        Content-Type: text/html; charset="UTF-8"\r
        \r
        <html><body>Address not found</body></html>\r
        --000000000000def456--\r
        --000000000000abc123\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; googlemail.com\r
        Received-From-MTA: dns; mail.veil.test\r
        Arrival-Date: Tue, 14 Nov 2023 14:13:20 -0800 (PST)\r
        X-Original-Message-ID: <1@veil.test>\r
        \r
        Final-Recipient: rfc822; someone@gmail.com\r
        Action: failed\r
        Status: 5.1.1\r
        Diagnostic-Code: smtp; The email account that you tried to reach does not exist. Please try\r
         double-checking the recipient's email address for typos or unnecessary spaces.\r
         https://support.google.com/mail/?p=NoSuchUser a1-20020a05\r
        Last-Attempt-Date: Tue, 14 Nov 2023 14:13:21 -0800 (PST)\r
        \r
        --000000000000abc123--\r

        """

    static let exchange = """
        From: postmaster@contoso.example\r
        Subject: Undeliverable: hello\r
        Content-Type: multipart/report; report-type=delivery-status;\r
         boundary="b_1f2e3d"\r
        \r
        --b_1f2e3d\r
        Content-Type: text/plain; charset="us-ascii"\r
        \r
        Delivery has failed to these recipients or groups:\r
        \r
        --b_1f2e3d\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r
        Received-From-MTA: dns;mail.veil.test\r
        \r
        Final-Recipient: rfc822;gone@contoso.example\r
        Action: failed\r
        Status: 5.1.10\r
        Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r
        \r
        --b_1f2e3d--\r

        """

    static let delayed = """
        From: MAILER-DAEMON@mx.example.net\r
        Subject: Delayed Mail (still being retried)\r
        Content-Type: multipart/report; report-type=delivery-status; boundary="d1"\r
        \r
        --d1\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.net\r
        \r
        Final-Recipient: rfc822; owner@mailbox.example\r
        Action: delayed\r
        Status: 4.4.1\r
        Diagnostic-Code: X-Postfix; connect to mx.mailbox.example: Connection timed out\r
        \r
        --d1--\r

        """

    static let plain = """
        From: MAILER-DAEMON@old.example\r
        Subject: failure notice\r
        \r
        Hi. This is the qmail-send program at old.example.\r
        <user@old.example>:\r
        Remote host said: 552 5.2.2 Mailbox full\r

        """
}

@Suite struct DeliveryReportTests {
    func report(_ text: String) throws -> DeliveryReport {
        DeliveryReport.parse(try Message(parsing: Array(text.utf8)))
    }

    @Test func postfix() throws {
        let report = try report(DSNFixtures.postfix)
        #expect(report.isMultipartReport && report.isFailure)
        #expect(report.reportingMTA == "mx.example.net")
        #expect(report.recipients == [DeliveryReport.Recipient(
            finalRecipient: "owner@mailbox.example", action: "failed", status: "5.1.1",
            diagnosticCode: "smtp; 550 5.1.1 <owner@mailbox.example>: Recipient address rejected: User unknown")])
        #expect(report.reason == "smtp; 550 5.1.1 <owner@mailbox.example>: Recipient address rejected: User unknown")
    }

    @Test func gmailFoldedDiagnostic() throws {
        let report = try report(DSNFixtures.gmail)
        #expect(report.recipients.first?.finalRecipient == "someone@gmail.com")
        #expect(report.recipients.first?.status == "5.1.1")
        #expect(report.reason?.hasPrefix("smtp; The email account that you tried to reach does not exist. Please try double-checking") == true)
        #expect(report.isFailure)
    }

    @Test func exchange() throws {
        let report = try report(DSNFixtures.exchange)
        #expect(report.recipients.first?.status == "5.1.10")
        #expect(report.reason == "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup")
    }

    @Test func delayedIsNotAFailure() throws {
        let report = try report(DSNFixtures.delayed)
        #expect(report.recipients.first?.action == "delayed")
        #expect(!report.isFailure)
    }

    @Test func plainTextBounceGivesTheSMTPLine() throws {
        let report = try report(DSNFixtures.plain)
        #expect(!report.isMultipartReport)
        #expect(report.isFailure)
        #expect(report.reason == "Remote host said: 552 5.2.2 Mailbox full")
    }

    @Test func onlyFailuresWithoutA4xxStatusArePermanent() throws {
        #expect(try report(DSNFixtures.postfix).isPermanentFailure)
        #expect(try report(DSNFixtures.plain).isPermanentFailure)
        #expect(try !report(DSNFixtures.delayed).isPermanentFailure)
        // A relay that gave up after its queue lifetime: failed, but for a temporary reason.
        let expired = "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
            + "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.veil.test\r\n\r\n"
            + "Final-Recipient: rfc822; owner@mailbox.example\r\nAction: failed\r\nStatus: 4.4.1\r\n"
            + "Diagnostic-Code: X-Postfix; connect to mx.mailbox.example: Connection timed out\r\n\r\n--b--\r\n"
        let report = try report(expired)
        #expect(report.isFailure && !report.isPermanentFailure)
        #expect(try !self.report("Subject: Undelivered\r\n\r\nRemote host said: 452 4.2.2 Mailbox full, try later\r\n").isPermanentFailure)
    }

    @Test func garbageNeverCrashes() throws {
        for text in ["Content-Type: multipart/report; boundary=\r\n\r\n--\r\n--\r\n", "Content-Type: multipart/report\r\n\r\nx\r\n",
                     "Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nno header end"] {
            let report = try report(text)
            #expect(report.isMultipartReport)
        }
    }
}
