import Foundation
import Testing
import VeilCore
import VeilStore
import VeilTestSupport

@Suite struct MailCommandTests {
    @Test func postfixConfigNamesEveryDomainAndTheTwoPorts() throws {
        let result = try VeilProcess.run(["postfix-config", "--alias-domains", "a.example,b.example", "--email-domain", "mail.example",
                                          "--smtp-port", "2099", "--reinjection-port", "10099"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutLines.contains("relay_domains = a.example, b.example, mail.example"))
        #expect(result.stdoutLines.contains(
            "transport_maps = inline:{ a.example=veil:[127.0.0.1]:2099 b.example=veil:[127.0.0.1]:2099 mail.example=veil:[127.0.0.1]:2099 }"))
        #expect(result.stdoutLines.contains { $0.hasPrefix("127.0.0.1:10099 inet") })
        #expect(result.stdoutLines.contains { $0.hasPrefix("veil ") && $0.hasSuffix(" smtp") })
        let lmtp = try VeilProcess.run(["postfix-config", "--lmtp"])
        #expect(lmtp.stdoutLines.contains { $0.hasPrefix("veil ") && $0.hasSuffix(" lmtp") })
    }

    @Test func domainDNSPrintsOneStableKeyForEveryOwnDomain() throws {
        let database = temporaryDatabasePath()
        let arguments = ["domain", "dns", "--database", database, "--alias-domains", "a.example,b.example"]
        let first = try VeilProcess.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdoutLines.count == 2)
        #expect(first.stdoutLines.first?.hasPrefix("veil._domainkey.a.example. IN TXT \"v=DKIM1; k=rsa; p=MIIB") == true)
        #expect(first.stdoutLines.last?.hasPrefix("veil._domainkey.b.example. IN TXT ") == true)
        // Zone-file strings are at most 255 octets.
        let strings = (first.stdoutLines.first ?? "").split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        #expect(strings.count == 2 && strings.allSatisfy { $0.count <= 255 })
        // The key is generated once and kept.
        #expect(try VeilProcess.run(arguments).stdoutLines == first.stdoutLines)
        let one = try VeilProcess.run(arguments + ["b.example"])
        #expect(one.stdoutLines == [first.stdoutLines[1]])
        let unknown = try VeilProcess.run(arguments + ["elsewhere.example"])
        #expect(unknown.status != 0 && unknown.stderrLines == ["veil: veil does not serve elsewhere.example"])
    }

    @Test func smtpdRefusesBadOptionsInOneLine() throws {
        let database = temporaryDatabasePath()
        for arguments in [["--smtp-port", "70000"], ["--relay", "nowhere"], ["--tls-cert", "/nonexistent.pem"],
                          ["--max-recipients", "0"]] {
            let result = try VeilProcess.run(["smtpd", "--database", database] + arguments)
            #expect(result.status != 0)
            #expect(result.stderrLines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("veil: "))
        }
    }
}

