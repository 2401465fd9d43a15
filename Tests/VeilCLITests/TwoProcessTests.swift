import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VeilSMTP
import VeilTestSupport

/// The production shape: `veil api` and `veil smtpd` as two processes over one database file,
/// started with the commands of deploy/systemd/ (migrate first, then the daemon).
@Suite struct TwoProcessTests {
    func call(_ method: String, _ url: String, key: String) async throws -> (Int, String) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.setValue(key, forHTTPHeaderField: "Authentication")
        for _ in 0..<100 {
            if let (data, response) = try? await URLSession.shared.data(for: request) {
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (0, "")
    }

    @Test func apiAndSmtpdShareOneDatabase() async throws {
        let database = temporaryDatabasePath()
        let sink = try await SMTPSink()
        let apiPort = try freePort(), smtpPort = try freePort(), healthPort = try freePort()
        let common = ["--database", database, "--alias-domains", "veil.localhost", "--relay", "127.0.0.1:\(sink.port)"]
        #expect(try await VeilProcess.runDetached(["migrate", "--database", database]).status == 0)
        let created = try await VeilProcess.runDetached(["user", "create", "--email", "owner@example.com", "--premium", "--database", database])
        let key = try #require(created.stdoutLines.first)

        let apiLog = URL(fileURLWithPath: database + ".api.log")
        let api = try VeilProcess.start(["api", "--port", String(apiPort)] + common, environment: ["VEIL_LOG_FORMAT": "json"], log: apiLog)
        let smtpdLog = URL(fileURLWithPath: database + ".smtpd.log")
        let smtpd = try VeilProcess.start(["smtpd", "--smtp-port", String(smtpPort), "--health-port", String(healthPort)] + common, log: smtpdLog)
        defer { for process in [api, smtpd] where process.isRunning { process.terminate() } }

        let (status, body) = try await call("POST", "http://127.0.0.1:\(apiPort)/api/alias/random/new", key: key)
        #expect(status == 201)
        let alias = try #require(body.range(of: #""alias": "([^"]+)""#, options: .regularExpression).map { String(body[$0]).split(separator: "\"")[2] })
        let aliasId = try #require(body.range(of: #""id": [0-9]+"#, options: .regularExpression).map { String(body[$0].dropFirst(6)) })

        // The mail daemon, another process, knows the alias the API just created.
        var reply: SMTPReply?
        let client = SMTPClient(host: "127.0.0.1", port: smtpPort)
        for _ in 0..<100 where reply == nil {
            reply = try? await client.send(from: "sender@example.net", to: [String(alias)], message: Array("""
                From: Sender <sender@example.net>\r
                To: \(alias)\r
                Subject: two processes\r
                Message-ID: <two-processes@example.net>\r
                \r
                Hello\r

                """.utf8))
            if reply == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        client.shutdown()
        #expect(reply?.code == 250)
        let forwarded = try await sink.waitForMessages(1)
        #expect(forwarded.first?.recipients == ["owner@example.com"])
        #expect(forwarded.first?.data.contains("Subject: two processes") == true)

        // And the API, reading the same file, shows the forward.
        let (activityStatus, activities) = try await call("GET", "http://127.0.0.1:\(apiPort)/api/aliases/\(aliasId)/activities?page_id=0", key: key)
        #expect(activityStatus == 200 && activities.contains(#""action": "forward""#) && activities.contains("sender@example.net"))

        // Health and metrics of both processes.
        let (healthStatus, health) = try await call("GET", "http://127.0.0.1:\(healthPort)/health", key: "")
        #expect(healthStatus == 200 && health.hasPrefix(#"{"status": "ok", "smtp_sessions_open": "#))
        let (_, mailMetrics) = try await call("GET", "http://127.0.0.1:\(healthPort)/metrics", key: "")
        #expect(mailMetrics.contains(#"veil_messages_total{outcome="forwarded"} 1"#), "\(mailMetrics)")
        #expect(mailMetrics.contains("veil_messages_received_total 1"))
        #expect(mailMetrics.contains("veil_relay_duration_seconds_bucket"))
        #expect(mailMetrics.contains("veil_smtp_sessions_total"))
        let (_, apiMetrics) = try await call("GET", "http://127.0.0.1:\(apiPort)/metrics", key: "")
        #expect(apiMetrics.contains("hb_requests{") && apiMetrics.contains(#"http_route="/api/alias/random/new""#), "\(apiMetrics)")
        #expect(apiMetrics.contains("http_server_request_duration_bucket"))

        for process in [api, smtpd] {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        // One JSON object per line, a line per request, and never the API key.
        let lines = try String(contentsOf: apiLog, encoding: .utf8).split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] })
        #expect(lines.contains { $0.contains(#""msg":"http request""#) && $0.contains(#""path":"/api/alias/random/new""#) && $0.contains(#""status":"201""#) })
        #expect(!lines.contains { $0.contains(key) })
        // The mail daemon's logfmt line of the transaction names the relay's answer.
        let mailLines = try String(contentsOf: smtpdLog, encoding: .utf8).split(separator: "\n")
        #expect(mailLines.contains { $0.contains("msg=message") && $0.contains("outcome=E200") && $0.contains(#"relay="250"#) },
                "\(mailLines)")
        await sink.shutdown()
    }
}

@Suite struct ReloadTests {
    /// `openssl` makes a self-signed certificate for `name` in `directory`.
    func certificate(_ name: String, in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
                             "-keyout", directory.appendingPathComponent("key.pem").path,
                             "-out", directory.appendingPathComponent("cert.pem").path]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    /// The subject of the certificate the server presents after STARTTLS.
    func presentedSubject(port: Int) throws -> String {
        let script = "openssl s_client -starttls smtp -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -subject"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func sighupReloadsTheCertificateAndKeepsServing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("veil-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try certificate("first.example", in: directory)
        let smtpPort = try freePort()
        let process = try VeilProcess.start(["smtpd", "--database", temporaryDatabasePath(), "--smtp-port", String(smtpPort),
                                             "--health-port", "0", "--tls-cert", directory.appendingPathComponent("cert.pem").path,
                                             "--tls-key", directory.appendingPathComponent("key.pem").path])
        defer { if process.isRunning { process.terminate() } }
        var subject = ""
        for _ in 0..<100 where !subject.contains("first.example") {
            subject = try presentedSubject(port: smtpPort)
            if !subject.contains("first.example") { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(subject.contains("CN = first.example") || subject.contains("CN=first.example"), "\(subject)")

        try certificate("second.example", in: directory)
        kill(process.processIdentifier, SIGHUP)
        for _ in 0..<50 where !subject.contains("second.example") {
            try await Task.sleep(for: .milliseconds(100))
            subject = try presentedSubject(port: smtpPort)
        }
        #expect(subject.contains("second.example"), "\(subject)")
        #expect(process.isRunning)

        // A broken file on the next reload keeps the current certificate.
        try Data("broken".utf8).write(to: directory.appendingPathComponent("cert.pem"))
        kill(process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try presentedSubject(port: smtpPort).contains("second.example"))

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
