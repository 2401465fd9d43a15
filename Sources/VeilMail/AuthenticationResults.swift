import Foundation

/// What the receiving MTA concluded about a message (RFC 8601 `Authentication-Results`), as
/// added by an SPF/DKIM/DMARC milter in front of Veil. Only the header of a trusted
/// authentication service is read: a sender can add its own.
public struct AuthenticationResults: Sendable, Equatable {
    public var authservID: String
    /// `pass`, `fail`, `softfail`, `none`, ... (lower case), by method.
    public var spf: String?
    public var dkim: String?
    public var dmarc: String?
    /// The published DMARC policy when the result names it (`dmarc=fail (p=reject ...)`): `reject`,
    /// `quarantine` or `none`.
    public var dmarcPolicy: String?

    /// DMARC failed and the domain asks receivers to reject or quarantine.
    public var dmarcRejectsOrQuarantines: Bool {
        dmarc == "fail" && (dmarcPolicy == "reject" || dmarcPolicy == "quarantine")
    }

    /// Neither SPF nor DKIM vouches for the sender.
    public var unauthenticated: Bool { spf != "pass" && dkim != "pass" }

    /// The first `Authentication-Results` field (the one the nearest MTA prepended), or the first
    /// from `trustedID` when one is given.
    public static func trusted(in message: Message, trustedID: String?) -> AuthenticationResults? {
        for field in message.fields(named: "Authentication-Results") {
            guard let results = parse(field.value) else { continue }
            if let trustedID {
                if results.authservID.lowercased() == trustedID.lowercased() { return results }
            } else {
                return results
            }
        }
        return nil
    }

    /// `mx.example.org; spf=pass smtp.mailfrom=a@b; dkim=fail header.d=b; dmarc=fail (p=reject dis=none) header.from=b`
    public static func parse(_ value: String) -> AuthenticationResults? {
        let statements = splitOutsideComments(value)
        guard let first = statements.first else { return nil }
        let authservID = String(first.split(separator: " ").first ?? "").trimming(" \t")
        guard !authservID.isEmpty else { return nil }
        var results = AuthenticationResults(authservID: authservID)
        for statement in statements.dropFirst() {
            let text = statement.trimming(" \t")
            guard let equals = text.firstIndex(of: "=") else { continue }
            let method = text[..<equals].trimming(" \t").lowercased()
            let rest = text[text.index(after: equals)...]
            let result = String(rest.prefix { $0.isLetter }).lowercased()
            switch method {
            case "spf": results.spf = results.spf ?? result
            // Several DKIM signatures: one that passes is enough.
            case "dkim": results.dkim = results.dkim == "pass" ? "pass" : result
            case "dmarc":
                results.dmarc = result
                if let policy = rest.range(of: "p=") {
                    results.dmarcPolicy = String(rest[policy.upperBound...].prefix { $0.isLetter }).lowercased()
                }
            default: break
            }
        }
        return results
    }

    init(authservID: String) {
        self.authservID = authservID
    }

    /// Splits on `;` outside parenthesised comments and quotes.
    static func splitOutsideComments(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if !quoted {
                if character == "(" { depth += 1 }
                if character == ")" && depth > 0 { depth -= 1 }
                if character == ";" && depth == 0 {
                    parts.append(current)
                    current = ""
                    continue
                }
            }
            current.append(character)
        }
        parts.append(current)
        return parts.filter { !$0.trimming(" \t").isEmpty }
    }
}
