import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VeilCore
import VeilStore
import VeilTestSupport

/// `veil serve` as a real process on a real port.
@Suite struct ServeTests {
    /// The first line a TCP server on loopback sends.
    func greeting(port: Int) throws -> String {
        guard let fd = LoopbackSocket.connect(port: port) else { return "connect failed" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &buffer, buffer.count)
        return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
    }

    @Test func servesTheAPIPrintsTheAdminKeyOnceAndStopsOnSIGTERM() async throws {
        let database = temporaryDatabasePath()
        let port = try freePort()
        let smtpPort = try freePort()
        let process = Process()
        process.executableURL = VeilProcess.binary
        process.arguments = ["serve", "--database", database, "--port", String(port), "--smtp-port", String(smtpPort),
                             "--admin-email", "admin@example.com"]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VEIL_") }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Never hang the suite: a silent server is stopped, which closes the pipe.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer { watchdog.cancel() }

        // The first line names the admin's key.
        var firstLine = Data()
        while !firstLine.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            firstLine.append(chunk)
        }
        let line = String(decoding: firstLine, as: UTF8.self)
        #expect(line.hasPrefix("admin user admin@example.com created; API key: "))
        let key = String(line.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.count == 60)

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/user_info")!)
        request.setValue(key, forHTTPHeaderField: "Authentication")
        var answer: (Data, URLResponse)?
        for _ in 0..<100 where answer == nil {
            answer = try? await URLSession.shared.data(for: request)
            if answer == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let (body, response) = try #require(answer)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("\"email\": \"admin@example.com\""))

        // The mail daemon answers on its port in the same process.
        #expect(try greeting(port: smtpPort).hasPrefix("220 veil.localhost ESMTP"))

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        // A second start does not create the admin again.
        let again = try VeilProcess.run(["user", "list", "--database", database])
        #expect(again.stdoutLines.filter { $0.contains("admin@example.com") }.count == 1)
        // The user sees the dashboard's admin pages.
        #expect(try Store(path: database).user(email: "admin@example.com")?.isAdmin == true)
    }
}
