import Foundation

/// An `application/x-www-form-urlencoded` body: every value of every field, in order.
struct Form: Sendable {
    private var fields: [(name: String, value: String)] = []

    init(urlEncoded text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            fields.append((name, value))
        }
    }

    private static func decode(_ part: Substring) -> String {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }

    /// The first value of the field.
    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Every value of a repeated field (checkboxes, multiple selects).
    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// A trimmed, non-empty value.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
