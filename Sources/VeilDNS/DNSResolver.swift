import CVeilResolv
import Dispatch
import Foundation

/// What a domain check needs from DNS. Tests point `SystemResolver` at a DNS server on loopback.
public protocol DNSResolver: Sendable {
    func mx(_ name: String) async throws(DNSError) -> [(priority: Int, host: String)]
    func txt(_ name: String) async throws(DNSError) -> [String]
    func cname(_ name: String) async throws(DNSError) -> [String]
}

public enum DNSError: Error, Equatable, CustomStringConvertible {
    /// Timeout, SERVFAIL, refused, or an answer that could not be parsed.
    case failure(String)

    public var description: String {
        switch self {
        case .failure(let name): "DNS lookup of \(name) failed"
        }
    }
}

/// glibc's stub resolver (`res_nquery`) through the `CVeilResolv` shim. The calls block, so
/// they run on a Dispatch queue, never on an event loop or the cooperative pool.
public struct SystemResolver: DNSResolver {
    /// An IPv4 address to ask instead of /etc/resolv.conf's servers, with its port.
    public let server: String?
    public let port: Int
    public let timeoutSeconds: Int
    static let queue = DispatchQueue(label: "veil.dns", attributes: .concurrent)

    public init(server: String? = nil, port: Int = 53, timeoutSeconds: Int = 3) {
        self.server = server
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    /// `host` or `host:port` (IPv4); nil or empty means the system's servers.
    public init(address: String?, timeoutSeconds: Int = 3) throws(DNSError) {
        guard let address, !address.isEmpty else { self.init(timeoutSeconds: timeoutSeconds); return }
        let parts = address.split(separator: ":", maxSplits: 1).map(String.init)
        guard let host = parts.first, host.split(separator: ".").count == 4, host.split(separator: ".").allSatisfy({ UInt8($0) != nil })
        else { throw .failure("resolver address \(address) (expected IPv4[:port])") }
        let port = parts.count == 2 ? Int(parts[1]) : 53
        guard let port, (1...65_535).contains(port) else { throw .failure("resolver address \(address) (bad port)") }
        self.init(server: host, port: port, timeoutSeconds: timeoutSeconds)
    }

    public func mx(_ name: String) async throws(DNSError) -> [(priority: Int, host: String)] {
        try await lookup(name, type: 15).compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let priority = Int(parts[0]) else { return nil }
            return (priority, String(parts[1]))
        }
    }

    public func txt(_ name: String) async throws(DNSError) -> [String] { try await lookup(name, type: 16) }
    public func cname(_ name: String) async throws(DNSError) -> [String] { try await lookup(name, type: 5) }

    func lookup(_ name: String, type: Int32) async throws(DNSError) -> [String] {
        let result: Result<[String], DNSError> = await withCheckedContinuation { continuation in
            Self.queue.async { continuation.resume(returning: blockingLookup(name, type: type)) }
        }
        return try result.get()
    }

    func blockingLookup(_ name: String, type: Int32) -> Result<[String], DNSError> {
        var buffer = [CChar](repeating: 0, count: 64 * 1024)
        var count: Int32 = 0
        let status = buffer.withUnsafeMutableBufferPointer { out in
            veil_dns_lookup(server, Int32(port), Int32(timeoutSeconds), name, type, out.baseAddress, out.count, &count)
        }
        switch status {
        case Int32(VEIL_DNS_OK.rawValue):
            var records: [String] = []
            var start = 0
            for _ in 0..<Int(count) {
                guard let end = buffer[start...].firstIndex(of: 0) else { break }
                records.append(String(decoding: buffer[start..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self))
                start = end + 1
            }
            return .success(records)
        case Int32(VEIL_DNS_NO_RECORDS.rawValue):
            return .success([])
        default:
            return .failure(.failure(name))
        }
    }
}