@Suite struct DomainCommandTests {
    @Test func addVerifyListAgainstALoopbackDNSServer() async throws {
        let dns = try await DNSTestServer()
        let database = temporaryDatabasePath()
        let common = ["--database", database, "--alias-domains", "veil.example", "--mx-hosts", "mx.veil.example",
                      "--dns-resolver", dns.address]
        #expect(try VeilProcess.run(["user", "create", "--email", "owner@example.com", "--premium"] + common).status == 0)
        let added = try VeilProcess.run(["domain", "add", "--user", "owner@example.com", "Owned.Example"] + common)
        #expect(added.status == 0, "\(added.stderr)")
        let records = added.stdoutLines.filter { !$0.hasPrefix(";") }
        #expect(records.count == 5)
        #expect(records.contains("owned.example. IN MX 10 mx.veil.example."))
        #expect(records.contains(#"owned.example. IN TXT "v=spf1 include:veil.example ~all""#))
        #expect(try VeilProcess.run(["domain", "dns", "owned.example"] + common).stdoutLines == records)

        let failed = try VeilProcess.run(["domain", "verify", "owned.example"] + common)
        #expect(failed.status != 0 && failed.stdoutLines.contains("mx: missing or wrong"))
        #expect(failed.stderrLines.last?.hasPrefix("veil: owned.example is not verified yet") == true)

        // Publish exactly what `add` printed.
        func value(_ line: String) -> String {
            line.components(separatedBy: " IN TXT ").last.map { $0.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element).joined() } ?? ""
        }
        let txt = records.filter { $0.hasPrefix("owned.example. IN TXT") }.map { DNSTestServer.Record.txt(value($0)) }
        dns.set("owned.example", txt + [.mx(priority: 10, host: "mx.veil.example")])
        for line in records where line.hasPrefix("veil._domainkey") { dns.set("veil._domainkey.owned.example", [.txt(value(line))]) }
        for line in records where line.hasPrefix("_dmarc") { dns.set("_dmarc.owned.example", [.txt(value(line))]) }
        let verified = try VeilProcess.run(["domain", "verify", "owned.example"] + common)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdoutLines.filter { $0.contains(": ok") }.count == 5)
        let listed = try VeilProcess.run(["domain", "list", "--user", "owner@example.com"] + common)
        #expect(listed.stdoutLines.last == "owned.example\towner@example.com\tyes\tyes\tyes\tyes\tyes\tno")

        let duplicate = try VeilProcess.run(["domain", "add", "--user", "owner@example.com", "owned.example"] + common)
        #expect(duplicate.status != 0 && duplicate.stderrLines == ["veil: owned.example already used"])
        let nobody = try VeilProcess.run(["domain", "add", "--user", "nobody@example.com", "x.example"] + common)
        #expect(nobody.stderrLines == ["veil: no user nobody@example.com"])
        await dns.shutdown()
    }
}

@Suite struct ImportExportCommandTests {
    @Test func importWithProgressThenExportGivesTheSameFile() throws {
        let database = temporaryDatabasePath()
        let common = ["--database", database, "--alias-domains", "veil.example"]
        #expect(try VeilProcess.run(["user", "create", "--email", "owner@example.com", "--premium"] + common).status == 0)
        #expect(try VeilProcess.run(["domain", "add", "--user", "owner@example.com", "mine.example"] + common).status == 0)
        let store = try Store(path: database)
        let domainId = try #require(try store.customDomain(named: "mine.example")?.id)
        let ownerId = try #require(try store.user(email: "owner@example.com")?.id)
        try store.updateCustomDomain(id: domainId, userId: ownerId) { $0.verified = true }

        var csv = "alias,note,enabled,mailboxes\r\n"
        for index in 0..<250 {
            csv += CSV.line(["a\(index)@mine.example", index % 3 == 0 ? "note \(index), \"quoted\"\nline" : "", index % 2 == 0 ? "True" : "False",
                             "owner@example.com"])
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("veil-import-\(UUID().uuidString).csv")
        try Data(csv.utf8).write(to: input)
        let imported = try VeilProcess.run(["import", "aliases", "--user", "owner@example.com", input.path] + common)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdoutLines.last == "created 250, skipped 0")
        #expect(imported.stderrLines.first == "imported 100/250" && imported.stderrLines.last == "imported 250/250")

        let output = input.deletingPathExtension().appendingPathExtension("out.csv")
        let exported = try VeilProcess.run(["export", "aliases", "--user", "owner@example.com", "--output", output.path] + common)
        #expect(exported.status == 0 && exported.stderrLines == ["exported 250 aliases to \(output.path)"])
        #expect(try String(contentsOf: output, encoding: .utf8) == csv)
        let toStdout = try VeilProcess.run(["export", "aliases", "--user", "owner@example.com"] + common)
        #expect(toStdout.stdout == csv)

        let again = try VeilProcess.run(["import", "aliases", "--user", "owner@example.com", input.path] + common)
        #expect(again.stdoutLines.last == "created 0, skipped 250" && again.stdoutLines.first == "line 2: a0@mine.example: a0@mine.example already exists")
        let missing = try VeilProcess.run(["import", "aliases", "--user", "owner@example.com", "/nonexistent.csv"] + common)
        #expect(missing.status != 0 && missing.stderrLines == ["veil: cannot read /nonexistent.csv"])
    }
}

