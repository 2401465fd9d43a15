import Foundation
import Synchronization
import VeilStore

/// The PostgreSQL server the tests use: `VEIL_TEST_POSTGRES_URL` when set (`.ci/run` starts a
/// private cluster and sets it), otherwise a private cluster this test process starts on a free
/// loopback port with `Tests/postgres/cluster.sh` and stops when it exits. Each test gets a
/// database of its own.
public enum PostgresTestServer {
    public enum Failure: Error, CustomStringConvertible {
        case cannotStart(String)
        public var description: String {
            switch self {
            case .cannotStart(let why): return "cannot start the test PostgreSQL server: \(why)"
            }
        }
    }

    private static let counter = Atomic<Int>(0)

    /// The server's maintenance database, from which test databases are created.
    public static func adminLocation() throws -> PostgresLocation {
        switch server {
        case .success(let location): return location
        case .failure(let error): throw error
        }
    }

    /// A new, empty database on the test server.
    public static func freshDatabase() async throws -> PostgresLocation {
        let admin = try adminLocation()
        let name = "veil_test_\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)"
        try await PostgresStore.createDatabase(named: name, on: admin)
        var location = admin
        location.database = name
        return location
    }

    private static let server: Result<PostgresLocation, any Error> = Result {
        if let url = ProcessInfo.processInfo.environment["VEIL_TEST_POSTGRES_URL"], !url.isEmpty {
            return try PostgresLocation(url: url)
        }
        return try startPrivateCluster()
    }

    nonisolated(unsafe) private static var clusterFolder: String?

    private static func startPrivateCluster() throws -> PostgresLocation {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/postgres/cluster.sh").path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let port = try freePort()
        let output = try run(script, ["start", folder, String(port)])
        clusterFolder = folder
        atexit {
            guard let folder = PostgresTestServer.clusterFolder else { return }
            _ = try? PostgresTestServer.run(URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Tests/postgres/cluster.sh").path, ["stop", folder])
            try? FileManager.default.removeItem(atPath: folder)
        }
        guard let url = output.split(separator: "\n").last.map(String.init) else {
            throw Failure.cannotStart("cluster.sh printed no URL")
        }
        return try PostgresLocation(url: url)
    }

    /// Runs a script with bash and waits for it with `waitpid`. Foundation's `Process` is not used:
    /// its wait spins a run loop that never saw the exit when called from the tests' first use of
    /// the server (a lazy global), and pg_ctl's server would hold a pipe's write end open.
    @discardableResult
    static func run(_ script: String, _ arguments: [String]) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("veil-pg-run-\(UUID().uuidString)").path
        let outputPath = base + ".out", errorsPath = base + ".err"
        defer {
            unlink(outputPath)
            unlink(errorsPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = (["/bin/bash", script] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, "/bin/bash", &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure.cannotStart("posix_spawn: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let printed = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let complaint = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
        // A normal exit with status 0: WIFEXITED and WEXITSTATUS as the C macros compute them.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failure.cannotStart(complaint.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return printed
    }
}
