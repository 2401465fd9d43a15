import Foundation
import GRDB
import VeilCore

/// Secrets Veil needs and generates itself on first use, kept in the database so that an
/// unconfigured instance works and all its processes agree.
public enum InstanceSecret: String, Sendable, CaseIterable {
    case suffixSigning = "suffix_signing"
    case verp = "verp"
    case codePepper = "code_pepper"
    case apiKeyDerivation = "api_key_derivation"
    case mfaToken = "mfa_token"
    case mediaSigning = "media_signing"
}

extension Store {
    /// The secret's bytes, created (32 random bytes) the first time it is asked for.
    public func secret(_ secret: InstanceSecret) throws -> [UInt8] {
        if let existing = try pool.read({ db in
            try Data.fetchOne(db, sql: "SELECT value FROM instance_secrets WHERE name = ?", arguments: [secret.rawValue])
        }) {
            return Array(existing)
        }
        return try pool.write { db in
            // Another process may have won the race: keep whatever is stored first.
            try db.execute(
                sql: "INSERT OR IGNORE INTO instance_secrets (name, value, created_at) VALUES (?, ?, ?)",
                arguments: [secret.rawValue, Data(SecureRandom.bytes(32)), Date().unixSeconds])
            let stored = try Data.fetchOne(
                db, sql: "SELECT value FROM instance_secrets WHERE name = ?", arguments: [secret.rawValue])
            return Array(stored ?? Data())
        }
    }

    /// Generates every secret that does not exist yet (first run).
    public func ensureSecrets() throws {
        for secret in InstanceSecret.allCases { _ = try self.secret(secret) }
    }
}
