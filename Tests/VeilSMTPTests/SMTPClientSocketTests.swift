import Foundation
import NIOCore
import Testing
import VeilTestSupport
@testable import VeilSMTP

/// The client against a real listener on a loopback socket.
@Suite struct SMTPClientSocketTests {
    @Test func deliversToARealListener() async throws {
        let sink = try await SMTPSink()
        let client = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30))
        let message = Array("Subject: hi\r\n\r\n.leading dot\r\nbody\r\n".utf8)
        let reply = try await client.send(from: "a@veil.test", to: ["b@example.com", "c@example.com"], message: message)
        #expect(reply.code == 250)
        let received = try await sink.waitForMessages(1)
        #expect(received.first?.sender == "a@veil.test")
        #expect(received.first?.recipients == ["b@example.com", "c@example.com"])
        #expect(received.first?.data == "Subject: hi\r\n\r\n.leading dot\r\nbody")
        await sink.shutdown()
    }

    @Test func reusesConnectionsWithPipelining() async throws {
        let sink = try await SMTPSink()
        let client = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30))
        for index in 0..<5 {
            try await client.send(from: "a@veil.test", to: ["b\(index)@example.com"], message: Array("Subject: \(index)\r\n\r\nx\r\n".utf8))
        }
        let received = try await sink.waitForMessages(5)
        #expect(received.map(\.recipients) == (0..<5).map { ["b\($0)@example.com"] })
        #expect(client.connectionsOpened == 1)
        // Concurrent sends open more connections, never mix two transactions on one.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await client.send(from: "a@veil.test", to: ["c\(index)@example.com"], message: Array("x\r\n".utf8))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await sink.waitForMessages(13).count == 13)
        #expect(client.connectionsOpened <= 9)
        client.shutdown()
        await sink.shutdown()
    }

    @Test func aConnectionTheRelayClosedIsReplacedTransparently() async throws {
        let sink = try await SMTPSink()
        let client = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30))
        try await client.send(from: "a@veil.test", to: ["b@example.com"], message: Array("x\r\n".utf8))
        await sink.dropConnections()
        try await Task.sleep(for: .milliseconds(50))
        try await client.send(from: "a@veil.test", to: ["c@example.com"], message: Array("x\r\n".utf8))
        #expect(try await sink.waitForMessages(2).count == 2)
        #expect(client.connectionsOpened == 2)
        await sink.shutdown()
    }

    @Test func transientRefusalIsReportedAsSuch() async throws {
        let sink = try await SMTPSink()
        sink.refuse(true)
        let client = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30))
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
