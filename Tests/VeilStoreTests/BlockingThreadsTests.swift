import Foundation
import Testing
@testable import VeilStore

@Suite struct BlockingThreadsTests {
    struct Refused: Error {}

    static func niceness() -> Int32 { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }

    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    /// A nonisolated async function runs on the task's preferred executor, if it has one.
    static func threadNameInAsyncCall() async -> String { threadName() }

    @Test func oneLowPriorityThreadRunsJobsAndPassesResultsAndErrors() async throws {
        let worker = BlockingThreads(name: "test-worker", count: 1, niceness: 10)
        let here = Self.niceness()
        let seen = try await worker.run { (Self.niceness(), UInt(pthread_self())) }
        #expect(seen.0 == 10)
        #expect(try await worker.run { UInt(pthread_self()) } == seen.1)  // always the same thread
        #expect(Self.niceness() == here)  // the caller's own priority is untouched
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

    /// A task that prefers the threads runs its synchronous code there, and a job that blocks one
    /// thread leaves the others serving.
    @Test func asTaskExecutorRunsTasksOnItsThreadsAndOneBlockedThreadLeavesTheOthers() async throws {
        let threads = BlockingThreads(name: "test-executor", count: 2)  // threads test-executor-0 and -1
        let name = await withTaskExecutorPreference(threads) { await Self.threadNameInAsyncCall() }
        #expect(name.hasPrefix("test-executor-"))
        #expect(!(await Self.threadNameInAsyncCall()).hasPrefix("test-executor"))

        let letGo = DispatchSemaphore(value: 0)
        let (started, start) = AsyncStream.makeStream(of: Void.self)
        let blocked = Task { try await threads.run { start.yield(); letGo.wait(); return Self.threadName() } }
        for await _ in started { break }
        let other = try await threads.run { Self.threadName() }  // answered while the other thread waits
        letGo.signal()
        #expect(Set([try await blocked.value, other]) == ["test-executor-0", "test-executor-1"])
    }
}
