import ArgumentParser
import Foundation
import VeilCore
import VeilMail
import VeilMailHandler
import VeilStore

struct DomainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Domains Veil serves.", subcommands: [DomainDNS.self])
}

/// `veil domain dns [DOMAIN]`: the DKIM records to publish, in zone-file form.
struct DomainDNS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Print the DKIM TXT record of each domain Veil serves (or of DOMAIN), in zone-file form.",
        discussion: "Veil's own domains share the instance key, generated on first start; a custom domain has its own.")

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
        let custom = try store.allCustomDomains().map(\.domain)
        var domains = own + custom.filter { !own.contains($0) }
        if let domain {
            let wanted = domain.lowercased().trimmingCharacters(in: ["."])
            guard domains.contains(wanted) else { throw CLIError("veil does not serve \(domain)") }
            domains = [wanted]
        }
        for name in domains {
            let signers = try keyring.signers(for: name, store: store)
            if signers.isEmpty { print("; \(name): no DKIM key yet (custom domain not verified)") }
            // RSA first: the record every verifier needs.
            for signer in signers.reversed() {
                print("\(signer.selector)._domainkey.\(name). IN TXT \(Self.zoneStrings(signer.dnsRecord))")
            }
        }
    }

    /// A TXT value as zone-file character-strings of at most 255 octets each.
    static func zoneStrings(_ text: String) -> String {
        var chunks: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            chunks.append("\"" + rest.prefix(255) + "\"")
            rest = rest.dropFirst(255)
        }
        return chunks.joined(separator: " ")
    }
}
