import Foundation
import CoreMetrics
import GRDB
import Synchronization
import VeilSchema

/// The SQLite database both daemons share: WAL, foreign keys, a busy timeout so that a writer in
/// another process makes us wait instead of failing. Every query of Veil lives in this module.
public final class Store: Sendable {
    public enum OpenError: Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason): return "cannot open database \(path): \(reason)"
            }
        }
    }

    let pool: DatabasePool
    public let path: String
    static let busyRetries = Counter(label: "veil_db_busy_retries_total")
    let keyUsage = KeyUsageBuffer()
    let groupCommit: GroupCommit
    /// Read-only connections lent to `hotRead`, most recently returned first.
    private let hotReaders = Mutex<[DatabaseQueue]>([])

    /// Writes what is only gathered in memory (API key uses). Called on shutdown.
    deinit { try? flushKeyUsage() }

    /// The connection `checkpoint()` uses; nil when commits checkpoint as SQLite does by default.
    private let checkpointer: DatabaseQueue?

    /// `journal_size_limit`: when the WAL starts over, a file grown past this (a spike while
    /// readers kept it from starting over) is cut back to it.
    static let walSizeLimit = 256 * 1024 * 1024
    /// WAL frames (pages of 4 KiB) past which the background checkpoints have the writer catch up
    /// so that the WAL starts over: about 64 MiB.
    public static let walRestartFrames = 16_384

    /// Opens (creating when missing) the database at `path`. Does not migrate: call `migrate()`.
    ///
    /// With `checkpointsInBackground`, commits never copy the WAL back into the database file
    /// (`wal_autocheckpoint = 0`): by default the commit that crosses 1,000 WAL pages does it,
    /// fsync included, while every other writer of the process waits behind it, which made the
    /// slowest alias creations of a burst wait tens of milliseconds. The daemons call
    /// `checkpoint()` from a service instead.
    public init(path: String, busyTimeout: TimeInterval = 10, checkpointsInBackground: Bool = false) throws {
        self.path = path
        var configuration = Configuration()
        // SQLite's own timeout handler, plus a count of the waits for `veil_db_busy_retries_total`.
        let retries = Self.busyRetries
        configuration.busyMode = .callback { tries in
            retries.increment()
            // 1, 2, 4 … 32 ms between tries, as sqlite3_busy_timeout does, until the timeout is spent.
            let delay = min(32, 1 << min(tries, 5))
            let spent = tries >= 5 ? 31 + (tries - 5) * 32 : (1 << tries) - 1
            guard Double(spent + delay) / 1000 <= busyTimeout else { return false }
            usleep(useconds_t(delay * 1000))
            return true
        }
        configuration.foreignKeysEnabled = true
        configuration.label = "veil"
        configuration.prepareDatabase { db in
            // WAL + NORMAL is durable across process crashes; only an OS crash can lose the last commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            if checkpointsInBackground { try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
            try db.execute(sql: "PRAGMA journal_size_limit = \(Self.walSizeLimit)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            pool = try DatabasePool(path: path, configuration: configuration)
            groupCommit = GroupCommit(pool: pool)
            if checkpointsInBackground {
                var own = Configuration()
                own.label = "veil-checkpoint"
                // Another process checkpointing at the same moment: skip this round rather than wait.
                own.busyMode = .immediateError
                checkpointer = try DatabaseQueue(path: path, configuration: own)
            } else {
                checkpointer = nil
            }
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
        } catch {
            throw OpenError.cannotOpen(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    /// Runs point lookups that need no snapshot across statements (each statement reads the last
    /// commit) on a read-only connection of this store's own, without BEGIN/COMMIT. It skips
    /// `DatabasePool`'s lending machinery (a concurrent-queue barrier, a semaphore, a dispatch
    /// group and a lock per read), which was a tenth of an alias creation's CPU in profiles.
    /// There are never more connections than callers at one moment.
    func hotRead<T>(_ body: (Database) throws -> T) throws -> T {
        let reader = try hotReaders.withLock { $0.popLast() } ?? makeHotReader()
        defer { hotReaders.withLock { $0.append(reader) } }
        return try reader.inDatabase(body)
    }

    /// Connections `hotRead` has opened and holds for reuse (tests).
    var idleHotReaders: Int { hotReaders.withLock { $0.count } }

    private func makeHotReader() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "veil-read"
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Copies committed WAL pages into the database file from a connection of its own. PASSIVE:
    /// it neither waits for nor blocks this process's writer or the readers; SQLite starts the WAL
    /// over at the next write once everything is copied. Returns the WAL's frames and how many of
    /// them are in the database file; (0, 0) without background checkpoints.
    @discardableResult
    public func checkpoint() throws -> (walFrames: Int, checkpointed: Int) {
        guard let checkpointer else { return (0, 0) }
        return try checkpointer.inDatabase(Self.passiveCheckpoint)
    }

    /// Copies the frames committed while `checkpoint()` ran, on the writer connection between two
    /// group-commit batches, so that for a moment the whole WAL is in the database file. Only then
    /// does SQLite's next write start the WAL over: a background checkpoint overlaps the writes of
    /// a busy API and never catches up, and the WAL grew by 60 MB a second under continuous alias
    /// creation. This pass is short (3–7 ms under that load): the background one already copied
    /// nearly everything.
    @discardableResult
    public func finishCheckpoint() async throws -> (walFrames: Int, checkpointed: Int) {
        guard checkpointer != nil else { return (0, 0) }
        return try await groupCommit.betweenBatches(Self.passiveCheckpoint)
    }

    private static func passiveCheckpoint(_ db: Database) throws -> (walFrames: Int, checkpointed: Int) {
        guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") else { return (0, 0) }
        return (walFrames: row[1], checkpointed: row[2])
    }

    static func migrator(upTo lastName: String? = nil) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in SchemaMigrations.all {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
            if migration.name == lastName { break }
        }
        return migrator
    }

    /// Names of all migrations this binary knows, oldest first.
    public static var migrationNames: [String] { SchemaMigrations.all.map(\.name) }

    /// Applies every migration not yet applied (or only those up to `lastName`).
    public func migrate(upTo lastName: String? = nil) throws {
        try Self.migrator(upTo: lastName).migrate(pool)
    }

    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator().appliedMigrations(db) }
    }

    public func isFullyMigrated() throws -> Bool {
        try pool.read { db in try Self.migrator().hasCompletedMigrations(db) }
    }

    /// The record as stored, with its new id.
    func inserted<Record: VeilRecord & Sendable>(_ record: Record) throws -> Record {
        try pool.write { db in
            var record = record
            try record.insert(db)
            return record
        }
    }

    /// `PRAGMA integrity_check` → "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}

/// How rows of Veil's tables map to the plain values of VeilCore: snake_case columns,
/// Unix-second dates, integer row ids.
protocol VeilRecord: Codable, FetchableRecord, MutablePersistableRecord {
    var id: Int64? { get set }
}

extension VeilRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .custom(SnakeCase.codingKey) }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .custom(SnakeCase.column) }
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy { .secondsSince1970 }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// snake_case columns ↔ camelCase properties, converted once per name and then remembered:
/// GRDB's built-in conversion re-splits every column name of every row, which showed up as the
/// largest cost of an alias page in profiles.
enum SnakeCase {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let properties = Mutex<[String: String]>([:])
    private static let columns = Mutex<[String: String]>([:])

    @Sendable static func codingKey(_ column: String) -> any CodingKey {
        if let known = properties.withLock({ $0[column] }) { return Key(stringValue: known) }
        var result = ""
        var upperNext = false
        for character in column {
            if character == "_" { upperNext = !result.isEmpty; continue }
            result.append(upperNext ? Character(character.uppercased()) : character)
            upperNext = false
        }
        properties.withLock { $0[column] = result }
        return Key(stringValue: result)
    }

    @Sendable static func column(_ key: any CodingKey) -> String {
        let property = key.stringValue
        if let known = columns.withLock({ $0[property] }) { return known }
        var result = ""
        for character in property {
            if character.isUppercase {
                result.append("_")
                result.append(Character(character.lowercased()))
            } else {
                result.append(character)
            }
        }
        columns.withLock { $0[property] = result }
        return result
    }
}

/// Errors the store reports in words a caller can pass on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case conflict(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let message), .conflict(let message), .invalid(let message): return message
        }
    }
}

extension Date {
    /// Whole seconds, as the database stores them.
    var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}
