import HTTPTypes
import Hummingbird
import VeilStore

extension RouterMethods {
    /// Registers a handler that writes to the database (other than through the group commit,
    /// which never blocks its caller). `veil api` runs its tasks on the event loops, and SQLite has
    /// one writer: a handler waiting for it — behind the mail daemon's transaction, a batch or a
    /// checkpoint, up to the busy timeout — would hold its loop and every connection on it. These
    /// handlers run on `writeThreads` instead, and the loops go on serving.
    @discardableResult
    public func writing(_ method: HTTPRequest.Method, _ path: RouterPath,
                 use handler: @escaping @Sendable (Request, Context) async throws -> Response) -> Self {
        on(path, method: method) { request, context in
            try await withTaskExecutorPreference(writeThreads) { try await handler(request, context) }
        }
    }
}

/// More than one: a handler also reads, renders and awaits mail or DNS while another waits for
/// the writer.
public let writeThreads = BlockingThreads(name: "veil-writes", count: 4)

/// Runs a blocking database write on `writeThreads`. `veil api` runs its tasks on the event
/// loops; a loop waiting there for SQLite's single writer would stall every connection it serves,
/// which gave alias creation a one-second p99 under load.
public func offloaded<T: Sendable>(_ write: @escaping @Sendable () throws -> T) async throws -> T {
    try await writeThreads.run(write)
}
