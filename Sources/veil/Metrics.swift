import CoreMetrics
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import VeilSMTP

/// The process's metrics in Prometheus text form, for `/metrics` on the API and the mail
/// daemon's health listener.
enum VeilMetrics {
    static let registry = PrometheusCollectorRegistry()

    /// Installs the Prometheus backend for swift-metrics, once, before any metric is made.
    static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let latency: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                   .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                   .seconds(2), .seconds(5), .seconds(10)]
        factory.defaultDurationHistogramBuckets = latency
        MetricsSystem.bootstrap(factory)
    }

    static let text: @Sendable () -> [UInt8] = { registry.emitToBuffer() }
}

/// The mail daemon's health listener: `GET /health` (200 while the daemon runs, with the open
/// sessions) and `GET /metrics`.
enum HealthListener {
    static func application(host: String, port: Int, logger: Logger) -> some Service {
        let router = Router()
        router.get("health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"status": "ok", "smtp_sessions_open": \#(SMTPServer.openSessionsInProcess)}"#)))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: VeilMetrics.text())))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "veil-health"), logger: logger)
    }
}