@Suite struct PhoneAndCodeCommandTests {
    @Test func addNumberReserveAndList() throws {
        let database = temporaryDatabasePath()
        let common = ["--database", database]
        #expect(try VeilProcess.run(["user", "create", "--email", "owner@example.com"] + common).status == 0)
        let added = try VeilProcess.run(["phone", "add-number", "+15550001111", "--country", "United States"] + common)
        #expect(added.status == 0 && added.stdoutLines.first?.hasPrefix("number +15550001111 added") == true, "\(added.stderr)")
        #expect(try VeilProcess.run(["phone", "add-number", "5550001111", "--country", "US"] + common).stderrLines
            == ["veil: 5550001111 is not an E.164 number (+ and 7 to 15 digits)"])
        #expect(try VeilProcess.run(["phone", "add-number", "+15550001111", "--country", "US"] + common).stderrLines
            == ["veil: number +15550001111 already exists"])
        let reserved = try VeilProcess.run(["phone", "reserve", "--user", "owner@example.com", "+15550001111", "--minutes", "30"] + common)
        #expect(reserved.status == 0 && reserved.stdoutLines.first?.hasPrefix("reservation 1: +15550001111 for owner@example.com until ") == true)
        let overlapping = try VeilProcess.run(["phone", "reserve", "--user", "owner@example.com", "+15550001111"] + common)
        #expect(overlapping.stderrLines == ["veil: +15550001111 is already reserved in that period"])
        #expect(try VeilProcess.run(["phone", "numbers"] + common).stdoutLines.last == "1\t+15550001111\tUnited States\tgeneric\tyes")
    }

    @Test func codesListFiltersSortsAndPages() throws {
        let database = temporaryDatabasePath()
        let store = try Store(path: database)
        try store.migrate()
        try store.ensureSecrets()
        let policy = CodePolicy.passwordReset
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        for index in 0..<15 {
            _ = try store.issueCode(purpose: .phoneVerification, policy: policy, userId: nil, channel: .sms,
                                    recipient: "+1555000\(1000 + index)", now: base.addingTimeInterval(TimeInterval(index * 60)))
        }
        let common = ["--database", database, "--from", "2023-11-14T00:00:00Z", "--to", "2023-11-15T00:00:00Z"]
        let listed = try VeilProcess.run(["codes", "list", "--limit", "10", "--way", "desc"] + common)
        #expect(listed.status == 0, "\(listed.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])
        let data = try #require(json["data"] as? [String: Any])
        let list = try #require(data["list"] as? [[String: Any]])
        #expect(data["total"] as? Int == 15 && list.count == 10)
        #expect(list.first?["recipient"] as? String == "+15550001014" && list.first?["status"] as? String == "expired")
        #expect(list.first?["channel"] as? String == "sms" && list.first?["created_at"] as? String == "2023-11-14 22:27:20")
        // Each new code for the same purpose and user cancels the pending one before it.
        let page = try VeilProcess.run(["codes", "list", "--offset", "10", "--status", "canceled", "--channel", "sms"] + common)
        let pageData = (try JSONSerialization.jsonObject(with: Data(page.stdout.utf8)) as? [String: Any])?["data"] as? [String: Any]
        #expect(pageData?["total"] as? Int == 14 && (pageData?["list"] as? [Any])?.count == 4)
        let none = try VeilProcess.run(["codes", "list", "--status", "verified"] + common)
        #expect(none.stdout.contains("\"total\" : 0"))
        for (arguments, message) in [(["--limit", "5"], "veil: --limit must be between 10 and 500"),
                                     (["--status", "done"], "veil: --status must be one of pending, verified, expired, failed, canceled"),
                                     (["--ids", "1,2,3,4"], "veil: --ids takes up to 3 comma-separated ids"),
                                     (["--sort", "price"], "veil: --sort must be one of id, status, channel, recipient, created_at, finished_at")] {
            #expect(try VeilProcess.run(["codes", "list"] + arguments + common).stderrLines == [message])
        }
    }
}
