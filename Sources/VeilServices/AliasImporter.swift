import Foundation
import VeilCore
import VeilStore

/// Creates aliases from a CSV in the export format (`alias,note,enabled,mailboxes`): only on the
/// user's own verified custom domains, skipping addresses that exist or were deleted. Shared by
/// `POST /api/import/aliases` and `veil import aliases`.
public struct AliasImporter: Sendable {
    public struct LineError: Sendable, Equatable {
        public var line: Int
        public var alias: String
        public var error: String
    }

    public struct Summary: Sendable, Equatable {
        public var created = 0
        public var skipped = 0
        public var errors: [LineError] = []
    }

    /// The export: SimpleLogin's header and columns, so files move between the two services.
    public static func exportCSV(_ aliases: [ExportedAlias]) -> String {
        var text = CSV.line(["alias", "note", "enabled", "mailboxes"])
        for alias in aliases {
            text += CSV.line([alias.email, alias.note ?? "", alias.enabled ? "True" : "False", alias.mailboxes.joined(separator: " ")])
        }
        return text
    }

    /// Files above this many records are refused whole.
    public static let maxRecords = 100_000

    let store: Store
    let quota: AliasQuota

    public init(store: Store, quota: AliasQuota) {
        self.store = store
        self.quota = quota
    }

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// `progress` is called with (records done, records in all) every 100 records and at the end.
    public func run(csv: String, userId: Int64, progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        let records: [CSV.Record]
        do {
            records = try CSV.parse(csv)
        } catch {
            throw Refusal(description: "Invalid CSV: \(error.description)")
        }
        guard let header = records.first else { throw Refusal(description: "The file is empty") }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let aliasColumn = columns.firstIndex(of: "alias") else {
            throw Refusal(description: "The header must be alias,note,enabled,mailboxes")
        }
        let noteColumn = columns.firstIndex(of: "note")
        let enabledColumn = columns.firstIndex(of: "enabled")
        let mailboxesColumn = columns.firstIndex(of: "mailboxes")
        let rows = records.dropFirst()
        guard rows.count <= Self.maxRecords else { throw Refusal(description: "Too many lines: at most \(Self.maxRecords) aliases per file") }

        guard let user = try store.user(id: userId), let defaultMailbox = user.defaultMailboxId else {
            throw Refusal(description: "Unknown user")
        }
        let domains = Dictionary(try store.verifiedCustomDomains(userId: userId).compactMap { domain in domain.id.map { (domain.domain, $0) } },
                                 uniquingKeysWith: { first, _ in first })
        let mailboxes = Dictionary(try store.mailboxes(userId: userId).filter(\.verified).compactMap { mailbox in
            mailbox.id.map { (mailbox.email.lowercased(), $0) }
        }, uniquingKeysWith: { first, _ in first })
        let limit = quota.limit(for: user)
        var existing = limit == nil ? 0 : try store.aliasCount(userId: userId)

        var summary = Summary()
        func skip(_ record: CSV.Record, _ alias: String, _ error: String) {
            summary.skipped += 1
            summary.errors.append(LineError(line: record.line, alias: alias, error: error))
        }
        for (position, record) in rows.enumerated() {
            defer { if (position + 1) % 100 == 0 { progress(position + 1, rows.count) } }
            func column(_ index: Int?) -> String? { index.flatMap { $0 < record.fields.count ? record.fields[$0] : nil } }
            let raw = column(aliasColumn) ?? ""
            let email = EmailAddress.sanitize(raw)
            guard EmailAddress.isValid(email), let domain = EmailAddress.domain(of: email) else {
                skip(record, raw, "\(raw) is not a valid email address")
                continue
            }
            guard let domainId = domains[domain] else {
                skip(record, email, "\(domain) is not one of your verified custom domains")
                continue
            }
            var mailboxIds: [Int64] = []
            var unknown: [String] = []
            for address in (column(mailboxesColumn) ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                if let id = mailboxes[address.lowercased()] { if !mailboxIds.contains(id) { mailboxIds.append(id) } } else { unknown.append(String(address)) }
            }
            if !unknown.isEmpty {
                skip(record, email, "\(unknown.joined(separator: " ")) is not one of your verified mailboxes")
                continue
            }
            if mailboxIds.isEmpty { mailboxIds = [defaultMailbox] }
            if let limit, existing >= limit {
                skip(record, email, "You have reached the limitation of a free account with the maximum of \(limit) aliases")
                continue
            }
            let note = column(noteColumn).flatMap { $0.isEmpty ? nil : $0 }
            do {
                var alias = try store.createAlias(userId: userId, email: email, mailboxIds: mailboxIds, customDomainId: domainId, note: note)
                if let enabled = column(enabledColumn), enabled.lowercased() == "false", let id = alias.id {
                    alias = try store.updateAlias(id: id, userId: userId) { $0.enabled = false } ?? alias
                }
                summary.created += 1
                existing += 1
            } catch StoreError.conflict {
                skip(record, email, try store.isDeletedAlias(email) ? "\(email) was deleted and cannot be created again" : "\(email) already exists")
            }
        }
        progress(rows.count, rows.count)
        return summary
    }
}
