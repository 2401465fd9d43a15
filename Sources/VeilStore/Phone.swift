import Foundation
import GRDB
import VeilCore

public struct PhoneNumber: Sendable, Equatable {
    public var id: Int64
    public var number: String
    public var provider: String
    public var country: String
    public var active: Bool
}

public struct PhoneReservation: Sendable, Equatable {
    public var id: Int64
    public var numberId: Int64
    public var number: String
    public var userId: Int64
    public var start: Date
    public var end: Date
}

public struct PhoneMessage: Sendable, Equatable {
    public var id: Int64
    public var fromNumber: String
    public var body: String
    public var otpCode: String?
    public var createdAt: Date
}

/// A webhook call waiting to be made (or retried).
public struct PendingWebhook: Sendable, Equatable {
    public var id: Int64
    public var url: String
    public var body: String
    public var attempts: Int
}

extension Store {
    /// Adds a number Veil can receive SMS on; its country is created when new.
    public func addPhoneNumber(_ number: String, country: String, provider: String, now: Date = Date()) throws -> PhoneNumber {
        try pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO phone_countries (name) VALUES (?)", arguments: [country])
            guard let countryId = try Int64.fetchOne(db, sql: "SELECT id FROM phone_countries WHERE name = ?", arguments: [country]) else {
                throw StoreError.invalid("country \(country)")
            }
            do {
                try db.execute(sql: "INSERT INTO phone_numbers (country_id, number, provider, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [countryId, number, provider, now.unixSeconds])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StoreError.conflict("number \(number) already exists")
            }
            return PhoneNumber(id: db.lastInsertedRowID, number: number, provider: provider, country: country, active: true)
        }
    }

