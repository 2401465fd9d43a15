import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import VeilStore

/// `veil backup --output FILE`
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the live database to FILE (SQLite online backup): consistent while both daemons keep writing.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "Where to write the copy (replaced atomically when it exists)") var output: String

    func run() throws {
        let settings = try global.settings()
        if case .postgres(let location) = settings.location {
            throw CLIError("veil backup copies a SQLite file; back PostgreSQL up with its own tools: pg_dump --format=custom --file=veil.dump '\(location)' (restore with pg_restore into an empty database)")
        }
        let store = try openStore(settings)
        let started = Date()
        let size: Int64
        do {
            size = try store.backup(to: output)
        } catch {
            throw CLIError("backup to \(output) failed: \(error)")
        }
        print("backup of \(settings.database) written to \(output) (\(size) bytes, \(String(format: "%.2f", Date().timeIntervalSince(started))) s)")
    }
}

/// `veil restore --input FILE`
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the database with a backup made by 'veil backup'. Stop 'veil api' and 'veil smtpd' first.",
        discussion: "The backup is checked first (integrity_check, known migrations); then its pages are copied into the database with SQLite's backup API and the schema is brought up to date.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "The backup file") var input: String

    func run() throws {
        let settings = try global.settings()
        if let problem = Store.restoreProblem(source: input) { throw CLIError("cannot restore: \(problem)") }
        let store = try Store(path: try sqlitePath(settings))
        try store.restore(from: input)
        try store.migrate()
        print("database \(settings.database) restored from \(input); integrity_check: \(try store.integrityCheck())")
    }
}

/// `veil prune`
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete email logs and notifications older than the retention ages now (the daemons also do it every hour).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var retention: RetentionOptions

    func run() throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        let policy = try retention.policy()
        guard policy.isOn else { throw CLIError("nothing to prune: set --log-retention-days and/or --notification-retention-days") }
        let (logs, notifications) = try policy.prune(store)
        print("pruned \(logs) email logs and \(notifications) notifications")
    }
}

struct RetentionOptions: ParsableArguments {
    @Option(name: .customLong("log-retention-days"),
            help: "Delete email logs older than this many days (0 keeps them). Env: VEIL_LOG_RETENTION_DAYS. Default: 0")
    var logDays: Int?
    @Option(name: .customLong("notification-retention-days"),
            help: "Delete notifications older than this many days (0 keeps them). Env: VEIL_NOTIFICATION_RETENTION_DAYS. Default: 0")
    var notificationDays: Int?

    func policy(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RetentionPolicy {
        func days(_ flag: Int?, _ name: String, _ variable: String) throws -> Int {
            let text = flag.map(String.init) ?? environment[variable] ?? "0"
            guard let value = Int(text), value >= 0 else { throw CLIError("--\(name) must be a whole number of days, 0 or more") }
            return value
        }
        return RetentionPolicy(logDays: try days(logDays, "log-retention-days", "VEIL_LOG_RETENTION_DAYS"),
                               notificationDays: try days(notificationDays, "notification-retention-days", "VEIL_NOTIFICATION_RETENTION_DAYS"))
    }
}

struct RetentionPolicy: Sendable {
    var logDays: Int
    var notificationDays: Int
    var isOn: Bool { logDays > 0 || notificationDays > 0 }

    func prune(_ store: Store, now: Date = Date()) throws -> (logs: Int, notifications: Int) {
        try store.prune(emailLogsBefore: logDays > 0 ? now.addingTimeInterval(-Double(logDays) * 86_400) : nil,
                        notificationsBefore: notificationDays > 0 ? now.addingTimeInterval(-Double(notificationDays) * 86_400) : nil)
    }
}

/// Prunes once at start and then every hour, in small transactions, until shutdown.
struct RetentionService: Service {
    let store: Store
    let policy: RetentionPolicy
    let logger: Logger

    func run() async throws {
        // A service that returns would stop the whole group: wait for shutdown instead.
        guard policy.isOn else { try? await gracefulShutdown(); return }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let (logs, notifications) = try policy.prune(store)
                if logs + notifications > 0 { logger.info("retention", metadata: ["email_logs": "\(logs)", "notifications": "\(notifications)"]) }
            } catch {
                logger.error("retention failed", metadata: ["error": "\(error)"])
            }
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3_600)) }
        }
    }
}
