import Foundation

/// Where a store lives, from `--database` / `VEIL_DATABASE`: a path or `sqlite:PATH` for the
/// embedded SQLite file, or a `postgres://` / `postgresql://` URL (libpq's form and its
/// `sslmode` / `sslrootcert` parameters).
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(parsing text: String) throws {
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(url: text))
        } else if lowered.hasPrefix("sqlite://") {
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else if lowered.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if text.contains("://") {
            throw ParseError(description: "unsupported database URL \(text): use a file path, sqlite:PATH or postgres://user:password@host:port/database")
        } else {
            self = .sqlite(path: text)
        }
        if case .sqlite(let path) = self, path.isEmpty {
            throw ParseError(description: "the database path is empty")
        }
    }

    /// Safe to print: a PostgreSQL password is left out.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let location): return location.description
        }
    }
}

public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Equatable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS or no connection, without checking the certificate.
        case require
        /// TLS with the certificate checked against `sslrootcert` (or the system's roots), not the name.
        case verifyCA = "verify-ca"
        /// TLS with the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// `sslrootcert`: a PEM file of the CA that signs the server's certificate.
    public var caFile: String?

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
                tls: TLSMode = .prefer, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
        self.caFile = caFile
    }

    public init(url text: String) throws {
        func fail(_ why: String) -> DatabaseLocation.ParseError {
            DatabaseLocation.ParseError(description: "invalid PostgreSQL URL: \(why)")
        }
        guard let components = URLComponents(string: text) else { throw fail("cannot parse it") }
        guard let host = components.host, !host.isEmpty else { throw fail("no host") }
        guard let user = components.user, !user.isEmpty else { throw fail("no user (postgres://user@host/database)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw fail("no database name (postgres://user@host/database)") }
        if let port = components.port, !(1...65535).contains(port) { throw fail("port \(port) is out of range") }
        self.host = host
        port = components.port ?? 5432
        self.user = user
        password = components.password
        self.database = database
        tls = .prefer
        caFile = nil
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw fail("sslmode must be disable, prefer, require, verify-ca or verify-full")
                }
                tls = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else { throw fail("sslrootcert needs a file") }
                caFile = value
            default:
                throw fail("unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
    }

    public var description: String {
        var text = "postgres://\(user)@\(host):\(port)/\(database)"
        if tls != .prefer { text += "?sslmode=\(tls.rawValue)" }
        return text
    }
}
