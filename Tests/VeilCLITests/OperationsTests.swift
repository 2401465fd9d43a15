import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VeilCore
import VeilStore
import VeilTestSupport

@Suite struct BackupTests {
    /// A writer keeps inserting while `veil backup` (another process) copies the file.
    @Test func backupUnderWriteLoadIsSoundAndRestores() async throws {
        let database = temporaryDatabasePath()
        let store = try Store(path: database)
        try store.migrate()
        try store.ensureSecrets()
        let user = try store.createUser(email: "owner@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id)
        let mailbox = try #require(user.defaultMailboxId)
        let writer = Task.detached {
            var written = 0
            while !Task.isCancelled {
                _ = try? store.createAlias(userId: userId, email: "load\(written)@veil.localhost", mailboxIds: [mailbox])
                written += 1
            }
            return written
        }
        try await Task.sleep(for: .milliseconds(200))
        let backup = database + ".backup"
        let result = try VeilProcess.run(["backup", "--database", database, "--output", backup])
        let written = await { writer.cancel(); return await writer.value }()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutLines.first?.hasPrefix("backup of \(database) written to \(backup)") == true)
        #expect(written > 10)

        #expect(!FileManager.default.fileExists(atPath: backup + "-wal"))
        let copy = try Store(path: backup)
        #expect(try copy.integrityCheck() == "ok")
        #expect(try copy.isFullyMigrated())
        let copied = try copy.aliasCount(userId: userId)
        #expect(copied > 0 && copied <= written + 1)

        // Restore into a fresh database: the same rows.
        let target = temporaryDatabasePath()
        let restored = try VeilProcess.run(["restore", "--database", target, "--input", backup])
        #expect(restored.status == 0 && restored.stdoutLines.last?.hasSuffix("integrity_check: ok") == true, "\(restored.stderr)")
        #expect(try Store(path: target).aliasCount(userId: userId) == copied)

        let garbage = database + ".garbage"
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: garbage))
        let refused = try VeilProcess.run(["restore", "--database", target, "--input", garbage])
        #expect(refused.status != 0 && refused.stderrLines.first?.hasPrefix("veil: cannot restore: ") == true)
        #expect(try Store(path: target).aliasCount(userId: userId) == copied)
    }

    @Test func pruneDeletesOldLogsAndNotificationsOnly() throws {
        let database = temporaryDatabasePath()
        let store = try Store(path: database)
        try store.migrate()
        let user = try store.createUser(email: "owner@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id)
        let alias = try store.createAlias(userId: userId, email: "a@veil.localhost", mailboxIds: [try #require(user.defaultMailboxId)])
        let old = Date().addingTimeInterval(-40 * 86_400)
        for index in 0..<2_500 {
            try store.insertEmailLog(EmailLog(userId: userId, aliasId: try #require(alias.id), contactId: nil, mailboxId: nil,
                                              isReply: false, blocked: false, messageId: nil,
                                              createdAt: index < 2_400 ? old : Date()))
        }
        try store.insertNotification(userId: userId, title: nil, message: "old", now: old)
        try store.insertNotification(userId: userId, title: nil, message: "new")
        let refused = try VeilProcess.run(["prune", "--database", database])
        #expect(refused.stderrLines == ["veil: nothing to prune: set --log-retention-days and/or --notification-retention-days"])
        let pruned = try VeilProcess.run(["prune", "--database", database, "--log-retention-days", "30"],
                                         environment: ["VEIL_NOTIFICATION_RETENTION_DAYS": "30"])
        #expect(pruned.stdoutLines == ["pruned 2400 email logs and 1 notifications"], "\(pruned.stderr)")
        #expect(try store.alias(email: "a@veil.localhost")?.nbForward == 100)
        #expect(try store.notificationPage(userId: userId, page: 0).items.map(\.message) == ["new"])
    }
}

@Suite struct DoctorTests {
    @Test func reportsInPlainWords() async throws {
        let database = temporaryDatabasePath()
        let sink = try await SMTPSink()
        let dns = try await DNSTestServer()
        #expect(try await VeilProcess.runDetached(["migrate", "--database", database]).status == 0)
        let common = ["--database", database, "--alias-domains", "veil.example", "--mx-hosts", "mx.veil.example",
                      "--dns-resolver", dns.address, "--port", "0", "--smtp-port", "0"]
        let good = try await VeilProcess.runDetached(["doctor", "--relay", "127.0.0.1:\(sink.port)"] + common)
        #expect(good.stdoutLines.contains { $0.hasPrefix("ok   database: \(database) reachable, migrated") })
        #expect(good.stdoutLines.contains("ok   relay: 127.0.0.1:\(sink.port) answers SMTP"))
        #expect(good.stdoutLines.contains { $0.hasPrefix("FAIL dns veil.example mx: no MX record") })
        #expect(good.stdoutLines.contains { $0.hasPrefix("FAIL dns veil.example dkim:") })
        #expect(good.status != 0)

        // Publish what Veil asks for: the DNS checks pass.
        let records = try await VeilProcess.runDetached(["domain", "dns", "--database", database, "--alias-domains", "veil.example"]).stdoutLines
        let dkim = try #require(records.first)
        let value = dkim.components(separatedBy: " IN TXT ").last?
            .split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element).joined() ?? ""
        dns.set("veil.example", [.mx(priority: 10, host: "mx.veil.example"), .txt("v=spf1 ip4:192.0.2.1 -all")])
        dns.set("veil._domainkey.veil.example", [.txt(value)])
        dns.set("_dmarc.veil.example", [.txt("v=DMARC1; p=quarantine")])
        let fixed = try await VeilProcess.runDetached(["doctor", "--relay", "127.0.0.1:\(sink.port)"] + common)
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        #expect(fixed.stdoutLines.last == "all checks passed")
        #expect(fixed.stdoutLines.contains("ok   dns veil.example dkim: veil._domainkey matches the instance key"))

        await sink.shutdown()
        let down = try await VeilProcess.runDetached(["doctor", "--relay", "127.0.0.1:\(sink.port)", "--skip-dns"] + common)
        #expect(down.stdoutLines.contains { $0.hasPrefix("FAIL relay: 127.0.0.1:\(sink.port) does not answer SMTP") })
        #expect(down.stderrLines == ["veil: 1 problem found"])
        let unmigrated = temporaryDatabasePath()
        _ = try Store(path: unmigrated)
        let fresh = try await VeilProcess.runDetached(["doctor", "--database", unmigrated, "--skip-dns", "--relay", "127.0.0.1:\(sink.port)"])
        #expect(fresh.stdoutLines.first?.contains("is not migrated") == true)
        await dns.shutdown()
    }
}
