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
///
/// Work that must not overlap a batch (the writer's WAL catch-up checkpoint) runs between two
/// batches, outside any transaction, before the next batch starts.
final class GroupCommit: Sendable {
    private struct Item: Sendable {
        /// Runs the write in the shared transaction; returns how to answer its caller after commit.
        let run: @Sendable (Database) -> @Sendable () -> Void
        /// The transaction failed: nothing of this write was kept.
        let fail: @Sendable (any Error) -> Void
    }

    private let pool: DatabasePool
    private let queue = DispatchQueue(label: "veil.group-commit")
    private let state = Mutex<(waiting: [Item], betweenBatches: [Item], draining: Bool)>(([], [], false))
    /// Keeps one transaction short enough that a burst does not hold the writer for long.
    static let maxBatch = 64

    init(pool: DatabasePool) {
        self.pool = pool
    }

    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await submit(work, betweenBatches: false)
    }

    /// Runs `work` on the writer connection outside any transaction, between two batches.
    func betweenBatches<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await submit(work, betweenBatches: true)
    }

    private func submit<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T, betweenBatches: Bool) async throws -> T {
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
                if betweenBatches { state.betweenBatches.append(item) } else { state.waiting.append(item) }
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDraining { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let (between, batch) = state.withLock { state -> ([Item], [Item]) in
                guard state.betweenBatches.isEmpty && state.waiting.isEmpty else {
                    let between = state.betweenBatches
                    state.betweenBatches = []
                    let count = min(state.waiting.count, Self.maxBatch)
                    defer { state.waiting.removeFirst(count) }
                    return (between, Array(state.waiting.prefix(count)))
                }
                state.draining = false
                return ([], [])
            }
            guard !between.isEmpty || !batch.isEmpty else { return }
            for item in between {
                // `run` catches the work's error and hands it to the caller.
                let answer = pool.writeWithoutTransaction { db in item.run(db) }
                answer()
            }
            guard !batch.isEmpty else { continue }
            do {
                let answers = try pool.write { db in batch.map { $0.run(db) } }
                for answer in answers { answer() }
            } catch {
                for item in batch { item.fail(error) }
            }
        }
    }
}
