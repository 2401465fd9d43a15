import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import VeilStore

@main
struct VeilMain {
    static func main() async {
        // `veil api` runs its tasks on NIO's event-loop threads instead of a second pool, so a
        // request does not hop between the socket's thread and a concurrency thread and back (the
        // alias page went from 4,700 to 6,300 requests/s). Handlers that write run on threads of
        // their own (`RouterMethods.writing`), since a loop waiting for the writer stalls every
        // connection on it; one loop per core measured best (one: page −40 %; three: p99 worse).
        // The mail daemon (`smtpd`, `serve`) blocks on writes and on RSA signing
        // for every message, so it keeps the default executor.
        if CommandLine.arguments.dropFirst().first == "api" {
            _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        LineLogHandler.bootstrap()
        VeilMetrics.bootstrap()
        do {
            var command = try Veil.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if Veil.exitCode(for: error) == .success { Veil.exit(withError: error) }
            FileHandle.standardError.write(Data(("veil: " + oneLine(error) + "\n").utf8))
            let code = Veil.exitCode(for: error)
            exit(code == .failure || code == .success ? 1 : code.rawValue)
        }
    }

    /// Errors are reported on one line; argument errors point at --help instead of printing usage.
    static func oneLine(_ error: any Error) -> String {
        switch error {
        case let error as CLIError: return error.description
        case let error as Store.OpenError: return error.description
        case let error as StoreError: return error.description
        default:
            let message = Veil.message(for: error)
                .split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            let trimmed = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
            return Veil.exitCode(for: error) == .validationFailure ? trimmed + " (see 'veil --help')" : trimmed
        }
    }
}

struct Veil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "veil",
        abstract: "Veil: a self-hostable e-mail alias service (SimpleLogin-compatible API, SMTP daemon).",
        subcommands: [Serve.self, API.self, Smtpd.self, Migrate.self, UserCommand.self, DomainCommand.self, ImportCommand.self, ExportCommand.self, PhoneCommand.self, CodesCommand.self, Backup.self, Restore.self, Prune.self, Doctor.self, PostfixConfig.self, MigrateToPostgres.self]
    )
}

/// Opens the configured database and brings its schema up to date. The daemons (`daemon`)
/// checkpoint the WAL from `PeriodicService.checkpoints` instead of on commit.
func openStore(_ settings: Settings, daemon: Bool = false) throws -> Store {
    let store = try Store(path: try sqlitePath(settings), checkpointsInBackground: daemon)
    try store.migrate()
    try store.ensureSecrets()
    return store
}

/// The SQLite file of a command that runs on SQLite only for now.
func sqlitePath(_ settings: Settings) throws -> String {
    switch settings.location {
    case .sqlite(let path): return path
    case .postgres:
        throw CLIError("this command does not run on PostgreSQL yet (veil migrate, veil doctor and veil migrate-to-postgres do); use the SQLite file")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the database or upgrade it to the current schema (SQLite or PostgreSQL).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let settings = try options.settings()
        if case .postgres(let location) = settings.location {
            let store = try PostgresStore(location: location, maxConnections: 2)
            do {
                let before = Set(try await store.appliedMigrations())
                try await store.migrate()
                try await store.ensureSecrets()
                let applied = PostgresStore.migrationNames.filter { !before.contains($0) }
                print(applied.isEmpty
                      ? "database \(location) is up to date (\(PostgresStore.migrationNames.last ?? ""))"
                      : "database \(location) migrated: \(applied.joined(separator: ", "))")
            } catch {
                await store.close()
                throw CLIError("database \(location): \(PostgresStore.explain(error))")
            }
            await store.close()
            return
        }
        let store = try Store(path: try sqlitePath(settings))
        let before = Set(try store.appliedMigrations())
        try store.migrate()
        try store.ensureSecrets()
        let applied = Store.migrationNames.filter { !before.contains($0) }
        print(applied.isEmpty
              ? "database \(settings.database) is up to date (\(Store.migrationNames.last ?? ""))"
              : "database \(settings.database) migrated: \(applied.joined(separator: ", "))")
    }
}
