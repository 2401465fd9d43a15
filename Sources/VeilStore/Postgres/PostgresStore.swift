import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization
import VeilSchemaPostgres

/// The PostgreSQL engine: a pool of connections to one database that any number of Veil
/// processes on any number of hosts share. Work that must happen once (migrations, first-start
/// secrets) is serialised by the server, never by the process.
public final class PostgresStore: Sendable {
    public let location: PostgresLocation
    let client: PostgresClient
    private let runner: Task<Void, Never>
    private let running = StartGate()
    static let logger = Logger(label: "veil.postgres")

    /// Connections this process keeps at most; `maxConnections` × nodes must stay below the
    /// server's `max_connections`.
    public init(location: PostgresLocation, maxConnections: Int = 20, statementTimeout: Duration? = nil) throws {
        self.location = location
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password, database: location.database, tls: try Self.tls(for: location))
        configuration.options.maximumConnections = max(1, maxConnections)
        configuration.options.minimumConnections = 0
        if location.tls == .verifyFull { configuration.options.tlsServerName = location.host }
        if let statementTimeout {
            let milliseconds = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
            configuration.options.additionalStartupParameters = [("statement_timeout", "\(milliseconds)")]
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
        self.client = client
        let running = self.running
        runner = Task {
            running.open()
            await client.run()
        }
    }

    /// The pool, once its run loop has begun (leasing before that only logs a warning and waits).
    func pool() async -> PostgresClient {
        if !running.isOpen {
            await running.wait()
            // The gate opens just before `run()` marks the client running; let it get there.
            await Task.yield()
        }
        return client
    }

    deinit { runner.cancel() }

    /// Closes the pool's connections; calls after this fail.
    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    private static func tls(for location: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.tls {
        case .disable:
            return .disable
        case .prefer, .require:
            configuration.certificateVerification = .none
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        if let caFile = location.caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw StoreError.invalid("cannot read the CA file \(caFile): \(error)")
            }
        }
        return location.tls == .prefer ? .prefer(configuration) : .require(configuration)
    }

    /// Creates an empty database on the server `admin` points at (its maintenance database).
    public static func createDatabase(named name: String, on admin: PostgresLocation) async throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw StoreError.invalid("a database name is letters, digits and underscores")
        }
        let store = try PostgresStore(location: admin, maxConnections: 1)
        do {
            try await store.pool().query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// One transaction on a pooled connection; a failure inside it is thrown as itself, not
    /// wrapped in PostgresNIO's `PostgresTransactionError`.
    func transaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await pool().withTransaction(logger: Self.logger, isolation: isolation, body)
        } catch let failure as PostgresTransactionError {
            throw failure.closureError ?? failure.beginError ?? failure.commitError ?? failure
        }
    }

    /// The server's own words for a failure (PSQLError's description hides them on purpose; the
    /// server's message names no bound value).
    public static func explain(_ error: any Error) -> String {
        if let failure = error as? PSQLError {
            if let message = failure.serverInfo?[.message] {
                let state = failure.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return "PostgreSQL: \(message)\(state)"
            }
            return "PostgreSQL: \(failure.code)"
        }
        if let failure = error as? PostgresTransactionError {
            return explain(failure.closureError ?? failure.beginError ?? failure.commitError ?? failure.rollbackError ?? StoreError.invalid("transaction failed"))
        }
        return "\(error)"
    }

    // MARK: Migrations

    /// Names of all migrations this binary knows, oldest first (the same as SQLite's).
    public static var migrationNames: [String] { PostgresSchemaMigrations.all.map(\.name) }

    /// Any number of nodes may call this at once: an advisory lock held for the transaction makes
    /// the others wait and then find the work done. Each migration commits with its record.
    public func migrate(upTo lastName: String? = nil) async throws {
        for migration in PostgresSchemaMigrations.all {
            try await transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: Self.logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS veil_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)
                    """, logger: Self.logger)
                let done = try await connection.query(
                    "SELECT 1 FROM veil_migrations WHERE name = \(migration.name)", logger: Self.logger).collect()
                guard done.isEmpty else { return }
                for statement in SQLStatements.split(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.logger)
                }
                try await connection.query(
                    "INSERT INTO veil_migrations (name, applied_at) VALUES (\(migration.name), \(Date().unixSeconds))",
                    logger: Self.logger)
            }
            if migration.name == lastName { break }
        }
    }

    /// An arbitrary constant shared by every Veil node: "migrating".
    static let migrationLock: Int64 = 0x7665_696c_6d69_6772

    public func appliedMigrations() async throws -> [String] {
        let exists = try await pool().query("SELECT to_regclass('veil_migrations') IS NOT NULL", logger: Self.logger)
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return [] }
        var names: [String] = []
        for try await (name) in try await pool().query("SELECT name FROM veil_migrations ORDER BY name", logger: Self.logger)
            .decode(String.self) {
            names.append(name)
        }
        return names
    }

    public func isFullyMigrated() async throws -> Bool {
        Set(try await appliedMigrations()).isSuperset(of: Self.migrationNames)
    }

    /// The tables of the current schema and their columns (name → nullable), for the schema test and
    /// `veil migrate-to-postgres`.
    public func tableColumns() async throws -> [String: [String: Bool]] {
        var tables: [String: [String: Bool]] = [:]
        let rows = try await pool().query("""
            SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'YES'
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> 'veil_migrations'
            """, logger: Self.logger)
        for try await (table, column, nullable) in rows.decode((String, String, Bool).self) {
            tables[table, default: [:]][column] = nullable
        }
        return tables
    }

    /// Each table's columns and what their values are, for `veil migrate-to-postgres`.
    func columnTypes() async throws -> [String: [String: ColumnType]] {
        var tables: [String: [String: ColumnType]] = [:]
        let rows = try await pool().query("""
            SELECT table_name::text, column_name::text, data_type::text, udt_name::text
            FROM information_schema.columns WHERE table_schema = current_schema()
            """, logger: Self.logger)
        for try await (table, column, type, udt) in rows.decode((String, String, String, String).self) {
            tables[table, default: [:]][column] = ColumnType(informationSchema: type, udt: udt)
        }
        return tables
    }

    /// The server's version line, for `veil doctor`.
    public func serverVersion() async throws -> String {
        try await pool().query("SELECT version()", logger: Self.logger).collect().first?.decode(String.self) ?? ""
    }
}

/// Opens once; everyone waiting then, and everyone who comes later, goes on.
final class StartGate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    var isOpen: Bool { state.withLock { $0.isOpen } }

    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        waiting.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiting.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }
}
