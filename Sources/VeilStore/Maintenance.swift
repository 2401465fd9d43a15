import Foundation
import GRDB

/// Backups, restores and retention: the operator's side of the database.
extension Store {
    /// Copies the live database to `destination` with SQLite's online backup API: a consistent
    /// snapshot while both daemons keep writing. The copy is written beside the destination and
    /// renamed into place, so a failed backup never leaves a half file under the final name.
    /// Returns the size of the copy in bytes.
    @discardableResult
    public func backup(to destination: String) throws -> Int64 {
        let target = URL(fileURLWithPath: destination)
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        try? FileManager.default.removeItem(at: temporary)
        do {
            let copy = try DatabaseQueue(path: temporary.path)
            try pool.backup(to: copy, pagesPerStep: 1_024)
            // A single-file copy: no -wal or -shm beside it.
            try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try copy.close()
            _ = try? FileManager.default.removeItem(at: target)
            try FileManager.default.moveItem(at: temporary, to: target)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: target.path)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Why a file cannot be restored, or nil: it must be a sound SQLite database of Veil whose
    /// migrations this binary knows.
    public static func restoreProblem(source: String) -> String? {
        guard FileManager.default.fileExists(atPath: source) else { return "\(source) does not exist" }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: source, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db -> String? in
                let check = try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? ""
                guard check == "ok" else { return "\(source) fails integrity_check: \(check)" }
                guard try db.tableExists("grdb_migrations") else { return "\(source) is not a Veil database" }
                let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
                let unknown = applied.filter { !migrationNames.contains($0) }
                guard unknown.isEmpty else { return "\(source) comes from a newer Veil (migrations \(unknown.joined(separator: ", ")))" }
                return nil
            }
        } catch {
            return "\(source) is not a readable SQLite database"
        }
    }

    /// Replaces this database's content with `source`'s through the backup API (readers in other
    /// processes see either the old or the new database, never a mix). Stop the daemons first:
    /// their in-memory state would not match the restored data.
    public func restore(from source: String) throws {
        if let problem = Self.restoreProblem(source: source) { throw StoreError.invalid(problem) }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: source, configuration: configuration)
        defer { try? queue.close() }
        try queue.backup(to: pool)
    }

    /// Deletes email logs (and their bounce records) and notifications older than the given
    /// dates, a thousand rows per transaction so the daemons' writes slip in between. Each batch
    /// is a range of the `created_at` indexes (migration 0005), oldest first.
    /// Returns (logs, notifications) deleted.
    @discardableResult
    public func prune(emailLogsBefore: Date?, notificationsBefore: Date?, batch: Int = 1_000) throws -> (logs: Int, notifications: Int) {
        (logs: try emailLogsBefore.map { try prune("email_logs", before: $0, batch: batch) } ?? 0,
         notifications: try notificationsBefore.map { try prune("notifications", before: $0, batch: batch) } ?? 0)
    }

    /// Deletes `table`'s rows created before `cutoff`, `batch` rows per transaction.
    private func prune(_ table: String, before cutoff: Date, batch: Int) throws -> Int {
        var total = 0
        while true {
            let deleted = try pool.write { db -> Int in
                try db.execute(sql: """
                    DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE created_at < ? ORDER BY created_at LIMIT ?)
                    """, arguments: [cutoff.unixSeconds, batch])
                return db.changesCount
            }
            total += deleted
            if deleted < batch { return total }
        }
    }
}
