import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import VeilAPI
import VeilCore
import VeilMailHandler
import VeilSMTP
import VeilStore
import VeilWeb
import VeilServices

/// The API's mail goes to the outbound relay, or into the outbound queue while the relay is
/// down (`DurableRelay`); the API's queue worker sends it later.
struct RelayMailer: Mailer {
    let relay: DurableRelay

    func send(from: String, to: [String], message: [UInt8]) async throws {
        try await relay.send(from: from, to: to, message: message)
    }
}

/// Options of the HTTP API process.
struct APIOptions: ParsableArguments {
    @Option(help: "Address the API listens on. Env: VEIL_API_HOST. Default: 127.0.0.1") var host: String?
    @Option(help: "Port the API listens on. Env: VEIL_API_PORT. Default: 8080") var port: Int?
    @Flag(name: .customLong("closed-registration"), help: "Refuse /api/auth/register. Env: VEIL_REGISTRATION=closed")
    var closedRegistration = false
}

struct APIRuntime {
    let settings: Settings
    let store: Store
    let services: Services
    let auth: AuthConfiguration
    let mailer: RelayMailer
    /// Sends what `mailer` queued (and, in `veil serve`, what the mail daemon queued).
    let queue: OutboundQueueWorker
    let host: String
    let port: Int
    /// Named on the dashboard's plan page of a self-hosted instance.
    let adminContact: String?

    init(global: GlobalOptions, options: APIOptions, relay relayOptions: RelayOptions,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        settings = try global.settings(environment: environment)
        store = try openStore(settings, daemon: true)
        host = options.host ?? environment["VEIL_API_HOST"] ?? "127.0.0.1"
        adminContact = environment["VEIL_ADMIN_EMAIL"].flatMap { $0.isEmpty ? nil : $0 }
        let portText = options.port.map(String.init) ?? environment["VEIL_API_PORT"] ?? "8080"
        guard let port = Int(portText), (0...65_535).contains(port) else { throw CLIError("invalid port: \(portText)") }
        self.port = port
        let client = try relayOptions.client(heloName: settings.emailDomain, environment: environment)
        mailer = RelayMailer(relay: DurableRelay(relay: client, store: store, logger: makeLogger("veil.queue")))
        queue = OutboundQueueWorker(store: store, relay: client, logger: makeLogger("veil.queue"))
        let rateLimits = relayOptions.rateLimits(environment)
        var configuration = settings.apiConfiguration(rateLimits: rateLimits)
        configuration.smsWebhookSecret = environment["VEIL_SMS_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        if let text = environment["VEIL_APPLE_VERIFY_URL"], !text.isEmpty {
            guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http" else { throw CLIError("invalid VEIL_APPLE_VERIFY_URL: \(text)") }
            configuration.appleVerifyURL = url
        }
        configuration.appleSharedSecret = environment["VEIL_APPLE_SHARED_SECRET"]
        configuration.appleMacSharedSecret = environment["VEIL_APPLE_MAC_SHARED_SECRET"]
        services = try Services(store: store, configuration: configuration, resolver: try settings.resolver())
        let registrationOpen = !options.closedRegistration && (environment["VEIL_REGISTRATION"] ?? "open").lowercased() != "closed"
        auth = AuthConfiguration(
            registrationOpen: registrationOpen,
            googleUserInfoURL: environment["VEIL_GOOGLE_USERINFO_URL"].flatMap(URL.init(string:)),
            facebookUserInfoURL: environment["VEIL_FACEBOOK_USERINFO_URL"].flatMap(URL.init(string:)))
    }

    func application(logger: Logger) -> some ApplicationProtocol {
        let dashboard = Dashboard<APIContext>(
            services: services,
            mailer: AccountMailer(store: store, mailer: mailer, publicURL: settings.url, emailDomain: settings.emailDomain),
            configuration: WebConfiguration(publicURL: settings.url, registrationOpen: auth.registrationOpen,
                                            trialDays: auth.trialDays, passwordCost: auth.passwordCost,
                                            adminContact: adminContact))
        return VeilAPIServer.application(services: services, auth: auth, mailer: mailer, publicURL: settings.url,
                                         host: host, port: port, logger: logger, metrics: VeilMetrics.text,
                                         pages: { dashboard.register(on: $0) })
    }

    /// The HTTP server, the webhook deliverer and the API key use writer.
    func lifecycleServices(logger: Logger) -> [any Service] {
        [application(logger: logger), PeriodicService.webhooks(WebhookDeliverer(store: store, logger: logger), logger: logger),
         PeriodicService.keyUsage(store, logger: logger), PeriodicService.trashPurge(store, logger: logger),
         PeriodicService.outboundQueue(queue, logger: logger)]
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    let level = ProcessInfo.processInfo.environment["VEIL_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    logger.logLevel = level
    return logger
}

struct API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Serve the SimpleLogin-compatible REST API. SIGTERM finishes requests in flight, then exits.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: APIOptions
    @OptionGroup var relay: RelayOptions
    @OptionGroup var retention: RetentionOptions

    func run() async throws {
        let runtime = try APIRuntime(global: global, options: options, relay: relay)
        let logger = makeLogger("veil.api")
        let pruning = RetentionService(store: runtime.store, policy: try retention.policy(), logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: runtime.lifecycleServices(logger: logger) + [pruning, ReloadService(tls: nil, logger: logger),
                                                                     PeriodicService.checkpoints(runtime.store, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? runtime.store.flushKeyUsage()
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Veil on the embedded default: migrates, creates the admin user when asked, serves the API and the mail daemon.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: APIOptions
    @OptionGroup var relay: RelayOptions
    @OptionGroup var smtp: SMTPOptions
    @OptionGroup var retention: RetentionOptions
    @Option(name: .customLong("admin-email"), help: "Create this user (premium, admin) on first start and print its API key once. Env: VEIL_ADMIN_EMAIL")
    var adminEmail: String?

    func run() async throws {
        let runtime = try APIRuntime(global: global, options: options, relay: relay)
        let mail = try SMTPRuntime(settings: runtime.settings, store: runtime.store, options: smtp, relay: relay)
        let logger = makeLogger("veil")
        let pruning = RetentionService(store: runtime.store, policy: try retention.policy(), logger: logger)
        if let raw = adminEmail ?? ProcessInfo.processInfo.environment["VEIL_ADMIN_EMAIL"] {
            let email = EmailAddress.sanitize(raw)
            guard EmailAddress.isValid(email) else { throw CLIError("invalid admin email: \(raw)") }
            if try runtime.store.user(email: email) == nil {
                let user = try runtime.store.createUser(email: email, name: nil, passwordHash: nil, activated: true, isPremium: true)
                if let userId = user.id {
                    let key = try runtime.store.createApiKey(userId: userId, name: "admin")
                    // Written straight to the descriptor: print() would sit in a buffer while serving.
                    FileHandle.standardOutput.write(Data("admin user \(email) created; API key: \(key)\n".utf8))
                }
            }
            _ = try runtime.store.setAdmin(email: email, true)
        }
        logger.info("veil serving", metadata: ["api": "http://\(runtime.host):\(runtime.port)",
                                               "smtp": "\(mail.host):\(mail.port)", "database": "\(runtime.settings.database)"])
        let group = ServiceGroup(configuration: .init(
            services: runtime.lifecycleServices(logger: logger) + mail.services(logger: makeLogger("veil.smtpd"), queue: false)
                + [pruning, PeriodicService.checkpoints(runtime.store, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try? runtime.store.flushKeyUsage()
    }
}
