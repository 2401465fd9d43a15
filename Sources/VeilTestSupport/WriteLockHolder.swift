import Dispatch
import GRDB
import Synchronization

/// A connection of its own that takes SQLite's write lock (`BEGIN IMMEDIATE`) and keeps it, as
/// the mail daemon does in the middle of a transaction, until `release()` — or until
/// `releaseAfter` passes, from a thread outside Swift concurrency, so that a test whose
/// concurrency threads are all stuck still ends. GRDB does not let a transaction outlive one
/// database access, so the transaction waits on a thread of its own.
public final class WriteLockHolder: Sendable {
    private let letGo = DispatchSemaphore(value: 0)
    private let released = Mutex(false)
    private let finished = DispatchGroup()

    /// Returns once the lock is held.
    public init(path: String, releaseAfter seconds: Double = 5) async throws {
        let connection = try DatabaseQueue(path: path)
        finished.enter()
        await withCheckedContinuation { (locked: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [letGo, finished] in
                do {
                    try connection.writeWithoutTransaction { db in
                        try db.execute(sql: "BEGIN IMMEDIATE")
                        locked.resume()
                        letGo.wait()
                        try db.execute(sql: "ROLLBACK")
                    }
                } catch {
                    locked.resume()  // could not lock: the test's expectations will say so
                }
                finished.leave()
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in release() }
    }

    /// Whether the lock was let go (by `release()` or by the timer).
    public var wasReleased: Bool { released.withLock { $0 } }

    /// Lets go of the lock; only the first call does anything.
    public func release() {
        if released.withLock({ wasReleased in defer { wasReleased = true }; return !wasReleased }) { letGo.signal() }
    }

    /// Blocks until the transaction has ended.
    public func waitUntilFinished() { finished.wait() }
}
