// swift-tools-version: 6.2
import PackageDescription

// Swift 6 language mode (strict concurrency) is the default for tools version 6.x.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "veil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "veil", targets: ["veil"]),
        // For the separate Benchmarks/ package.
        .library(name: "VeilCore", targets: ["VeilCore"]),
        .library(name: "VeilStore", targets: ["VeilStore"]),
        .library(name: "VeilMail", targets: ["VeilMail"]),
        // For the separate Fuzz/ package.
        .library(name: "VeilSMTP", targets: ["VeilSMTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Tests only: reads openapi.yaml to check the router and the responses against it.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Domain types and pure rules. No I/O.
        .target(
            name: "VeilCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            resources: [.embedInCode("Resources/words.txt")],
            swiftSettings: strictSettings
        ),
        // glibc's stub resolver (res_nquery, ns_parserr, dn_expand) behind one C function.
        .target(name: "CVeilResolv", linkerSettings: [.linkedLibrary("resolv")]),
        // libqrencode (Debian libqrencode-dev) behind one C function, for the MFA set-up page.
        .target(name: "CVeilQR", linkerSettings: [.linkedLibrary("qrencode")]),
        // DNS lookups (MX, TXT, CNAME) for custom-domain verification and `veil doctor`.
        .target(name: "VeilDNS", dependencies: ["CVeilResolv", "VeilCore"], swiftSettings: strictSettings),
        // The numbered SQL migrations, compiled into the binary.
        .target(
            name: "VeilSchema",
            path: "Schema",
            exclude: ["README.md", "postgres"],
            resources: [
                .embedInCode("0001_initial.sql"),
                .embedInCode("0002_alias_counters.sql"),
                .embedInCode("0003_mail_indexes.sql"),
                .embedInCode("0004_dkim_keys.sql"),
                .embedInCode("0005_log_retention_index.sql"),
                .embedInCode("0006_mailbox_recovery.sql"),
                .embedInCode("0007_web_sessions.sql"),
                .embedInCode("0008_admins.sql"),
            ],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL engine's migrations: the same numbers and tables, PostgreSQL's types.
        .target(
            name: "VeilSchemaPostgres",
            path: "Schema/postgres",
            resources: [
                .embedInCode("0001_initial.sql"),
                .embedInCode("0002_alias_counters.sql"),
                .embedInCode("0003_mail_indexes.sql"),
                .embedInCode("0004_dkim_keys.sql"),
                .embedInCode("0005_log_retention_index.sql"),
                .embedInCode("0006_mailbox_recovery.sql"),
                .embedInCode("0007_web_sessions.sql"),
                .embedInCode("0008_admins.sql"),
            ],
            swiftSettings: strictSettings
        ),
        // Every query, every transaction.
        .target(
            name: "VeilStore",
            dependencies: [
                "VeilCore",
                "VeilSchema",
                "VeilSchemaPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The C API, for reading hot rows straight from the statement (Records.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The message format: header fields, address lists, RFC 2047 words, DKIM signing. No I/O.
        .target(
            name: "VeilMail",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // SMTP protocol: the server (sessions, limits, STARTTLS, LMTP) and the outbound relay client.
        // Knows nothing about aliases.
        .target(
            name: "VeilSMTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The pipeline: envelope + message → classify → rewrite → relay → log → SMTP reply.
        .target(
            name: "VeilMailHandler",
            dependencies: [
                "VeilCore",
                "VeilStore",
                "VeilMail",
                "VeilSMTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // Test helpers that need real sockets or files (an SMTP sink on loopback, a second database
        // connection). Used by tests only.
        .target(
            name: "VeilTestSupport",
            dependencies: [
                "VeilSMTP",
                "VeilStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // What the two HTTP front ends (API and dashboard) share: configuration, rate limits,
        // account mail, custom-domain checks, the threads that wait for the database writer.
        .target(
            name: "VeilServices",
            dependencies: [
                "VeilCore",
                "VeilStore",
                "VeilDNS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The SimpleLogin-compatible REST API.
        .target(
            name: "VeilAPI",
            dependencies: [
                "VeilCore",
                "VeilStore",
                "VeilDNS",
                "VeilServices",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.embedInCode("Resources/openapi.yaml")],
            swiftSettings: strictSettings
        ),
        // The dashboard: HTML pages and forms for people, sessions, CSRF; templates compiled in.
        .target(
            name: "VeilWeb",
            dependencies: [
                "VeilCore",
                "VeilStore",
                "VeilServices",
                "VeilDNS",
                "CVeilQR",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [
                .embedInCode("Templates/message.mustache"),
                .embedInCode("Templates/login.mustache"),
                .embedInCode("Templates/mfa.mustache"),
                .embedInCode("Templates/register.mustache"),
                .embedInCode("Templates/activate.mustache"),
                .embedInCode("Templates/custom_alias.mustache"),
                .embedInCode("Templates/trash.mustache"),
                .embedInCode("Templates/alias.mustache"),
                .embedInCode("Templates/settings.mustache"),
                .embedInCode("Templates/mailboxes.mustache"),
                .embedInCode("Templates/domains.mustache"),
                .embedInCode("Templates/notifications.mustache"),
                .embedInCode("Templates/import.mustache"),
                .embedInCode("Templates/admin.mustache"),
                .embedInCode("Templates/import_result.mustache"),
                .embedInCode("Templates/quarantine.mustache"),
                .embedInCode("Templates/domain_dns.mustache"),
                .embedInCode("Templates/domain_info.mustache"),
                .embedInCode("Templates/sudo.mustache"),
                .embedInCode("Templates/mfa_setup.mustache"),
                .embedInCode("Templates/recovery_codes.mustache"),
                .embedInCode("Templates/api_keys.mustache"),
                .embedInCode("Templates/pricing.mustache"),
                .embedInCode("Templates/setup_done.mustache"),
                .embedInCode("Static/veil.css"),
                .embedInCode("Static/veil.js"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "veil",
            dependencies: [
                "VeilCore",
                "VeilStore",
                "VeilSMTP",
                "VeilMail",
                "VeilMailHandler",
                "VeilAPI",
                "VeilServices",
                "VeilWeb",
                "VeilDNS",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "VeilCoreTests", dependencies: ["VeilCore"], swiftSettings: strictSettings),
        .testTarget(name: "VeilDNSTests", dependencies: ["VeilDNS", "VeilCore", "VeilTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "VeilStoreTests", dependencies: [
            "VeilStore", "VeilCore", "VeilTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: strictSettings),
        .testTarget(name: "VeilMailTests", dependencies: [
            "VeilMail", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
        ], swiftSettings: strictSettings),
        .testTarget(name: "VeilSMTPTests", dependencies: [
            "VeilSMTP", "VeilTestSupport",
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], swiftSettings: strictSettings),
        .testTarget(
            name: "VeilAPITests",
            dependencies: [
                "VeilAPI", "VeilServices", "VeilStore", "VeilCore", "VeilSMTP", "VeilDNS", "VeilTestSupport", "VeilMailHandler",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VeilMailHandlerTests",
            dependencies: [
                "VeilMailHandler", "VeilStore", "VeilCore", "VeilMail", "VeilSMTP", "VeilTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "VeilWebTests",
            dependencies: [
                "VeilWeb", "VeilServices", "VeilAPI", "VeilStore", "VeilCore", "VeilDNS", "VeilTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "VeilCLITests", dependencies: ["veil", "VeilStore", "VeilCore", "VeilSMTP", "VeilTestSupport"], swiftSettings: strictSettings),
    ]
)
