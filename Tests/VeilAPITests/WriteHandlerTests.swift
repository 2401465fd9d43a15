import Foundation
import HTTPTypes
import Testing
import VeilCore
import VeilStore
import VeilTestSupport
@testable import VeilAPI

@Suite struct WriteHandlerTests {
    /// While another connection holds SQLite's write lock (the mail daemon in the middle of a
    /// transaction), requests that write wait for it — but off the threads that serve everything
    /// else: a read sent after more waiting writes than the machine has cores still answers.
    @Test func writesWaitingForTheLockLeaveReadsServed() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let aliasId = try #require(try harness.alias(user, "waiting@veil.test").id)
        // The safety timer is long: on two busy cores the whole suite's start can take seconds,
        // and a timer that fired first would make a read that never waited look like one that did.
        let lock = try await WriteLockHolder(path: harness.store.path, releaseAfter: 60)
        let writers = ProcessInfo.processInfo.activeProcessorCount + 2
        try await harness.test { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<writers {
                    group.addTask { Int(try await client.post("/api/aliases/\(aliasId)/toggle", key: user.key).status.code) }
                }
                try await Task.sleep(for: .milliseconds(300))
                let read = try await client.get("/api/aliases/\(aliasId)", key: user.key)
                #expect(read.status == .ok)
                #expect(read["email"]?.string == "waiting@veil.test")
                #expect(!lock.wasReleased, "the read waited for the write lock")
                lock.release()
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                #expect(statuses == Array(repeating: 200, count: writers))
            }
            // Each toggle was applied once, after the lock was let go.
            let final = try await client.get("/api/aliases/\(aliasId)", key: user.key)
            #expect(final["enabled"]?.bool == writers.isMultiple(of: 2))
        }
    }
}
