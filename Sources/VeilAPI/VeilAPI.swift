import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VeilCore
import VeilServices
import VeilStore

/// Builds the HTTP application: SimpleLogin-compatible routes under `/api`, the two web pages the
/// e-mails link to, CORS for browser extensions, JSON errors everywhere.
public enum VeilAPIServer {
    /// A keep-alive connection with nothing read or written for this long is closed, so idle
    /// clients cannot hold connections (and their memory) forever. Above the 60 s that common
    /// reverse proxies keep an idle upstream connection.
    public static let defaultIdleTimeout = TimeAmount.seconds(75)

    /// `metrics`: the Prometheus text of the process, served at `/metrics` when given.
    /// `pages`: more routes on the same router and context (the dashboard).
    public static func router(services: Services, auth: AuthConfiguration, mailer: any Mailer, publicURL: String,
                              metrics: (@Sendable () -> [UInt8])? = nil,
                              pages: (@Sendable (Router<APIContext>) -> Void)? = nil) -> Router<APIContext> {
        let notifier = AccountMailer(store: services.store, mailer: mailer, publicURL: publicURL,
                                     emailDomain: services.configuration.emailDomain)
        let router = Router(context: APIContext.self)
        // Outermost, so that it sees errors already turned into responses: it would wrap a thrown
        // error in a type of its own that the JSON error middleware cannot read.
        router.add(middleware: CORSMiddleware(
            allowOrigin: .all,
            allowHeaders: [.authentication, .contentType],
            allowMethods: [.get, .post, .put, .patch, .delete, .options],
            maxAge: .seconds(86_400)))
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: ClientAddressMiddleware())
        // Requests by route and status, and their latency (hb_requests, http_server_request_duration).
        router.add(middleware: MetricsMiddleware())
        router.get("health") { _, _ in Response.json(["status": "ok"]) }
        if let metrics {
            router.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics())))
            }
        }
        router.get("api/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }

        AuthRoutes(services: services, configuration: auth, notifier: notifier).register(on: router.group("api/auth"))
        let api = router.group("api").add(middleware: Authenticator(store: services.store))
        let account = AccountRoutes(services: services, publicURL: publicURL)
        account.register(on: api)
        router.get("profile_picture/:token") { _, context in try account.profilePicture(token: context.parameters.get("token") ?? "") }
        AliasCreationRoutes(services: services).register(on: api)
        AliasRoutes(services: services).register(on: api)
        MailboxRoutes(services: services, notifier: notifier).register(on: api)
        CustomDomainRoutes(services: services).register(on: api)
        SettingRoutes(services: services).register(on: api)
        let phone = PhoneRoutes(services: services, publicURL: publicURL)
        phone.register(on: api)
        phone.registerWebhook(on: router)
        PaymentRoutes(services: services).register(on: api)
        WebPages(services: services, notifier: notifier, passwordCost: auth.passwordCost).register(on: router)
        pages?(router)
        return router
    }

    public static func application(services: Services, auth: AuthConfiguration, mailer: any Mailer, publicURL: String,
                                   host: String, port: Int, logger: Logger,
                                   metrics: (@Sendable () -> [UInt8])? = nil,
                                   pages: (@Sendable (Router<APIContext>) -> Void)? = nil,
                                   idleTimeout: TimeAmount = defaultIdleTimeout) -> some ApplicationProtocol {
        Application(
            router: router(services: services, auth: auth, mailer: mailer, publicURL: publicURL, metrics: metrics, pages: pages),
            server: .http1(configuration: .init(idleTimeout: idleTimeout)),
            configuration: .init(address: .hostname(host, port: port), serverName: "veil"),
            logger: logger)
    }
}
