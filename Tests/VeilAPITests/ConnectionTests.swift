import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import VeilSMTP
import VeilTestSupport
@testable import VeilAPI

@Suite struct ConnectionLimitTests {
    /// A client that connects and then says nothing is disconnected after the idle timeout.
    @Test func idleConnectionsAreClosed() async throws {
        let harness = try await Harness()
        let app = VeilAPIServer.application(
            services: harness.services, auth: harness.auth,
            mailer: Harness.SinkMailer(client: SMTPClient(host: "127.0.0.1", port: harness.sink.port, timeout: .seconds(30))),
            publicURL: "https://veil.test", host: "127.0.0.1", port: 0, logger: Logger(label: "test"),
            idleTimeout: .milliseconds(300))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let started = ContinuousClock.now
            let silent = try await Task.detached { try RawSocket.exchange(port: port, send: nil, within: 5) }.value
            #expect(silent == .closed(answer: ""))
            #expect(ContinuousClock.now - started >= .milliseconds(250))
            // A kept-alive connection is answered, then closed once idle.
            let request = "GET /health HTTP/1.1\r\nHost: veil.test\r\n\r\n"
            let served = try await Task.detached { try RawSocket.exchange(port: port, send: request, within: 5) }.value
            guard case .closed(let answer) = served else { Issue.record("still open: \(served)"); return }
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.hasSuffix(#"{"status": "ok"}"#))
        }
        await harness.sink.shutdown()
    }
}

/// A blocking TCP client: connects, sends `send` (if any), and reads until the server closes the
/// connection or `seconds` pass.
enum RawSocket {
    enum Outcome: Equatable {
        case closed(answer: String)
        case stillOpen(answer: String)
    }

    static func exchange(port: Int, send: String?, within seconds: Int) throws -> Outcome {
        guard let fd = LoopbackSocket.connect(port: port, readTimeout: seconds) else { throw POSIXError(.ECONNREFUSED) }
        defer { close(fd) }
        if let send {
            let bytes = Array(send.utf8)
            guard write(fd, bytes, bytes.count) == bytes.count else { throw POSIXError(.EIO) }
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count == 0 { return .closed(answer: String(decoding: answer, as: UTF8.self)) }
            if count < 0 { return .stillOpen(answer: String(decoding: answer, as: UTF8.self)) }
            answer.append(contentsOf: chunk[..<count])
        }
    }
}
