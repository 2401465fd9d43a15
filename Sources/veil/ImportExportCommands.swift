import ArgumentParser
import Foundation
import Synchronization
import VeilServices
import VeilCore
import VeilStore

/// `veil export aliases --user E [--output FILE]`
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a user's data.",
                                                    subcommands: [ExportAliases.self])
}

struct ExportAliases: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aliases",
        abstract: "Write a user's aliases as CSV (alias,note,enabled,mailboxes), the format SimpleLogin exports and imports.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The user whose aliases to export") var user: String
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output") var output: String?

    func run() throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        let (_, userId) = try requireUser(store, email: user)
        let aliases = try store.exportedAliases(userId: userId)
        let text = AliasImporter.exportCSV(aliases)
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CLIError("cannot write \(output): \(error.localizedDescription)")
        }
        FileHandle.standardError.write(Data("exported \(aliases.count) aliases to \(output)\n".utf8))
    }
}

/// `veil import aliases --user E FILE`
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import data for a user.",
                                                    subcommands: [ImportAliases.self])
}

struct ImportAliases: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aliases",
        abstract: "Create aliases from a CSV export (alias,note,enabled,mailboxes) on the user's verified custom domains.",
        discussion: "Existing and deleted addresses are skipped; each skipped line is reported with its reason. Progress goes to standard error.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The user who will own the aliases") var user: String
    @Argument(help: "The CSV file") var file: String

    func run() throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        let (_, userId) = try requireUser(store, email: user)
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(file) is not UTF-8 text") }
        let importer = AliasImporter(store: store, quota: AliasQuota(freeLimit: settings.maxAliasesFree))
        let bar = ProgressBar(interactive: isatty(STDERR_FILENO) == 1)
        let summary: AliasImporter.Summary
        do {
            summary = try importer.run(csv: text, userId: userId) { done, total in bar.show(done, of: total) }
        } catch let refusal as AliasImporter.Refusal {
            throw CLIError(refusal.description)
        }
        bar.finish()
        for error in summary.errors { print("line \(error.line): \(error.alias): \(error.error)") }
        print("created \(summary.created), skipped \(summary.skipped)")
    }
}

/// A one-line progress bar on standard error, redrawn at most ten times a second; a plain line
/// every 10% when not a terminal.
final class ProgressBar: Sendable {
    let interactive: Bool
    let verb: String
    private let state = Mutex<(decile: Int, drawn: ContinuousClock.Instant?)>((-1, nil))

    init(interactive: Bool, verb: String = "imported") {
        self.interactive = interactive
        self.verb = verb
    }

    func show(_ done: Int, of total: Int, detail: String = "") {
        guard total > 0 else { return }
        let fraction = Double(done) / Double(total)
        let decile = Int(fraction * 10)
        let draw = state.withLock { state -> Bool in
            let now = ContinuousClock.now
            if interactive {
                guard done == total || state.drawn.map({ now - $0 > .milliseconds(100) }) ?? true else { return false }
                state.drawn = now
                return true
            }
            guard decile > state.decile else { return false }
            state.decile = decile
            return true
        }
        guard draw else { return }
        let suffix = detail.isEmpty ? "" : "  " + detail
        if interactive {
            let filled = Int(fraction * 30)
            let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] \(done)/\(total)\(suffix)\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            FileHandle.standardError.write(Data("\(verb) \(done)/\(total)\(suffix)\n".utf8))
        }
    }

    func finish() { if interactive { FileHandle.standardError.write(Data("\n".utf8)) } }
}
