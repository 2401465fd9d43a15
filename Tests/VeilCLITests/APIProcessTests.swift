import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VeilTestSupport

/// `veil api` as a real process, with its tasks on the event loops (NIO's executor takeover).
@Suite struct APIProcessTests {
    struct Answer {
        var status: Int
        var body: String
    }

    /// Every request on a connection of its own, at once (URLSession's default lets six per host
    /// through and queues the rest behind them).
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    static func call(_ method: String, _ url: String, key: String, json: String? = nil) async throws -> Answer {
        var request = URLRequest(url: try #require(URL(string: url)), timeoutInterval: 30)
        request.httpMethod = method
        request.setValue(key, forHTTPHeaderField: "Authentication")
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        let (data, response) = try await session.data(for: request)
        return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self))
    }

    /// Another process (here: this one) holds SQLite's write lock, as the mail daemon does during a
    /// transaction. Writes sent to the API wait for it, more of them than there are event loops;
    /// a read sent after them is still answered while the lock is held.
    @Test func aReadIsAnsweredWhileWritesWaitForTheLock() async throws {
        let database = temporaryDatabasePath()
        let key = try #require(try VeilProcess.run(["user", "create", "--email", "owner@example.com", "--premium",
                                                    "--database", database]).stdoutLines.last)
        let port = try freePort()
        let process = try VeilProcess.start(["api", "--database", database, "--port", String(port), "--no-rate-limits"])
        defer { if process.isRunning { process.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        var created: Answer?
        for _ in 0..<100 where created == nil {
            created = try? await Self.call("POST", base + "/api/alias/random/new", key: key)
            if created == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let alias = try #require(created)
        #expect(alias.status == 201)
        let aliasId = try #require((try JSONSerialization.jsonObject(with: Data(alias.body.utf8)) as? [String: Any])?["id"] as? Int)

        let lock = try await WriteLockHolder(path: database)
        // More than there are event loops (one per core): each would hold its loop if it waited there.
        let writers = ProcessInfo.processInfo.activeProcessorCount + 2
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<writers {
                group.addTask {
                    try await Self.call("PATCH", base + "/api/aliases/\(aliasId)", key: key, json: #"{"note": "n\#(index)"}"#).status
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            let read = try await Self.call("GET", base + "/api/aliases/\(aliasId)", key: key)
            #expect(read.status == 200)
            #expect(!lock.wasReleased, "the read waited for the write lock")
            lock.release()
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            #expect(statuses == Array(repeating: 200, count: writers))
        }
        lock.waitUntilFinished()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
