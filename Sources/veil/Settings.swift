import ArgumentParser
import Configuration
import Foundation
import VeilCore

/// Options every command shares. Each flag has an environment-variable twin (`--alias-domains` ↔
/// `VEIL_ALIAS_DOMAINS`); a flag wins over the environment, the environment over the default.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "SQLite database file. Env: VEIL_DATABASE. Default: ./data/veil.sqlite")
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

    func settings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let database { values["veil.database"] = .init(.string(database), isSecret: false) }
        if let aliasDomains { values["veil.aliasDomains"] = .init(.string(aliasDomains), isSecret: false) }
        if let emailDomain { values["veil.emailDomain"] = .init(.string(emailDomain), isSecret: false) }
        if let url { values["veil.url"] = .init(.string(url), isSecret: false) }
        if let maxAliasesFree { values["veil.maxAliasesFree"] = .init(.int(maxAliasesFree), isSecret: false) }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ])
        return try Settings(reader: reader)
    }
}

/// The resolved configuration of one run.
struct Settings: Sendable {
    var database: String
    var aliasDomains: [String]
    var emailDomain: String
    var url: String
    var maxAliasesFree: Int

    init(reader: ConfigReader) throws {
        database = reader.string(forKey: "veil.database", default: "./data/veil.sqlite")
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
    }
}

/// An error the command line reports as one line on stderr.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
