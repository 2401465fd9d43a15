import ArgumentParser
import Foundation
import VeilAPI
import VeilCore
import VeilDNS
import VeilMail
import VeilMailHandler
import VeilStore
import VeilServices

struct DomainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Domains Veil serves: custom domains and DNS records.",
        subcommands: [DomainAdd.self, DomainVerify.self, DomainList.self, DomainDNS.self])
}

/// The user named by `--user`, or a one-line error.
func requireUser(_ store: Store, email raw: String) throws -> (User, Int64) {
    let email = EmailAddress.sanitize(raw)
    guard let user = try store.user(email: email), let id = user.id else { throw CLIError("no user \(email)") }
    return (user, id)
}

func domainManager(_ settings: Settings, _ store: Store) throws -> CustomDomainManager {
    CustomDomainManager(store: store, configuration: settings.apiConfiguration(), resolver: try settings.resolver())
}

/// `veil domain add --user E DOMAIN`
struct DomainAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a custom domain for a user, with its own DKIM key, and print the records to publish.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Owner of the domain (an existing user)") var user: String
    @Argument(help: "The domain, e.g. example.org") var domain: String

    func run() async throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        let (owner, ownerId) = try requireUser(store, email: user)
        let manager = try domainManager(settings, store)
        let added: CustomDomain
        do {
            added = try await manager.add(domain, user: owner, userId: ownerId)
        } catch let refusal as CustomDomainManager.Refusal {
            throw CLIError(refusal.message)
        }
        print("; \(added.domain) added for \(EmailAddress.sanitize(user)) (id \(added.id ?? 0)); publish these records, then run 'veil domain verify \(added.domain)':")
        for record in manager.records(for: added).records { print(record.zoneLine) }
    }
}

/// `veil domain verify DOMAIN`
struct DomainVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Look up a custom domain's DNS records and store which ones are right.",
        discussion: "Exits non-zero when the domain cannot receive mail yet (ownership or MX missing).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The custom domain") var domain: String

    func run() async throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        let name = CustomDomainManager.normalize(domain)
        guard let stored = try store.customDomain(named: name) else { throw CLIError("no custom domain \(name)") }
        let (checked, outcome) = try await domainManager(settings, store).verify(stored)
        for check in DomainRecords.Check.allCases {
            let verdict = outcome.errors[check].map { "unknown (\($0))" } ?? (outcome.ok(check) ? "ok" : "missing or wrong")
            let found = (outcome.found[check] ?? []).map { "\"\($0)\"" }.joined(separator: ", ")
            print("\(check.rawValue): \(verdict)" + (found.isEmpty ? "" : "; found \(found)"))
        }
        guard checked.verified else { throw CLIError("\(name) is not verified yet: publish the records 'veil domain dns \(name)' prints") }
        print("\(name) is verified")
    }
}

/// `veil domain list [--user E]`
struct DomainList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List custom domains and their check results.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this user's domains") var user: String?

    func run() throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        var domains = try store.allCustomDomains()
        if let user {
            let (_, id) = try requireUser(store, email: user)
            domains = domains.filter { $0.userId == id }
        }
        let owners = Dictionary(try store.listUsers().compactMap { summary in summary.user.id.map { ($0, summary.user.email) } }, uniquingKeysWith: { first, _ in first })
        print("domain\towner\tverified\tmx\tspf\tdkim\tdmarc\tcatch_all")
        for domain in domains {
            let flags = [domain.verified, domain.mxVerified, domain.spfVerified, domain.dkimVerified, domain.dmarcVerified, domain.catchAll]
            print(([domain.domain, owners[domain.userId] ?? "?"] + flags.map { $0 ? "yes" : "no" }).joined(separator: "\t"))
        }
    }
}

/// `veil domain dns [DOMAIN]`: the records to publish, in zone-file form.
struct DomainDNS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Print the DNS records of each domain Veil serves (or of DOMAIN), in zone-file form.",
        discussion: "Veil's own domains: the DKIM record of the instance key, generated on first start. A custom domain: every record it must publish (ownership, MX, SPF, its own DKIM key, DMARC).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this domain") var domain: String?
    @Flag(name: .customLong("dkim-ed25519"), help: "Also the Ed25519 record (RFC 8463). Env: VEIL_DKIM_ED25519=on")
    var dkimEd25519 = false

    func run() throws {
        let settings = try global.settings()
        let store = try openStore(settings)
        var own: [String] = []
        for candidate in settings.aliasDomains + [settings.emailDomain] where !own.contains(candidate) { own.append(candidate) }
        let ed25519 = dkimEd25519 || (ProcessInfo.processInfo.environment["VEIL_DKIM_ED25519"] ?? "off").lowercased() == "on"
        let keyring = try DKIMKeyring(store: store, ownDomains: own, ed25519: ed25519)
        let custom = try store.allCustomDomains().filter { !own.contains($0.domain) }
        var names = own + custom.map(\.domain)
        if let domain {
            let wanted = CustomDomainManager.normalize(domain)
            guard names.contains(wanted) else { throw CLIError("veil does not serve \(domain)") }
            names = [wanted]
        }
        let manager = try domainManager(settings, store)
        for name in names {
            if let customDomain = custom.first(where: { $0.domain == name }) {
                for record in manager.records(for: customDomain).records { print(record.zoneLine) }
                continue
            }
            // RSA first: the record every verifier needs.
            for signer in try keyring.signers(for: name, store: store).reversed() {
                print("\(signer.selector)._domainkey.\(name). IN TXT \(DomainRecords.Record.characterStrings(signer.dnsRecord))")
            }
        }
    }
}
