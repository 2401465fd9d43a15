import ArgumentParser
import Foundation
import VeilStore

/// `veil migrate-to-postgres`: the upgrade path from one machine's SQLite file to PostgreSQL.
struct MigrateToPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-to-postgres",
        abstract: "Copy a SQLite database (live or stopped) into an empty PostgreSQL database and verify the copy.",
        discussion: """
            Every table is copied with its ids from one snapshot of the SQLite file (a live database \
            keeps serving; what it writes after the snapshot is not copied: stop the daemons for the \
            final move). The copy is one PostgreSQL transaction, committed only after each table's \
            row count and checksum match; on any failure the target stays empty. The target must be \
            empty: a new database, or one `veil migrate` created.
            """)

    @Option(name: .customLong("from"), help: "The SQLite database file.")
    var from: String

    @Option(name: .customLong("to"), help: "postgres://user:password@host:port/database (sslmode=, sslrootcert= as in libpq).")
    var to: String

    func run() async throws {
        guard case .sqlite(let path) = try DatabaseLocation(parsing: from) else {
            throw CLIError("--from must be a SQLite file")
        }
        guard case .postgres(let location) = try DatabaseLocation(parsing: to) else {
            throw CLIError("--to must be a postgres:// URL")
        }
        let target = try PostgresStore(location: location, maxConnections: 2)
        let bar = ProgressBar(interactive: isatty(STDERR_FILENO) == 1, verb: "copied")
        let started = ContinuousClock.now
        let reports: [PostgresMove.TableReport]
        do {
            reports = try await PostgresMove.run(from: path, to: target) { bar.show($0.allCopied, of: $0.allTotal, detail: "\($0.table) \($0.copied)/\($0.total)") }
        } catch {
            bar.finish()
            await target.close()
            throw CLIError("migrate-to-postgres: \(PostgresStore.explain(error))")
        }
        bar.finish()
        await target.close()
        let width = reports.map(\.table.count).max() ?? 5
        for report in reports {
            let name = report.table.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(name)  \(String(report.targetRows).leftPadded(10)) rows  checksum \(report.targetChecksum.prefix(16))  ok")
        }
        let rows = reports.map(\.targetRows).reduce(0, +)
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        print("copied \(rows) rows in \(reports.count) tables from \(path) to \(location) in \(Int(seconds)) s; every count and checksum matches")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
