import PostgresNIO

/// What tests read back to check a copy: rows as text, identities' next values.
extension PostgresStore {
    /// Each row's columns as PostgreSQL prints them ("NULL" for none), in no particular order.
    func tableRows(_ table: String, columns: [String]) async throws -> [[String]] {
        let list = columns.map { "coalesce(\"\($0)\"::text, 'NULL')" }.joined(separator: ",")
        var rows: [[String]] = []
        for try await row in try await pool().query(PostgresQuery(unsafeSQL: "SELECT \(list) FROM \"\(table)\""), logger: Self.logger) {
            rows.append(try row.map { try $0.decode(String.self) })
        }
        return rows
    }

    /// The id the next insert into `table` gets, without taking it.
    func nextIdentity(of table: String) async throws -> Int64 {
        let named = try await pool().query("SELECT pg_get_serial_sequence(\(table), 'id')", logger: Self.logger).collect().first
        guard let sequence = try named?.decode(String?.self) else { return 0 }
        let row = try await pool().query(PostgresQuery(unsafeSQL: """
            SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM \(sequence)
            """), logger: Self.logger).collect().first
        return try row?.decode(Int64.self) ?? 0
    }
}
