import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import UnixSignals
import VeilCore
import VeilMailHandler
import VeilSMTP
import VeilStore

/// The outbound relay, shared by the API (its own mail) and the mail daemon (forwards, replies).
struct RelayOptions: ParsableArguments {
    @Option(help: "Outbound SMTP relay host:port (Postfix's re-injection port). Env: VEIL_RELAY. Default: 127.0.0.1:25")
    var relay: String?
    @Flag(name: .customLong("no-rate-limits"),
          help: "Turn every rate limit off, API and mail (benchmarks, tests). Env: VEIL_RATE_LIMITS=off")
    var noRateLimits = false

    func client(heloName: String, environment: [String: String]) throws -> SMTPClient {
        let text = relay ?? environment["VEIL_RELAY"] ?? "127.0.0.1:25"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65_535).contains(port), !text[..<colon].isEmpty
        else { throw CLIError("invalid relay (host:port expected): \(text)") }
        return SMTPClient(host: String(text[..<colon]), port: port, heloName: heloName)
    }

    func rateLimits(_ environment: [String: String]) -> Bool {
        !noRateLimits && (environment["VEIL_RATE_LIMITS"] ?? "on").lowercased() != "off"
    }
}

/// Options of the mail daemon. Every limit has a conservative default.
struct SMTPOptions: ParsableArguments {
    @Option(name: .customLong("smtp-host"), help: "Address the mail daemon listens on. Env: VEIL_SMTP_HOST. Default: 127.0.0.1")
    var smtpHost: String?
    @Option(name: .customLong("smtp-port"), help: "Port the mail daemon listens on. Env: VEIL_SMTP_PORT. Default: 20381")
    var smtpPort: Int?
    @Flag(help: "Speak LMTP (RFC 2033): one reply per recipient. Env: VEIL_SMTP_LMTP=on")
    var lmtp = false
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; offers STARTTLS with --tls-key. Env: VEIL_TLS_CERT")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for STARTTLS. Env: VEIL_TLS_KEY")
    var tlsKey: String?
    @Option(name: .customLong("max-message-size"), help: "Largest message in bytes. Env: VEIL_SMTP_MAX_MESSAGE_SIZE. Default: 41943040")
    var maxMessageSize: Int?
    @Option(name: .customLong("max-recipients"), help: "Recipients per message. Env: VEIL_SMTP_MAX_RECIPIENTS. Default: 100")
    var maxRecipients: Int?
    @Option(name: .customLong("max-connections"), help: "Sessions at once. Env: VEIL_SMTP_MAX_CONNECTIONS. Default: 100")
    var maxConnections: Int?
    @Option(name: .customLong("max-errors"), help: "Error replies before a session is closed. Env: VEIL_SMTP_MAX_ERRORS. Default: 10")
    var maxErrors: Int?
    @Option(name: .customLong("command-timeout"),
            help: "Seconds for each command, however slowly its bytes arrive. Env: VEIL_SMTP_COMMAND_TIMEOUT. Default: 300")
    var commandTimeout: Int?
    @Option(name: .customLong("data-timeout"),
            help: "Seconds for message data, plus what --min-data-rate allows for its size. Env: VEIL_SMTP_DATA_TIMEOUT. Default: 180")
    var dataTimeout: Int?
    @Option(name: .customLong("min-data-rate"),
            help: "Bytes per second a message transfer must average beyond --data-timeout. Env: VEIL_SMTP_MIN_DATA_RATE. Default: 500")
    var minDataRate: Int?
    @Option(name: .customLong("authserv-id"),
            help: "Trust only the Authentication-Results of this MTA (default: the topmost one). Env: VEIL_AUTHSERV_ID")
    var authservID: String?
    @Option(name: .customLong("max-bounces-per-day"),
            help: "Forward bounces in 24 h after which a mailbox stops receiving. Env: VEIL_MAX_BOUNCES_PER_DAY. Default: 5")
    var maxBouncesPerDay: Int?
    @Flag(name: .customLong("dkim-ed25519"), help: "Add a second DKIM signature, Ed25519 (RFC 8463). Env: VEIL_DKIM_ED25519=on")
    var dkimEd25519 = false
}

struct SMTPRuntime {
    let host: String
    let port: Int
    var tlsFiles: (certificate: String, key: String)?
    let credentials: TLSCredentials?

    static func loadTLS(certificate: String, key: String) throws -> NIOSSLContext {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try NIOSSLContext(configuration: configuration)
    }
    let server: SMTPServerConfiguration
    let pipeline: MailPipeline
    let worker: OutboundQueueWorker

