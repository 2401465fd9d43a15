import Dispatch
import Foundation
import GRDB
import HTTPTypes
import Synchronization
import Testing
import VeilCore
import VeilStore
@testable import VeilAPI

@Suite struct WriteHandlerTests {
    /// While another connection holds SQLite's write lock (the mail daemon in the middle of a
    /// transaction), requests that write wait for it — but off the threads that serve everything
    /// else: a read sent after more waiting writes than the machine has cores still answers.
    @Test func writesWaitingForTheLockLeaveReadsServed() async throws {
        let harness = try await Harness()
        let user = try harness.user()
        let aliasId = try #require(try harness.alias(user, "waiting@veil.test").id)
        // Another connection takes the write lock and keeps it, on a thread of its own, until
        // `release` (GRDB does not let a transaction outlive one database access).
        let lock = try DatabaseQueue(path: harness.store.path)
        let letGo = DispatchSemaphore(value: 0)
        let released = Mutex(false)
        let release: @Sendable () -> Void = {
            if released.withLock({ wasReleased in defer { wasReleased = true }; return !wasReleased }) { letGo.signal() }
        }
        let holding = DispatchGroup()
        holding.enter()
        await withCheckedContinuation { (locked: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                try? lock.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    locked.resume()
                    letGo.wait()
                    try db.execute(sql: "ROLLBACK")
                }
                holding.leave()
            }
        }
        // A thread outside Swift concurrency lets go after 5 s whatever happens, so that a run
        // whose concurrency threads are all stuck still ends (and fails below).
        DispatchQueue.global().asyncAfter(deadline: .now() + 5, execute: release)
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
                #expect(!released.withLock { $0 }, "the read waited for the write lock")
                release()
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
