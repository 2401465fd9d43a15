import Foundation

/// The part of a custom alias the user types (spec/api.md §4.4).
public enum AliasPrefix {
    public static let maxLength = 40

    /// Trim, lower-case, remove spaces, transliterate to ASCII, map every character outside
    /// `[A-Za-z0-9_.-]` to `_`, cut to 64 characters. `"Prefix Ünï!"` → `"prefixuni_"`.
    public static func normalize(_ raw: String) -> String {
        let lowered = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            .replacingOccurrences(of: " ", with: "")
        return String(mapDisallowed(Transliteration.ascii(lowered)).prefix(64))
    }

    /// 1–40 characters of `[0-9a-z._-]`.
    public static func isValid(_ prefix: String) -> Bool {
        (1...maxLength).contains(prefix.count)
            && prefix.unicodeScalars.allSatisfy { isAllowed($0) && !("A"..."Z").contains($0) }
    }

    /// The label a website is known by: `www.test.com` → `test`, `wwww.numberoneshoes.co.nz` → `numberoneshoes`.
    public static func suggestion(forHostname hostname: String) -> String {
        let labels = hostname.lowercased().trimmingCharacters(in: .whitespaces)
            .split(separator: ".").map(String.init)
        guard !labels.isEmpty else { return "" }
        let suffixLength = PublicSuffix.length(of: labels)
        let label = labels.count > suffixLength ? labels[labels.count - suffixLength - 1] : labels[0]
        return normalize(label)
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            || scalar == "_" || scalar == "." || scalar == "-"
    }

    static func mapDisallowed(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { isAllowed($0) ? $0 : "_" }))
    }
}

/// Enough of the public-suffix list to find the registrable label of common hostnames.
enum PublicSuffix {
    /// Second-level labels that sit under a country code as public suffixes (`co.uk`, `com.au`).
    static let secondLevel: Set<String> = ["co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nom", "ltd", "plc", "sch", "gen", "biz", "info", "web"]
    /// Multi-label public suffixes that do not follow the pattern above.
    static let explicit: Set<String> = ["github.io", "herokuapp.com", "blogspot.com", "appspot.com", "netlify.app", "vercel.app", "pages.dev", "azurewebsites.net", "cloudfront.net", "s3.amazonaws.com"]

    /// How many trailing labels form the public suffix (at least 1).
    static func length(of labels: [String]) -> Int {
        guard labels.count >= 2 else { return 1 }
        let lastTwo = labels.suffix(2).joined(separator: ".")
        if explicit.contains(lastTwo) { return 2 }
        if labels.count >= 3, explicit.contains(labels.suffix(3).joined(separator: ".")) { return 3 }
        let tld = labels[labels.count - 1]
        if tld.count == 2, secondLevel.contains(labels[labels.count - 2]) { return 2 }
        return 1
    }
}
