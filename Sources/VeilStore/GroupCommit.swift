import Dispatch
import GRDB
import Synchronization

/// Group commit: writes submitted at the same moment share one transaction (one BEGIN/COMMIT,
/// one WAL append), run one batch after the other on a queue of their own, and each caller gets
/// its own result once the batch is committed.
///
/// A write must leave nothing behind when it throws: throw before writing, or write with
/// statements that fail whole (a UNIQUE violation rolls back only its statement). If the
/// transaction itself fails, every write of the batch gets that error.
final class GroupCommit: Sendable {
    private struct Item: Sendable {
        /// Runs the write in the shared transaction; returns how to answer its caller after commit.
        let run: @Sendable (Database) -> @Sendable () -> Void
        /// The transaction failed: nothing of this write was kept.
        let fail: @Sendable (any Error) -> Void
    }

    private let pool: DatabasePool
    private let queue = DispatchQueue(label: "veil.group-commit")
    private let state = Mutex<(waiting: [Item], draining: Bool)>(([], false))
    /// Keeps one transaction short enough that a burst does not hold the writer for long.
    static let maxBatch = 64

    init(pool: DatabasePool) {
        self.pool = pool
    }

    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let item = Item(run: { db in
                do {
                    let value = try work(db)
                    return { continuation.resume(returning: value) }
                } catch {
                    return { continuation.resume(throwing: error) }
                }
            }, fail: { continuation.resume(throwing: $0) })
            let startDraining = state.withLock { state -> Bool in
                state.waiting.append(item)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDraining { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Item] in
                guard !state.waiting.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(state.waiting.count, Self.maxBatch)
                defer { state.waiting.removeFirst(count) }
                return Array(state.waiting.prefix(count))
            }
            guard !batch.isEmpty else { return }
            do {
                let answers = try pool.write { db in batch.map { $0.run(db) } }
                for answer in answers { answer() }
            } catch {
                for item in batch { item.fail(error) }
            }
        }
    }
}