    public func phoneNumbers() throws -> [PhoneNumber] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.id, n.number, n.provider, n.active, c.name AS country FROM phone_numbers n JOIN phone_countries c ON c.id = n.country_id
                ORDER BY n.id
                """).map { PhoneNumber(id: $0["id"], number: $0["number"], provider: $0["provider"], country: $0["country"], active: $0["active"]) }
        }
    }

    /// Reserves `number` for the user from `start` to `end`; refused when another reservation of
    /// that number overlaps the period.
    public func reservePhoneNumber(_ number: String, userId: Int64, start: Date, end: Date, now: Date = Date()) throws -> PhoneReservation {
        guard end > start else { throw StoreError.invalid("the reservation must end after it starts") }
        return try pool.write { db in
            guard let numberId = try Int64.fetchOne(db, sql: "SELECT id FROM phone_numbers WHERE number = ? AND active = 1", arguments: [number]) else {
                throw StoreError.notFound("no active number \(number)")
            }
            let overlapping = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM phone_reservations WHERE number_id = ? AND start_at < ? AND end_at > ?
                """, arguments: [numberId, end.unixSeconds, start.unixSeconds]) ?? 0
            guard overlapping == 0 else { throw StoreError.conflict("\(number) is already reserved in that period") }
            try db.execute(sql: "INSERT INTO phone_reservations (number_id, user_id, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [numberId, userId, start.unixSeconds, end.unixSeconds, now.unixSeconds])
            return PhoneReservation(id: db.lastInsertedRowID, numberId: numberId, number: number, userId: userId,
                                    start: Date(timeIntervalSince1970: TimeInterval(start.unixSeconds)),
                                    end: Date(timeIntervalSince1970: TimeInterval(end.unixSeconds)))
        }
    }

    static func reservation(_ row: Row) -> PhoneReservation {
        PhoneReservation(id: row["id"], numberId: row["number_id"], number: row["number"], userId: row["user_id"],
                         start: Date(timeIntervalSince1970: TimeInterval(row["start_at"] as Int64)),
                         end: Date(timeIntervalSince1970: TimeInterval(row["end_at"] as Int64)))
    }

    /// The user's reservation; nil when missing or someone else's.
    public func phoneReservation(id: Int64, userId: Int64) throws -> PhoneReservation? {
        try pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT r.*, n.number FROM phone_reservations r JOIN phone_numbers n ON n.id = r.number_id WHERE r.id = ? AND r.user_id = ?
                """, arguments: [id, userId]).map(Self.reservation)
        }
    }

    /// Messages received on the reserved number strictly inside the reservation, oldest first.
    public func phoneMessages(reservation: PhoneReservation) throws -> [PhoneMessage] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM phone_messages WHERE number_id = ? AND created_at > ? AND created_at < ? ORDER BY created_at, id
                """, arguments: [reservation.numberId, reservation.start.unixSeconds, reservation.end.unixSeconds]).map {
                PhoneMessage(id: $0["id"], fromNumber: $0["from_number"], body: $0["body"], otpCode: $0["otp_code"],
                             createdAt: Date(timeIntervalSince1970: TimeInterval($0["created_at"] as Int64)))
            }
        }
    }

    /// Stores an SMS received on `number` and, when a reservation is active and its user set a
    /// webhook URL and the text carries a code, queues the `otp_received` call in the same
    /// transaction. Nil when Veil has no such number.
    public func receiveSMS(to number: String, from sender: String, body: String, otpCode: String?,
                           webhookBody: (String) -> String, now: Date = Date()) throws -> (message: Int64, reservation: PhoneReservation?, webhookQueued: Bool)? {
        try pool.write { db in
            guard let numberId = try Int64.fetchOne(db, sql: "SELECT id FROM phone_numbers WHERE number = ?", arguments: [number]) else { return nil }
            try db.execute(sql: "INSERT INTO phone_messages (number_id, from_number, body, otp_code, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [numberId, sender, body, otpCode, now.unixSeconds])
            let messageId = db.lastInsertedRowID
            let reservation = try Row.fetchOne(db, sql: """
                SELECT r.*, n.number FROM phone_reservations r JOIN phone_numbers n ON n.id = r.number_id
                WHERE r.number_id = ? AND r.start_at < ? AND r.end_at > ? ORDER BY r.start_at DESC LIMIT 1
                """, arguments: [numberId, now.unixSeconds, now.unixSeconds]).map(Self.reservation)
            guard let reservation, otpCode != nil,
                  let url = try String.fetchOne(db, sql: "SELECT otp_webhook_url FROM users WHERE id = ?", arguments: [reservation.userId])
            else { return (messageId, reservation, false) }
            let payload = #"{"url": "# + Self.jsonString(url) + #", "body": "# + Self.jsonString(webhookBody(number)) + "}"
            try db.execute(sql: "INSERT INTO jobs (name, payload, run_at, created_at) VALUES ('otp_webhook', ?, ?, ?)",
                           arguments: [payload, now.unixSeconds, now.unixSeconds])
            return (messageId, reservation, true)
        }
    }

    static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }

    /// Webhook calls that are due.
    public func dueWebhooks(now: Date = Date(), limit: Int = 20) throws -> [PendingWebhook] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, payload, attempts FROM jobs WHERE name = 'otp_webhook' AND state = 'ready' AND run_at <= ? ORDER BY run_at LIMIT ?
                """, arguments: [now.unixSeconds, limit]).compactMap { row in
                guard let data = (row["payload"] as String).data(using: .utf8),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: String],
                      let url = object["url"], let body = object["body"] else { return nil }
                return PendingWebhook(id: row["id"], url: url, body: body, attempts: row["attempts"])
            }
        }
    }

    public func finishWebhook(id: Int64) throws {
        try pool.write { db in try db.execute(sql: "UPDATE jobs SET state = 'done', attempts = attempts + 1 WHERE id = ?", arguments: [id]) }
    }

    /// Records a failed call: retried at `next`, or given up (`next` nil).
    public func failWebhook(id: Int64, error: String, next: Date?) throws {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE jobs SET attempts = attempts + 1, last_error = ?, state = ?, run_at = coalesce(?, run_at) WHERE id = ?
                """, arguments: [error, next == nil ? "error" : "ready", next?.unixSeconds, id])
        }
    }

    /// (state, attempts, last error) of every webhook job, oldest first; for tests and operators.
    public func webhookJobs() throws -> [(state: String, attempts: Int, lastError: String?)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT state, attempts, last_error FROM jobs WHERE name = 'otp_webhook' ORDER BY id")
                .map { ($0["state"], $0["attempts"], $0["last_error"]) }
        }
    }
}
