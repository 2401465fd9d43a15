import Foundation
import Synchronization

/// One thread of its own, at a lower scheduling priority (nice 10), for background maintenance
/// that nobody waits for: the WAL checkpoints. Under load they took 15–20 ms of CPU four times a
/// second at the event loops' priority; here they use what the loops leave. Not a
/// `DispatchQueue`: its work items move between libdispatch's shared threads, which would take
/// the lowered priority along to unrelated work.
final class LowPriorityWorker: Sendable {
    static let niceness: Int32 = 10

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wakeUp = DispatchSemaphore(value: 0)

    /// The thread lives as long as the process, and with it the worker.
    init(name: String) {
        let thread = Thread { [self] in
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)  // this thread only, on Linux
            while true {
                wakeUp.wait()
                let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                job?()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the worker's thread and returns what it returns or throws.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(with: Result(catching: body)) } }
            wakeUp.signal()
        }
    }
}