    init(settings: Settings, store: Store, options: SMTPOptions, relay relayOptions: RelayOptions,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func number(_ flag: Int?, _ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            let text = flag.map(String.init) ?? environment[name] ?? String(fallback)
            guard let value = Int(text), range.contains(value) else { throw CLIError("invalid \(name): \(text)") }
            return value
        }
        host = options.smtpHost ?? environment["VEIL_SMTP_HOST"] ?? "127.0.0.1"
        port = try number(options.smtpPort, "VEIL_SMTP_PORT", 20381, 0...65_535)
        let lmtp = options.lmtp || (environment["VEIL_SMTP_LMTP"] ?? "off").lowercased() == "on"
        var tls: TLSCredentials?
        if let cert = options.tlsCert ?? environment["VEIL_TLS_CERT"] {
            guard let key = options.tlsKey ?? environment["VEIL_TLS_KEY"] else { throw CLIError("--tls-cert needs --tls-key") }
            tlsFiles = (cert, key)
            do {
                tls = TLSCredentials(try Self.loadTLS(certificate: cert, key: key))
            } catch {
                throw CLIError("cannot load the TLS certificate or key: \(error)")
            }
        }
        credentials = tls
        server = SMTPServerConfiguration(
            hostname: settings.emailDomain, lmtp: lmtp,
            maxMessageSize: try number(options.maxMessageSize, "VEIL_SMTP_MAX_MESSAGE_SIZE", 41_943_040, 1_024...1_073_741_824),
            maxRecipients: try number(options.maxRecipients, "VEIL_SMTP_MAX_RECIPIENTS", 100, 1...10_000),
            commandTimeout: .seconds(Int64(try number(options.commandTimeout, "VEIL_SMTP_COMMAND_TIMEOUT", 300, 1...3600))),
            dataTimeout: .seconds(Int64(try number(options.dataTimeout, "VEIL_SMTP_DATA_TIMEOUT", 180, 1...3600))),
            minDataRate: try number(options.minDataRate, "VEIL_SMTP_MIN_DATA_RATE", 500, 1...1_000_000_000),
            maxConnections: try number(options.maxConnections, "VEIL_SMTP_MAX_CONNECTIONS", 100, 1...100_000),
            maxErrors: try number(options.maxErrors, "VEIL_SMTP_MAX_ERRORS", 10, 1...1000),
            tls: tls)
        let client = try relayOptions.client(heloName: settings.emailDomain, environment: environment)
        var mail = MailConfiguration(aliasDomains: settings.aliasDomains, emailDomain: settings.emailDomain,
                                     rateLimits: relayOptions.rateLimits(environment),
                                     quota: AliasQuota(freeLimit: settings.maxAliasesFree),
                                     maxBouncesPerDay: try number(options.maxBouncesPerDay, "VEIL_MAX_BOUNCES_PER_DAY", 5, 1...10_000),
                                     authservID: options.authservID ?? environment["VEIL_AUTHSERV_ID"],
                                     ed25519Signatures: options.dkimEd25519 || (environment["VEIL_DKIM_ED25519"] ?? "off").lowercased() == "on")
        mail.publicURL = settings.url.hasSuffix("/") ? String(settings.url.dropLast()) : settings.url
        pipeline = try MailPipeline(store: store, relay: client, configuration: mail, lmtp: lmtp, logger: makeLogger("veil.smtpd"))
        worker = OutboundQueueWorker(store: store, relay: client, logger: makeLogger("veil.queue"))
    }

    /// The listener, the TLS reload and, unless the process runs one already (`veil serve`), the
    /// outbound queue worker.
    func services(logger: Logger, queue: Bool = true) -> [any Service] {
        var services: [any Service] = [SMTPService(host: host, port: port, configuration: server, pipeline: pipeline, logger: logger)]
        if queue { services.append(PeriodicService.outboundQueue(worker, logger: logger)) }
        let reload = tlsFiles.flatMap { files in credentials.map { (files.certificate, files.key, $0) } }
        services.append(ReloadService(tls: reload, logger: logger))
        return services
    }
}

/// The listener as a lifecycle service: on SIGTERM it stops accepting, lets transactions in
/// flight finish (30 s at most) and returns.
struct SMTPService: Service {
    let host: String
    let port: Int
    let configuration: SMTPServerConfiguration
    let pipeline: MailPipeline
    let logger: Logger

    func run() async throws {
        let server = try await SMTPServer.start(host: host, port: port, configuration: configuration, delegate: pipeline)
        logger.info("smtpd listening", metadata: ["address": "\(host):\(server.port)", "lmtp": "\(configuration.lmtp)",
                                                  "starttls": "\(configuration.tls != nil)"])
        try? await gracefulShutdown()
        logger.info("smtpd stopping", metadata: ["open_sessions": "\(server.openSessions)"])
        await server.shutdown(gracePeriod: .seconds(30))
    }
}

struct Smtpd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtpd",
        abstract: "Run the mail daemon: Postfix hands it the alias domains' mail; it forwards, relays replies, blocks, logs.",
        discussion: "SIGTERM stops accepting, lets transactions in flight finish, then exits.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var relay: RelayOptions
    @OptionGroup var options: SMTPOptions
    @Option(name: .customLong("health-port"),
            help: "Port of the health listener (GET /health, GET /metrics) on the SMTP address; 0 turns it off. Env: VEIL_SMTP_HEALTH_PORT. Default: 20382")
    var healthPort: Int?

    func run() async throws {
        let settings = try global.settings()
        let store = try openStore(settings, daemon: true)
        let runtime = try SMTPRuntime(settings: settings, store: store, options: options, relay: relay)
        let logger = makeLogger("veil.smtpd")
        let text = healthPort.map(String.init) ?? ProcessInfo.processInfo.environment["VEIL_SMTP_HEALTH_PORT"] ?? "20382"
        guard let port = Int(text), (0...65_535).contains(port) else { throw CLIError("invalid health port: \(text)") }
        var services = runtime.services(logger: logger) + [PeriodicService.checkpoints(store, logger: logger)]
        if port != 0 {
            var quiet = makeLogger("veil.health")
            quiet.logLevel = .warning
            services.append(HealthListener.application(host: runtime.host, port: port, logger: quiet))
        }
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// SIGHUP never stops Veil. With STARTTLS on, it reads the certificate and key files again (after
/// a renewal) for the next handshakes; files that do not load leave the current ones in place.
struct ReloadService: Service {
    let tls: (certificate: String, key: String, credentials: TLSCredentials)?
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                guard let tls else {
                    logger.notice("SIGHUP: nothing to reload")
                    continue
                }
                do {
                    tls.credentials.replace(with: try SMTPRuntime.loadTLS(certificate: tls.certificate, key: tls.key))
                    logger.notice("tls reloaded", metadata: ["certificate": "\(tls.certificate)"])
                } catch {
                    logger.error("tls reload failed, keeping the current certificate", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
