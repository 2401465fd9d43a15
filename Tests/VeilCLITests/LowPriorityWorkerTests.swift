import Foundation
import Testing
@testable import veil

@Suite struct LowPriorityWorkerTests {
    struct Refused: Error {}

    @Test func runsJobsOnOneLowPriorityThreadAndPassesResultsAndErrors() async throws {
        let worker = LowPriorityWorker(name: "test-worker")
        let here = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let seen = try await worker.run { (getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), UInt(pthread_self())) }
        #expect(seen.0 == LowPriorityWorker.niceness)
        #expect(try await worker.run { UInt(pthread_self()) } == seen.1)  // always the same thread
        // The caller's own priority is untouched.
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == here)
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<50 { group.addTask { try await worker.run { index * 2 } } }
            var all: [Int] = []
            for try await value in group { all.append(value) }
            return all.sorted()
        }
        #expect(results == (0..<50).map { $0 * 2 })
        await #expect(throws: Refused.self) { try await worker.run { () throws -> Int in throw Refused() } }
        #expect(try await worker.run { 7 } == 7)  // still serving after an error
    }
}
