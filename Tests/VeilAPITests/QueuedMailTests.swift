import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VeilMailHandler
import VeilSMTP
import VeilStore
import VeilTestSupport
@testable import VeilAPI
import VeilServices

/// The mail the API sends survives a relay that is down: it waits in the outbound queue.
@Suite struct QueuedMailTests {
    struct DurableMailer: Mailer {
        let relay: DurableRelay
        func send(from: String, to: [String], message: [UInt8]) async throws {
            try await relay.send(from: from, to: to, message: message)
        }
    }

    @Test func mailSentWhileTheRelayIsDownArrivesOnceItIsBack() async throws {
        let harness = try await Harness()
        let user = try harness.user(premium: true)
        // The relay's port, with nothing listening on it: Postfix stopped.
        let stopped = try await SMTPSink()
        let port = stopped.port
        await stopped.shutdown()
        let client = SMTPClient(host: "127.0.0.1", port: port, timeout: .seconds(2))
        let application = Application(router: VeilAPIServer.router(
            services: harness.services, auth: harness.auth,
            mailer: DurableMailer(relay: DurableRelay(relay: client, store: harness.store)), publicURL: "https://veil.test"))
        try await application.test(.router) { raw in
            let api = Client(client: raw)
            let created = try await api.post("/api/mailboxes", key: user.key, json: #"{"email": "mailbox@gmail.com"}"#)
            #expect(created.status == .created)
            let reset = try await api.post("/api/auth/forgot_password", json: #"{"email": "user@example.com"}"#)
            #expect(reset.status == .ok)
        }
        #expect(try harness.store.outboundQueueLength == 2)
        let worker = OutboundQueueWorker(store: harness.store, relay: client)
        // Still down: the worker keeps them for later.
        #expect(try await worker.runOnce() == 0)
        #expect(try harness.store.outboundQueueLength == 2)

        let relay = try await SMTPSink(port: port)
        #expect(try await worker.runOnce(now: Date().addingTimeInterval(3_600)) == 2)
        #expect(try await worker.runOnce(now: Date().addingTimeInterval(7_200)) == 0)
        let delivered = try await relay.waitForMessages(2)
        try await Task.sleep(for: .milliseconds(200))
        #expect(relay.messages.count == 2)
        #expect(delivered.filter { $0.recipients == ["mailbox@gmail.com"] }.count == 1)
        #expect(delivered.first { $0.recipients == ["mailbox@gmail.com"] }?.data.contains("/mailbox/verify?token=") == true)
        #expect(delivered.filter { $0.recipients == ["user@example.com"] }.count == 1)
        #expect(try harness.store.outboundQueueLength == 0)
        await relay.shutdown()
        await harness.sink.shutdown()
    }

    @Test func twoWorkersNeverSendOneCopyTwice() async throws {
        let harness = try await Harness()
        let sink = try await SMTPSink()
        for index in 0..<20 {
            try harness.store.enqueueOutbound(logId: nil, from: "noreply@veil.test", to: "r\(index)@example.com",
                                              data: Array("Subject: \(index)\r\n\r\nx\r\n".utf8))
        }
        let relay = SMTPClient(host: "127.0.0.1", port: sink.port, timeout: .seconds(30))
        let first = OutboundQueueWorker(store: harness.store, relay: relay), second = OutboundQueueWorker(store: harness.store, relay: relay)
        async let a = first.runOnce()
        async let b = second.runOnce()
        #expect(try await a + b == 20)
        _ = try await sink.waitForMessages(20)
        try await Task.sleep(for: .milliseconds(200))
        #expect(sink.messages.count == 20)
        #expect(Set(sink.messages.flatMap(\.recipients)).count == 20)
        await sink.shutdown()
        await harness.sink.shutdown()
    }
}
