import ArgumentParser
import Foundation
import VeilCore
import VeilStore

/// `veil phone add-number|reserve|numbers`
struct PhoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phone", abstract: "Phone numbers that receive SMS, and users' reservations of them.",
        subcommands: [PhoneAddNumber.self, PhoneReserve.self, PhoneNumbers.self])
}

struct PhoneAddNumber: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-number", abstract: "Add a number whose SMS arrive through the provider webhook (POST /api/phone/sms/<provider>).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The number in E.164 form, e.g. +15550001111") var number: String
    @Option(help: "Country name, e.g. \"United States\"") var country: String
    @Option(help: "Provider name as in the webhook path (generic, twilio, ...)") var provider = "generic"

    func run() throws {
        guard number.hasPrefix("+"), (8...16).contains(number.count), number.dropFirst().allSatisfy(\.isNumber) else {
            throw CLIError("\(number) is not an E.164 number (+ and 7 to 15 digits)")
        }
        let store = try openStore(try global.settings())
        let added = try store.addPhoneNumber(number, country: country, provider: provider)
        print("number \(added.number) added (id \(added.id), \(added.country), provider \(added.provider))")
    }
}

struct PhoneReserve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reserve", abstract: "Reserve a number for a user; its SMS then appear in GET /api/phone/reservations/<id>.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "The user the number is reserved for") var user: String
    @Argument(help: "The number") var number: String
    @Option(help: "Length of the reservation in minutes, from now") var minutes = 60

    func run() throws {
        guard (1...525_600).contains(minutes) else { throw CLIError("--minutes must be between 1 and 525600") }
        let store = try openStore(try global.settings())
        let (_, userId) = try requireUser(store, email: user)
        let start = Date()
        let reservation = try store.reservePhoneNumber(number, userId: userId, start: start, end: start.addingTimeInterval(TimeInterval(minutes * 60)))
        print("reservation \(reservation.id): \(number) for \(EmailAddress.sanitize(user)) until \(ISO8601DateFormatter().string(from: reservation.end))")
    }
}

struct PhoneNumbers: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "numbers", abstract: "List the numbers.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let store = try openStore(try global.settings())
        print("id\tnumber\tcountry\tprovider\tactive")
        for number in try store.phoneNumbers() {
            print("\(number.id)\t\(number.number)\t\(number.country)\t\(number.provider)\t\(number.active ? "yes" : "no")")
        }
    }
}

/// `veil codes list`: one-time codes for admins, with the filters of the OTP service's listing.
struct CodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "codes", abstract: "One-time codes (never the codes themselves).",
                                                    subcommands: [CodesList.self])
}

struct CodesList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List one-time codes created in a period, as JSON ({\"data\": {\"list\": [...], \"total\": N}}).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Period start, ISO 8601 (2026-01-01T00:00:00Z)") var from: String
    @Option(help: "Period end, ISO 8601") var to: String
    @Option(help: "Up to 3 comma-separated ids") var ids: String?
    @Option(help: "pending, verified, expired, failed or canceled") var status: String?
    @Option(help: "email, sms or link") var channel: String?
    @Option(help: "Only codes sent to this recipient") var recipient: String?
    @Option(help: "Skip this many") var offset = 0
    @Option(help: "How many, 10 to 500") var limit = 10
    @Option(help: "id, status, channel, recipient, created_at or finished_at") var sort = "created_at"
    @Option(help: "asc or desc") var way = "asc"

    static func parseDate(_ text: String, _ name: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return date }
        throw CLIError("--\(name) must be an ISO 8601 date or time, e.g. 2026-01-01T00:00:00Z")
    }

    func run() throws {
        var filter = CodeListFilter(from: try Self.parseDate(from, "from"), to: try Self.parseDate(to, "to"))
        if let ids {
            let parsed = ids.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard parsed.count <= 3, parsed.allSatisfy({ $0 != nil }) else { throw CLIError("--ids takes up to 3 comma-separated ids") }
            filter.ids = parsed.compactMap { $0 }
        }
        if let status {
            guard let parsed = CodeStatus(rawValue: status) else { throw CLIError("--status must be one of pending, verified, expired, failed, canceled") }
            filter.status = parsed
        }
        if let channel {
            guard let parsed = CodeChannel(rawValue: channel.lowercased()) else { throw CLIError("--channel must be one of email, sms, link") }
            filter.channel = parsed
        }
        filter.recipient = recipient
        guard offset >= 0 else { throw CLIError("--offset must be 0 or more") }
        guard (10...500).contains(limit) else { throw CLIError("--limit must be between 10 and 500") }
        guard let sortKey = CodeListFilter.Sort(rawValue: sort) else {
            throw CLIError("--sort must be one of id, status, channel, recipient, created_at, finished_at")
        }
        guard way == "asc" || way == "desc" else { throw CLIError("--way must be asc or desc") }
        filter.offset = offset
        filter.limit = limit
        filter.sort = sortKey
        filter.ascending = way == "asc"
        let store = try openStore(try global.settings())
        let (codes, total) = try store.listCodes(filter)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        func date(_ value: Date?) -> Any { value.map { formatter.string(from: $0) } ?? NSNull() }
        let list: [[String: Any]] = codes.map { listed in
            let code = listed.code
            return [
                "id": String(code.id), "recipient": code.recipient, "status": listed.effectiveStatus.rawValue,
                "channel": code.channel.rawValue, "purpose": code.purpose.rawValue,
                "code_lifetime": code.expiresAt.map { Int($0.timeIntervalSince(code.createdAt)) } as Any? ?? NSNull(),
                "code_max_tries": code.maxTries, "tries_left": code.triesLeft,
                "expired_at": date(code.expiresAt), "created_at": date(code.createdAt), "finished_at": date(listed.finishedAt),
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: ["data": ["list": list, "total": total]], options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
