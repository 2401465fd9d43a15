import ArgumentParser
import Foundation
import NIOSSL
import VeilAPI
import VeilCore
import VeilDNS
import VeilMail
import VeilMailHandler
import VeilSMTP
import VeilStore
import VeilServices

/// `veil doctor`: checks a deployment and says what is wrong in plain words.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a deployment: database, relay, ports, DNS records of every domain, TLS certificate.",
        discussion: "Each line starts with ok, warn or FAIL. Exits non-zero when something FAILs.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var api: APIOptions
    @OptionGroup var relay: RelayOptions
    @OptionGroup var smtp: SMTPOptions
    @Flag(name: .customLong("skip-dns"), help: "Do not look up DNS records") var skipDNS = false

    enum Verdict: String { case ok, warn, FAIL }

    func checkPostgres(_ location: PostgresLocation, report: Report) async {
        let store: PostgresStore
        do {
            store = try PostgresStore(location: location, maxConnections: 1)
        } catch {
            report.say(.FAIL, "database", "\(location): \(error)")
            return
        }
        do {
            let version = try await store.serverVersion()
            let applied = try await store.appliedMigrations()
            let missing = PostgresStore.migrationNames.filter { !applied.contains($0) }
            if missing.isEmpty {
                report.say(.ok, "database", "\(location) reachable (\(version.split(separator: " ").prefix(2).joined(separator: " "))), migrated (\(applied.last ?? ""))")
            } else {
                report.say(.FAIL, "database", "\(location) is not migrated (missing \(missing.joined(separator: ", "))); run 'veil migrate'")
            }
            report.say(.warn, "database", "the domain and key checks below need the SQLite store for now; they are skipped on PostgreSQL")
        } catch {
            report.say(.FAIL, "database", "\(location) does not answer: \(PostgresStore.explain(error))")
        }
        await store.close()
    }

    final class Report {
        var failures = 0
        func say(_ verdict: Verdict, _ subject: String, _ text: String) {
            if verdict == .FAIL { failures += 1 }
            print("\(verdict.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0)) \(subject): \(text)")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try global.settings()
        let report = Report()

        // Database.
        var store: Store?
        if case .postgres(let location) = settings.location {
            await checkPostgres(location, report: report)
        } else { do {
            let opened = try Store(path: settings.database)
            let applied = try opened.appliedMigrations()
            let missing = Store.migrationNames.filter { !applied.contains($0) }
            let check = try opened.integrityCheck()
            if !missing.isEmpty {
                report.say(.FAIL, "database", "\(settings.database) is not migrated (missing \(missing.joined(separator: ", "))); run 'veil migrate'")
            } else if check != "ok" {
                report.say(.FAIL, "database", "\(settings.database) fails integrity_check: \(check); restore a backup ('veil restore')")
            } else {
                report.say(.ok, "database", "\(settings.database) reachable, migrated (\(applied.last ?? "")), journal \(try opened.journalMode()), integrity ok")
                store = opened
            }
        } catch {
            report.say(.FAIL, "database", "\(error)")
        } }

        // Relay.
        let relayAddress = relay.relay ?? environment["VEIL_RELAY"] ?? "127.0.0.1:25"
        do {
            let client = try relay.client(heloName: settings.emailDomain, environment: environment)
            try await client.probe()
            client.shutdown()
            report.say(.ok, "relay", "\(relayAddress) answers SMTP")
        } catch {
            report.say(.FAIL, "relay", "\(relayAddress) does not answer SMTP (\(error)); Veil cannot send mail until it does")
        }

        // Ports.
        let apiHost = api.host ?? environment["VEIL_API_HOST"] ?? "127.0.0.1"
        let apiPort = api.port ?? environment["VEIL_API_PORT"].flatMap(Int.init) ?? 8080
        let smtpHost = smtp.smtpHost ?? environment["VEIL_SMTP_HOST"] ?? "127.0.0.1"
        let smtpPort = smtp.smtpPort ?? environment["VEIL_SMTP_PORT"].flatMap(Int.init) ?? 20381
        for (name, host, port) in [("api port", apiHost, apiPort), ("smtp port", smtpHost, smtpPort)] {
            switch Self.portState(host: host, port: port) {
            case .free: report.say(.ok, name, "\(host):\(port) is free")
            case .inUse: report.say(.warn, name, "\(host):\(port) is in use (fine if Veil is running; otherwise another program holds it)")
            case .unusable(let reason): report.say(.FAIL, name, "\(host):\(port) cannot be used: \(reason)")
            }
        }

        // TLS certificate.
        if let certificate = smtp.tlsCert ?? environment["VEIL_TLS_CERT"] {
            let key = smtp.tlsKey ?? environment["VEIL_TLS_KEY"]
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate)
                guard let leaf = chain.first else { throw CLIError("no certificate in the file") }
                if let key { _ = try NIOSSLPrivateKey(file: key, format: .pem) }
                let expiry = Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
                let days = Int(expiry.timeIntervalSinceNow / 86_400)
                if expiry < Date() {
                    report.say(.FAIL, "tls", "\(certificate) expired on \(ISO8601DateFormatter().string(from: expiry)); STARTTLS will fail")
                } else if days < 14 {
                    report.say(.warn, "tls", "\(certificate) expires in \(days) days")
                } else {
                    report.say(.ok, "tls", "\(certificate) valid until \(ISO8601DateFormatter().string(from: expiry))" + (key == nil ? "" : ", key readable"))
                }
            } catch {
                report.say(.FAIL, "tls", "\(certificate) or its key cannot be loaded: \(error)")
            }
        } else {
            report.say(.warn, "tls", "no certificate configured: the mail daemon does not offer STARTTLS (fine on loopback)")
        }

        // DNS of every domain.
        if !skipDNS, let store {
            let resolver = try settings.resolver()
            var own: [String] = []
            for candidate in settings.aliasDomains + [settings.emailDomain] where !own.contains(candidate) { own.append(candidate) }
            let keyring = try DKIMKeyring(store: store, ownDomains: own)
            for domain in own where !domain.hasSuffix(".localhost") {
                await checkOwnDomain(domain, keyring: keyring, store: store, settings: settings, resolver: resolver, report: report)
            }
            let manager = CustomDomainManager(store: store, configuration: settings.apiConfiguration(), resolver: resolver)
            for custom in try store.allCustomDomains() {
                let outcome = await DomainVerifier(resolver: resolver).verify(manager.records(for: custom), dkimSelector: custom.dkimSelector)
                for check in DomainRecords.Check.allCases {
                    let subject = "dns \(custom.domain) \(check.rawValue)"
                    if let error = outcome.errors[check] { report.say(.warn, subject, "lookup failed: \(error)") }
                    else if outcome.ok(check) { report.say(.ok, subject, "published as expected") }
                    else {
                        let expected = manager.records(for: custom).records.filter { $0.check == check }.map(\.zoneLine).joined(separator: " | ")
                        let found = (outcome.found[check] ?? []).joined(separator: " | ")
                        report.say(check == .ownership || check == .mx ? .FAIL : .warn, subject,
                                   "expected \(expected); found \(found.isEmpty ? "nothing" : found)")
                    }
                }
            }
        }

        if report.failures > 0 { throw CLIError("\(report.failures) problem\(report.failures == 1 ? "" : "s") found") }
        print("all checks passed")
    }

    func checkOwnDomain(_ domain: String, keyring: DKIMKeyring, store: Store, settings: Settings, resolver: SystemResolver, report: Report) async {
        do {
            let mx = try await resolver.mx(domain).map(\.host)
            if mx.isEmpty { report.say(.FAIL, "dns \(domain) mx", "no MX record: mail to the domain cannot arrive (expected \(settings.mxHosts.joined(separator: ", ")))") }
            else if mx.contains(where: { settings.mxHosts.contains($0.lowercased()) }) { report.say(.ok, "dns \(domain) mx", mx.joined(separator: ", ")) }
            else { report.say(.warn, "dns \(domain) mx", "\(mx.joined(separator: ", ")), none of \(settings.mxHosts.joined(separator: ", "))") }

            let txt = try await resolver.txt(domain)
            let spf = txt.filter { $0.lowercased().hasPrefix("v=spf1") }
            if spf.count == 1 { report.say(.ok, "dns \(domain) spf", spf[0]) }
            else { report.say(.warn, "dns \(domain) spf", spf.isEmpty ? "no SPF record: receivers may treat forwarded mail as spam" : "\(spf.count) SPF records (must be one)") }

            if let signer = try keyring.signers(for: domain, store: store).last {
                let published = try await resolver.txt("\(signer.selector)._domainkey.\(domain)")
                let expectedKey = signer.dnsRecord.components(separatedBy: "p=").last ?? ""
                if published.contains(where: { $0.replacingOccurrences(of: " ", with: "").hasSuffix("p=" + expectedKey) }) {
                    report.say(.ok, "dns \(domain) dkim", "\(signer.selector)._domainkey matches the instance key")
                } else {
                    report.say(.FAIL, "dns \(domain) dkim", "\(signer.selector)._domainkey does not hold Veil's key; publish what 'veil domain dns \(domain)' prints")
                }
            }
            let dmarc = try await resolver.txt("_dmarc.\(domain)").filter { $0.hasPrefix("v=DMARC1") }
            if dmarc.isEmpty { report.say(.warn, "dns \(domain) dmarc", "no DMARC record") }
            else { report.say(.ok, "dns \(domain) dmarc", dmarc[0]) }
        } catch {
            report.say(.warn, "dns \(domain)", "lookup failed: \(error)")
        }
    }

    enum PortState { case free, inUse, unusable(String) }

    /// Tries to bind the address, as the daemon would.
    static func portState(host: String, port: Int) -> PortState {
        guard (0...65_535).contains(port) else { return .unusable("not a port") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            return .unusable("\(host) is not an IPv4 address")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return .unusable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == 0 { return .free }
        return errno == EADDRINUSE ? .inUse : .unusable(String(cString: strerror(errno)))
    }
}
