import Foundation
import Synchronization

/// Threads of their own for work that blocks on the database: SQLite has one writer, and waiting
/// for it (behind another process's transaction, a group-commit batch, a checkpoint) must not hold
/// an event loop or one of Swift concurrency's few threads. Not libdispatch: on Linux Swift's
/// global executor runs on dispatch's shared worker threads, so dispatch work that blocks starves
/// every task until dispatch notices and adds a thread (about a second), and the work items of a
/// queue move between those threads, taking a lowered priority along to unrelated work.
///
/// Usable as a `TaskExecutor` (a task that prefers it runs its synchronous code here) or through
/// `run`. The threads live as long as the process.
public final class BlockingThreads: TaskExecutor, Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wakeUp = DispatchSemaphore(value: 0)
    /// The `nice` value of the threads; 0 unless lowered.
    public let niceness: Int32

    /// `niceness` above 0 lowers the threads' priority (Linux sets it per thread): their work
    /// uses the CPU the rest of the process leaves. Linux keeps 15 bytes of a thread's name: with
    /// several threads, `name` and the index after it must fit.
    public init(name: String, count: Int, niceness: Int32 = 0) {
        self.niceness = niceness
        for index in 0..<max(1, count) {
            let threadName = count > 1 ? "\(name)-\(index)" : name
            let thread = Thread { [self] in
                Self.nameCurrentThread(threadName)
                if niceness != 0 { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
                while true {
                    wakeUp.wait()
                    let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                    job?()
                }
            }
            thread.start()
        }
    }

    /// What `ps -L` and `top -H` show. Foundation on Linux leaves a new thread with its creator's
    /// name (an event loop's, say) and its `name` setter did not always reach the kernel; the
    /// thread writes its own `comm` instead.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = write(fd, bytes, bytes.count)
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        wakeUp.signal()
    }

    /// Runs `body` on one of the threads and returns what it returns or throws.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result(catching: body)) }
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        submit { job.runSynchronously(on: executor) }
    }
}
