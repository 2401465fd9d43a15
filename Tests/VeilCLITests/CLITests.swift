import Foundation
import Testing
import VeilCore
import VeilStore

/// Runs the real `veil` binary in a child process.
struct VeilProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
        var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// The binary SwiftPM built next to this test bundle.
    static let binary: URL = {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("veil"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("veil"),
            packageRoot.appendingPathComponent(".build/debug/veil"),
        ].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[candidates.count - 1]
    }()

    static func run(_ arguments: [String], environment: [String: String] = [:], executable: URL = binary) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VEIL_") }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

extension VeilProcess {
    /// Starts a daemon in the background: VEIL_ variables of the test's environment left out,
    /// standard output dropped, standard error to `log` when given.
    static func start(_ arguments: [String], environment: [String: String] = [:], log: URL? = nil) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VEIL_") }.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        if let log {
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// `run` on a Dispatch thread: a test that serves something on Swift tasks (the SMTP sink)
    /// must not block a thread of the small cooperative pool while the child talks to it.
    static func runDetached(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try run(arguments, environment: environment) })
            }
        }
    }
}

func temporaryDatabasePath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("veil-cli-\(UUID().uuidString)/veil.sqlite").path
}

@Suite struct CLITests {
    @Test func userCreatePrintsExactlyTheApiKey() throws {
        let database = temporaryDatabasePath()
        let result = try VeilProcess.run(["user", "create", "--email", "Me@Example.com", "--password", "a good password",
                                          "--name", "Me", "--premium", "--database", database])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutLines.count == 1)
        let key = try #require(result.stdoutLines.first)
        #expect(key.count == 60)
        let store = try Store(path: database)
        let authenticated = try #require(try store.authenticate(apiKey: key))
        #expect(authenticated.user.email == "me@example.com")
        #expect(authenticated.user.isPremium && authenticated.user.activated)
        #expect(authenticated.user.name == "Me")
        #expect(authenticated.user.passwordHash?.hasPrefix("$2b$") == true)
        #expect(try store.mailboxes(userId: try #require(authenticated.user.id)).map(\.email) == ["me@example.com"])
    }

    @Test func userCreateAdminMarksTheAdmin() throws {
        let database = temporaryDatabasePath()
        #expect(try VeilProcess.run(["user", "create", "--email", "boss@example.com", "--admin", "--database", database]).status == 0)
        #expect(try VeilProcess.run(["user", "create", "--email", "staff@example.com", "--database", database]).status == 0)
        let store = try Store(path: database)
        #expect(try store.user(email: "boss@example.com")?.isAdmin == true)
        #expect(try store.user(email: "staff@example.com")?.isAdmin == false)
    }

    @Test func environmentVariablesStandInForFlags() throws {
        let database = temporaryDatabasePath()
        let created = try VeilProcess.run(["user", "create", "--email", "env@example.com"], environment: ["VEIL_DATABASE": database])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(FileManager.default.fileExists(atPath: database))
        let listed = try VeilProcess.run(["user", "list"], environment: ["VEIL_DATABASE": database])
        #expect(listed.stdoutLines.count == 2)
        #expect(listed.stdoutLines.last?.contains("env@example.com") == true)
        // A flag beats the environment.
        let other = temporaryDatabasePath()
        let flagged = try VeilProcess.run(["user", "list", "--database", other], environment: ["VEIL_DATABASE": database])
        #expect(flagged.stdoutLines.count == 1)
    }

    @Test func listAndDeleteUsers() throws {
        let database = temporaryDatabasePath()
        for email in ["a@example.com", "b@example.com"] {
            #expect(try VeilProcess.run(["user", "create", "--email", email, "--database", database]).status == 0)
        }
        let listed = try VeilProcess.run(["user", "list", "--database", database])
        #expect(listed.stdoutLines.count == 3)
        #expect(listed.stdoutLines[0].split(separator: "\t").first == "id")
        let deleted = try VeilProcess.run(["user", "delete", "--email", "a@example.com", "--database", database])
        #expect(deleted.status == 0)
        #expect(deleted.stdout == "deleted user a@example.com\n")
        let after = try VeilProcess.run(["user", "list", "--database", database])
        #expect(after.stdoutLines.count == 2 && !after.stdout.contains("a@example.com"))
        let again = try VeilProcess.run(["user", "delete", "--email", "a@example.com", "--database", database])
        #expect(again.status != 0)
        #expect(again.stderrLines == ["veil: no such user: a@example.com"])
    }

    @Test func premiumCanBeToggled() throws {
        let database = temporaryDatabasePath()
        _ = try VeilProcess.run(["user", "create", "--email", "p@example.com", "--database", database])
        #expect(try VeilProcess.run(["user", "premium", "--email", "p@example.com", "--database", database]).status == 0)
        #expect(try Store(path: database).user(email: "p@example.com")?.isPremium == true)
        #expect(try VeilProcess.run(["user", "premium", "--email", "p@example.com", "--off", "--database", database]).status == 0)
        #expect(try Store(path: database).user(email: "p@example.com")?.isPremium == false)
    }

    @Test(arguments: [
        (["user", "create", "--email", "not-an-email"], "veil: invalid email: not-an-email"),
        (["user", "create", "--email", "x@example.com", "--password", "short"], "veil: password too short"),
        (["user", "create", "--email", "x@veil.localhost"], "veil: cannot use x@veil.localhost as personal inbox: it is on an alias domain"),
        (["user", "list", "--bogus"], "veil: Unknown option '--bogus' (see 'veil --help')"),
        (["frobnicate"], "veil: Unexpected argument 'frobnicate' (see 'veil --help')"),
    ])
    func badInputIsOneLineOnStderr(_ arguments: [String], _ message: String) throws {
        let result = try VeilProcess.run(arguments, environment: ["VEIL_DATABASE": temporaryDatabasePath()])
        #expect(result.status != 0)
        #expect(result.stderrLines == [message])
        #expect(result.stdout.isEmpty)
    }

    @Test func duplicateUserIsOneLineError() throws {
        let database = temporaryDatabasePath()
        _ = try VeilProcess.run(["user", "create", "--email", "d@example.com", "--database", database])
        let result = try VeilProcess.run(["user", "create", "--email", "D@example.com", "--database", database])
        #expect(result.status != 0)
        #expect(result.stderrLines == ["veil: a user with email d@example.com already exists"])
    }

    @Test func unreadableDatabasePathIsOneLineError() throws {
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("veil-file-\(UUID().uuidString)")
        try Data("not a folder".utf8).write(to: blocker)
        for path in [blocker.appendingPathComponent("veil.sqlite").path, blocker.path] {
            let result = try VeilProcess.run(["migrate", "--database", path])
            #expect(result.status != 0)
            #expect(result.stderrLines.count == 1)
            #expect(result.stderrLines.first?.hasPrefix("veil: ") == true, "\(result.stderr)")
        }
    }

    @Test func migrateCreatesThenReportsUpToDate() throws {
        let database = temporaryDatabasePath()
        let first = try VeilProcess.run(["migrate", "--database", database])
        #expect(first.status == 0)
        #expect(first.stdout.contains("migrated: " + Store.migrationNames.joined(separator: ", ")))
        let second = try VeilProcess.run(["migrate", "--database", database])
        #expect(second.stdout.contains("is up to date"))
        #expect(try Store(path: database).isFullyMigrated())
    }

    /// The schema is compiled in: a copy of the binary alone in an empty folder still migrates.
    @Test func binaryWorksWhenCopiedAlone() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copy = folder.appendingPathComponent("veil")
        try FileManager.default.copyItem(at: VeilProcess.binary, to: copy)
        let database = folder.appendingPathComponent("data/veil.sqlite").path
        let result = try VeilProcess.run(["user", "create", "--email", "alone@example.com", "--database", database], executable: copy)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Store(path: database).isFullyMigrated())
    }

    /// Several `veil` processes writing one database at the same moment all succeed.
    @Test func concurrentProcessesShareTheDatabase() async throws {
        let database = temporaryDatabasePath()
        #expect(try VeilProcess.run(["migrate", "--database", database]).status == 0)
        let results = try await withThrowingTaskGroup(of: VeilProcess.Result.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try VeilProcess.run(["user", "create", "--email", "p\(index)@example.com", "--database", database])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
        #expect(!results.contains { $0.stderr.contains("locked") })
        #expect(try Store(path: database).listUsers().count == 8)
    }
}
