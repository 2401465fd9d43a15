import Crypto
import Foundation
import NIOPosix
import VeilCore
import VeilStore

/// Sign-in rules both front ends apply the same way.
extension Services {
    /// A password check costs the same whether the account exists or not (a decoy hash).
    public func verifyPassword(_ password: String, hash: String?) async throws -> Bool {
        let stored = hash ?? PasswordRule.decoyHash
        let valid = try await NIOThreadPool.singleton.runIfActive { PasswordRule.verify(password, hash: stored) }
        return valid && hash != nil
    }

    /// The account of a typed address: as typed, else its canonical form.
    public func findUser(_ rawEmail: String) throws -> User? {
        let email = EmailAddress.sanitize(rawEmail)
        if let user = try store.user(email: email) { return user }
        let canonical = EmailAddress.canonical(email)
        return canonical == email ? nil : try store.user(email: canonical)
    }

    /// An address may be an account's first mailbox unless Veil receives for it or another
    /// account already has it.
    public func personalInboxAllowed(_ email: String) throws -> Bool {
        guard EmailAddress.isValid(email), let domain = EmailAddress.domain(of: email) else { return false }
        if configuration.aliasDomains.contains(domain) || domain == configuration.emailDomain { return false }
        if try store.customDomain(named: domain) != nil { return false }
        return try !store.isMailboxAddressUsed(email)
    }

    /// How long a password-checked login may wait for its TOTP code.
    public static let mfaKeyLifetime: TimeInterval = 900

    /// A signed, expiring proof that the password was right, exchanged for a session or key once
    /// the TOTP code is given.
    public func mfaKey(userId: Int64, now: Date) throws -> String {
        let payload = "\(userId).\(Int64(now.timeIntervalSince1970))"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: try store.secret(.mfaToken)))
        return payload + "." + Base64URL.encode(Data(mac))
    }

    public func userId(fromMFAKey key: String, now: Date) throws -> Int64? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let userId = Int64(parts[0]), let issued = Int64(parts[1]),
              let signature = Base64URL.decode(parts[2]) else { return nil }
        let payload = "\(parts[0]).\(parts[1])"
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(payload.utf8),
                                                     using: SymmetricKey(data: try store.secret(.mfaToken))),
              now.timeIntervalSince1970 - TimeInterval(issued) <= Self.mfaKeyLifetime
        else { return nil }
        return userId
    }
}
