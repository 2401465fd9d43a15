import ArgumentParser
import Configuration
import Foundation
import VeilAPI
import VeilCore
import VeilDNS
import VeilServices
import VeilStore

/// Options every command shares. Each flag has an environment-variable twin (`--alias-domains` ↔
/// `VEIL_ALIAS_DOMAINS`); a flag wins over the environment, the environment over the default.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "SQLite file (a path or sqlite:PATH) or postgres://user:password@host:port/database. Env: VEIL_DATABASE. Default: ./data/veil.sqlite")
    var database: String?

    @Option(name: .customLong("alias-domains"),
            help: "Comma-separated built-in alias domains, in the order offered. Env: VEIL_ALIAS_DOMAINS. Default: veil.localhost")
    var aliasDomains: String?

    @Option(name: .customLong("email-domain"),
            help: "Veil's own domain (reverse-aliases, notices). Env: VEIL_EMAIL_DOMAIN. Default: the first alias domain")
    var emailDomain: String?

    @Option(name: .customLong("url"), help: "Public URL of the API, used in links. Env: VEIL_URL. Default: http://127.0.0.1:8080")
    var url: String?

    @Option(name: .customLong("max-aliases-free"),
            help: "Aliases a free account may have. Env: VEIL_MAX_ALIASES_FREE. Default: 5")
    var maxAliasesFree: Int?

    @Option(name: .customLong("mx-hosts"),
            help: "Comma-separated hosts custom domains point their MX at. Env: VEIL_MX_HOSTS. Default: the email domain")
    var mxHosts: String?

    @Option(name: .customLong("dns-resolver"),
            help: "DNS server (IPv4[:port]) for domain checks. Env: VEIL_DNS_RESOLVER. Default: the system's (/etc/resolv.conf)")
    var dnsResolver: String?

    func settings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let database { values["veil.database"] = .init(.string(database), isSecret: false) }
        if let aliasDomains { values["veil.aliasDomains"] = .init(.string(aliasDomains), isSecret: false) }
        if let emailDomain { values["veil.emailDomain"] = .init(.string(emailDomain), isSecret: false) }
        if let url { values["veil.url"] = .init(.string(url), isSecret: false) }
        if let maxAliasesFree { values["veil.maxAliasesFree"] = .init(.int(maxAliasesFree), isSecret: false) }
        if let mxHosts { values["veil.mxHosts"] = .init(.string(mxHosts), isSecret: false) }
        if let dnsResolver { values["veil.dnsResolver"] = .init(.string(dnsResolver), isSecret: false) }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ])
        return try Settings(reader: reader)
    }
}

/// The resolved configuration of one run.
struct Settings: Sendable {
    /// As given, for messages; `location` is what it names.
    var database: String
    var location: DatabaseLocation
    var aliasDomains: [String]
    var emailDomain: String
    var url: String
    var maxAliasesFree: Int
    var mxHosts: [String]
    var dnsResolver: String?

    init(reader: ConfigReader) throws {
        database = reader.string(forKey: "veil.database", default: "./data/veil.sqlite")
        do {
            location = try DatabaseLocation(parsing: database)
        } catch {
            throw CLIError("--database: \(error)")
        }
        if case .postgres = location { database = location.description }
        let domains = reader.string(forKey: "veil.aliasDomains", default: "veil.localhost")
            .split(separator: ",").map { EmailAddress.sanitize(String($0)) }.filter { !$0.isEmpty }
        for domain in domains where !EmailAddress.isValidDomain(domain) && !domain.hasSuffix(".localhost") {
            throw CLIError("invalid alias domain: \(domain)")
        }
        guard !domains.isEmpty else { throw CLIError("no alias domain configured") }
        aliasDomains = domains
        emailDomain = EmailAddress.sanitize(reader.string(forKey: "veil.emailDomain", default: domains[0]))
        url = reader.string(forKey: "veil.url", default: "http://127.0.0.1:8080")
        maxAliasesFree = reader.int(forKey: "veil.maxAliasesFree", default: 5)
        guard maxAliasesFree >= 0 else { throw CLIError("--max-aliases-free must be 0 or more") }
        mxHosts = reader.string(forKey: "veil.mxHosts", default: emailDomain)
            .split(separator: ",").map { EmailAddress.sanitize(String($0)).trimmingCharacters(in: ["."]) }.filter { !$0.isEmpty }
        for host in mxHosts where !EmailAddress.isValidDomain(host) && !host.hasSuffix(".localhost") {
            throw CLIError("invalid MX host: \(host)")
        }
        dnsResolver = reader.string(forKey: "veil.dnsResolver")
        do {
            _ = try SystemResolver(address: dnsResolver)
        } catch {
            throw CLIError("invalid --dns-resolver: \(error)")
        }
    }
}

/// An error the command line reports as one line on stderr.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Settings {
    /// The API configuration these settings describe.
    func apiConfiguration(rateLimits: Bool = true) -> ServiceConfiguration {
        ServiceConfiguration(aliasDomains: aliasDomains, emailDomain: emailDomain, quota: AliasQuota(freeLimit: maxAliasesFree),
                         rateLimitsEnabled: rateLimits, mxHosts: mxHosts)
    }

    func resolver() throws -> SystemResolver {
        do {
            return try SystemResolver(address: dnsResolver)
        } catch {
            throw CLIError("invalid --dns-resolver: \(error)")
        }
    }
}
