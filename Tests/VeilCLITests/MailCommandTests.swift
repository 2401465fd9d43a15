import Foundation
import Testing

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
