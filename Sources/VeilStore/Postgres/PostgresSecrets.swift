import Foundation
import NIOCore
import PostgresNIO
import VeilCore

extension PostgresStore {
    /// The secret's bytes, created the first time any node asks: concurrent first starts all
    /// insert-if-absent and then read the one row that won.
    public func secret(_ secret: InstanceSecret) async throws -> [UInt8] {
        let name = secret.rawValue
        if let existing = try await storedSecret(name) { return existing }
        let fresh = ByteBuffer(bytes: SecureRandom.bytes(32))
        try await pool().query("""
            INSERT INTO instance_secrets (name, value, created_at) VALUES (\(name), \(fresh), \(Date().unixSeconds))
            ON CONFLICT (name) DO NOTHING
            """, logger: Self.logger)
        guard let stored = try await storedSecret(name) else { throw StoreError.notFound("secret \(name) vanished") }
        return stored
    }

    /// Generates every secret that does not exist yet (first run).
    public func ensureSecrets() async throws {
        for secret in InstanceSecret.allCases { _ = try await self.secret(secret) }
    }

    private func storedSecret(_ name: String) async throws -> [UInt8]? {
        let rows = try await pool().query("SELECT value FROM instance_secrets WHERE name = \(name)", logger: Self.logger).collect()
        guard let row = rows.first else { return nil }
        var buffer = try row.decode(ByteBuffer.self)
        return buffer.readBytes(length: buffer.readableBytes)
    }
}
