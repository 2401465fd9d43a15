import Foundation
import NIOCore
import Testing
import VeilTestSupport
@testable import VeilSMTP

/// The client against a real listener on a loopback socket.
@Suite struct SMTPClientSocketTests {
    @Test func deliversToARealListener() async throws {
        let sink = try await SMTPSink()
        let client = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(5))
        let message = Array("Subject: hi\r\n\r\n.leading dot\r\nbody\r\n".utf8)
        let reply = try await client.send(from: "a@veil.test", to: ["b@example.com", "c@example.com"], message: message)
        #expect(reply.code == 250)
        let received = try await sink.waitForMessages(1)
        #expect(received.first?.sender == "a@veil.test")
        #expect(received.first?.recipients == ["b@example.com", "c@example.com"])
        #expect(received.first?.data == "Subject: hi\r\n\r\n.leading dot\r\nbody")
        await sink.shutdown()
    }

    @Test func transientRefusalIsReportedAsSuch() async throws {
        let sink = try await SMTPSink()
        sink.refuse(true)
        let client = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(5))
        do {
            try await client.send(from: "a@veil.test", to: ["b@example.com"], message: Array("x\r\n".utf8))
            Issue.record("expected a refusal")
        } catch let failure as SMTPClient.Failure {
            #expect(failure.isTransient)
        }
        #expect(sink.messages.isEmpty)
        await sink.shutdown()
    }

    @Test func relayDownIsAnError() async throws {
        let client = SMTPClient(host: "127.0.0.1", port: 1, timeout: .seconds(2))
        await #expect(throws: (any Error).self) {
            try await client.send(from: "a@veil.test", to: ["b@example.com"], message: Array("x\r\n".utf8))
        }
    }
}
