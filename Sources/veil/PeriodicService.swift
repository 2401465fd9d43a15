import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import VeilAPI
import VeilMailHandler
import VeilStore

/// Runs `work` every `interval` until shutdown — a failure is logged and the next round comes —
/// then `atShutdown` once. It never returns early: a service that returns stops the whole group.
struct PeriodicService: Service {
    let interval: Duration
    let logger: Logger
    /// What the log line says when a round fails, and at which level.
    let failure: Logger.Message
    var failureLevel: Logger.Level = .error
    let work: @Sendable () async throws -> Void
    var atShutdown: @Sendable () -> Void = {}

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await work()
            } catch {
                logger.log(level: failureLevel, failure, metadata: ["error": "\(error)"])
            }
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        atShutdown()
    }
}

extension PeriodicService {
    /// Copies the WAL into the database file four times a second, off the write path (see
    /// `Store.init(checkpointsInBackground:)`), and once more at shutdown. On a low-priority thread
    /// of its own: the fsync must not hold an event loop or a concurrency thread, and the copying
    /// should use the CPU the requests leave (two A/Bs under continuous alias creation, four
    /// runs each: average p99 9.3 → 8.8 and 9.3 → 8.9 ms). A failure is mostly "busy":
    /// another process is checkpointing at that very moment. Once the WAL has grown past
    /// `Store.walRestartFrames`, the writer catches up between two batches so the WAL starts over
    /// (`Store.finishCheckpoint`); doing that every round held the writer 3–7 ms four times a
    /// second under load, which showed in the API's p99.
    static func checkpoints(_ store: Store, logger: Logger) -> PeriodicService {
        let worker = BlockingThreads(name: "veil-checkpoint", count: 1, niceness: 10)
        return PeriodicService(interval: .milliseconds(250), logger: logger, failure: "checkpoint skipped", failureLevel: .debug,
                        work: {
                            let (frames, _) = try await worker.run { try store.checkpoint() }
                            if frames >= Store.walRestartFrames { try await store.finishCheckpoint() }
                        },
                        atShutdown: { _ = try? store.checkpoint() })
    }

    /// Writes the API keys' gathered `last_used`/`times` every second on NIO's thread pool (a loop
    /// waiting for SQLite's writer would stall its connections), and once more at shutdown.
    static func keyUsage(_ store: Store, logger: Logger) -> PeriodicService {
        PeriodicService(interval: .seconds(1), logger: logger, failure: "API key use not recorded yet", failureLevel: .warning,
                        work: { try await NIOThreadPool.singleton.runIfActive { try store.flushKeyUsage() } },
                        atShutdown: { try? store.flushKeyUsage() })
    }

    /// Makes due `otp_received` calls every 5 seconds.
    static func webhooks(_ deliverer: WebhookDeliverer, logger: Logger) -> PeriodicService {
        PeriodicService(interval: .seconds(5), logger: logger, failure: "webhook run failed", work: { try await deliverer.runOnce() })
    }

    /// Deletes for good, every hour, the aliases in the trash for 30 days (their addresses stay
    /// on the deleted list). On NIO's thread pool: it waits for SQLite's writer.
    static func trashPurge(_ store: Store, logger: Logger, retention: TimeInterval = 30 * 86_400) -> PeriodicService {
        PeriodicService(interval: .seconds(3_600), logger: logger, failure: "trash purge failed", work: {
            let purged = try await NIOThreadPool.singleton.runIfActive {
                try store.purgeTrashedAliases(trashedBefore: Date().addingTimeInterval(-retention))
            }
            if purged > 0 { logger.info("trash purged", metadata: ["aliases": "\(purged)"]) }
        })
    }

    /// Retries queued copies every 30 seconds.
    static func outboundQueue(_ worker: OutboundQueueWorker, logger: Logger) -> PeriodicService {
        PeriodicService(interval: .seconds(30), logger: logger, failure: "outbound queue run failed",
                        work: { try await worker.runOnce() })
    }
}
