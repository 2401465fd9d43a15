import Crypto
import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// `veil migrate-to-postgres`: copies a SQLite database (live or stopped) into an empty PostgreSQL
/// one. The source is read in one snapshot (a read transaction held across chunks), so a live
/// database gives a consistent copy of one moment; the target is written in one transaction that
/// also runs the verification (row count and checksum per table) and commits only when every table
/// matches. A failure leaves the target as empty as it was.
public enum PostgresMove {
    public struct TableReport: Sendable, Equatable {
        public let table: String
        public let sourceRows: Int
        public let targetRows: Int
        public let sourceChecksum: String
        public let targetChecksum: String
        public var matches: Bool { sourceRows == targetRows && sourceChecksum == targetChecksum }
    }

    public struct Progress: Sendable {
        public let table: String
        public let copied: Int
        public let total: Int
        /// Rows copied so far over every table, and of how many.
        public let allCopied: Int
        public let allTotal: Int
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case sourceNotMigrated(missing: [String])
        case targetNotEmpty(table: String, rows: Int)
        case schemaMismatch(String)
        case badValue(table: String, column: String, why: String)
        case verificationFailed([String])

        public var description: String {
            switch self {
            case .sourceNotMigrated(let missing):
                return "the SQLite database lacks migrations \(missing.joined(separator: ", ")): run `veil migrate --database PATH` first"
            case .targetNotEmpty(let table, let rows):
                return "the PostgreSQL database is not empty (\(table) has \(rows) rows): move into a new database"
            case .schemaMismatch(let why):
                return "the two schemas differ: \(why)"
            case .badValue(let table, let column, let why):
                return "cannot copy \(table).\(column): \(why)"
            case .verificationFailed(let tables):
                return "verification failed for \(tables.joined(separator: ", ")); nothing was kept"
            }
        }
    }

    /// Rows per INSERT; PostgreSQL takes at most 65,535 parameters per statement.
    static let chunkRows = 500

    public static func run(from sqlitePath: String, to target: PostgresStore,
                           progress: @Sendable (Progress) -> Void = { _ in }) async throws -> [TableReport] {
        let source = try SQLiteSnapshot(path: sqlitePath)
        defer { source.close() }
        try await target.migrate()
        let targetColumns = try await target.columnTypes()
        let tables = try source.tables()
        for table in tables {
            guard let columns = targetColumns[table.name] else {
                throw Failure.schemaMismatch("PostgreSQL has no table \(table.name)")
            }
            let missing = table.columns.filter { columns[$0] == nil }
            guard missing.isEmpty else {
                throw Failure.schemaMismatch("PostgreSQL's \(table.name) lacks \(missing.joined(separator: ", "))")
            }
        }
        let order = copyOrder(tables)
        let totals = try Dictionary(uniqueKeysWithValues: tables.map { ($0.name, try source.count($0.name)) })
        let allTotal = totals.values.reduce(0, +)

        return try await target.transaction { connection in
            for table in tables {
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(quoted(table.name))"),
                                                      logger: PostgresStore.logger).collect().first?.decode(Int64.self) ?? 0
                if rows > 0 { throw Failure.targetNotEmpty(table: table.name, rows: Int(rows)) }
            }
            // Counters, activity times: the copied rows carry them already.
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoted(table.name)) DISABLE TRIGGER USER"),
                                           logger: PostgresStore.logger)
            }
            var sourceSums: [String: RowChecksum] = [:]
            var patches: [(table: String, column: String, id: Int64, value: Int64)] = []
            var allCopied = 0
            for step in order {
                let table = step.table
                let types = table.columns.map { targetColumns[table.name]?[$0] ?? .text }
                var sum = RowChecksum()
                var copied = 0
                var after: Int64 = .min
                while true {
                    let (chunk, last) = try source.chunk(of: table, after: after, limit: chunkRows)
                    guard let last else { break }
                    after = last
                    var bindings = PostgresBindings(capacity: chunk.count * table.columns.count)
                    var placeholders: [String] = []
                    placeholders.reserveCapacity(chunk.count)
                    for row in chunk {
                        let values = try zip(row, zip(table.columns, types)).map { value, column in
                            try convert(value, to: column.1, table: table.name, column: column.0)
                        }
                        sum.add(values)
                        var marks: [String] = []
                        for (index, value) in values.enumerated() {
                            let column = table.columns[index]
                            if step.deferred.contains(column), case .integer(let id) = values[table.columns.firstIndex(of: "id") ?? 0],
                               case .integer(let target) = value {
                                patches.append((table.name, column, id, target))
                                bindings.appendNull()
                            } else {
                                value.bind(into: &bindings)
                            }
                            marks.append("$\(bindings.count)" + (types[index] == .citext ? "::citext" : ""))
                        }
                        placeholders.append("(" + marks.joined(separator: ",") + ")")
                    }
                    let columnList = table.columns.map(quoted).joined(separator: ",")
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "INSERT INTO \(quoted(table.name)) (\(columnList)) VALUES \(placeholders.joined(separator: ","))",
                                      binds: bindings), logger: PostgresStore.logger)
                    copied += chunk.count
                    allCopied += chunk.count
                    progress(Progress(table: table.name, copied: copied, total: totals[table.name] ?? copied,
                                      allCopied: allCopied, allTotal: allTotal))
                }
                if copied == 0 {
                    progress(Progress(table: table.name, copied: 0, total: 0, allCopied: allCopied, allTotal: allTotal))
                }
                sourceSums[table.name] = sum
            }
            for patch in patches {
                try await connection.query(PostgresQuery(
                    unsafeSQL: "UPDATE \(quoted(patch.table)) SET \(quoted(patch.column)) = $1 WHERE id = $2",
                    binds: { var binds = PostgresBindings(); binds.append(patch.value); binds.append(patch.id); return binds }()),
                    logger: PostgresStore.logger)
            }
            for table in tables {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoted(table.name)) ENABLE TRIGGER USER"),
                                           logger: PostgresStore.logger)
                if table.columns.contains("id"), targetColumns[table.name]?["id"] == .integer {
                    // The next id of each identity after the copied ones.
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table.name)', 'id'), coalesce(max(id), 0) + 1, false) FROM \(quoted(table.name))
                        """), logger: PostgresStore.logger)
                }
            }
            var reports: [TableReport] = []
            for table in tables {
                let types = table.columns.map { targetColumns[table.name]?[$0] ?? .text }
                let target = try await checksum(of: table, types: types, on: connection)
                let source = sourceSums[table.name] ?? RowChecksum()
                reports.append(TableReport(table: table.name, sourceRows: source.rows, targetRows: target.rows,
                                           sourceChecksum: source.hex, targetChecksum: target.hex))
            }
            let failed = reports.filter { !$0.matches }.map(\.table)
            guard failed.isEmpty else { throw Failure.verificationFailed(failed) }
            return reports
        }
    }

    /// Reads a table back from PostgreSQL and sums it as the copy summed the source.
    private static func checksum(of table: SQLiteSnapshot.Table, types: [ColumnType],
                                 on connection: PostgresConnection) async throws -> RowChecksum {
        let list = zip(table.columns, types).map { column, type in
            type == .citext ? "\(quoted(column))::text" : quoted(column)
        }.joined(separator: ",")
        var sum = RowChecksum()
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(list) FROM \(quoted(table.name))"),
                                              logger: PostgresStore.logger)
        for try await row in rows {
            var values: [CopyValue] = []
            values.reserveCapacity(types.count)
            for (cell, type) in zip(row, types) {
                values.append(try CopyValue(cell, as: type))
            }
            sum.add(values)
        }
        return sum
    }

    /// Tables whose references all point at tables already copied come first; a cycle (users ↔
    /// mailboxes through `default_mailbox_id`) is broken at a nullable column, copied as NULL and
    /// set once its target rows exist.
    static func copyOrder(_ tables: [SQLiteSnapshot.Table]) -> [(table: SQLiteSnapshot.Table, deferred: Set<String>)] {
        var remaining = tables
        var placed = Set<String>()
        var order: [(table: SQLiteSnapshot.Table, deferred: Set<String>)] = []
        while !remaining.isEmpty {
            if let index = remaining.firstIndex(where: { table in
                table.references.allSatisfy { $0.table == table.name || placed.contains($0.table) }
            }) {
                let table = remaining.remove(at: index)
                let selfReferences = Set(table.references.filter { $0.table == table.name }.map(\.column))
                order.append((table, selfReferences))
                placed.insert(table.name)
                continue
            }
            // Stuck on a cycle: take a table whose unmet references can all be NULL for now (the
            // fewest of them); those columns wait.
            func unmet(_ table: SQLiteSnapshot.Table) -> [(column: String, table: String)] {
                table.references.filter { !placed.contains($0.table) }
            }
            let candidates = remaining.indices.filter { index in
                unmet(remaining[index]).allSatisfy { !remaining[index].required.contains($0.column) }
            }
            let index = (candidates.isEmpty ? Array(remaining.indices) : candidates).min {
                unmet(remaining[$0]).count < unmet(remaining[$1]).count
            } ?? remaining.startIndex
            let table = remaining.remove(at: index)
            let deferred = Set(table.references.filter { !placed.contains($0.table) || $0.table == table.name }.map(\.column))
            order.append((table, deferred))
            placed.insert(table.name)
        }
        return order
    }

    private static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func convert(_ value: DatabaseValue, to type: ColumnType, table: String, column: String) throws -> CopyValue {
        func bad(_ why: String) -> Failure { .badValue(table: table, column: column, why: why) }
        switch (value.storage, type) {
        case (.null, _): return .null
        case (.int64(let number), .integer): return .integer(number)
        case (.int64(let number), .boolean): return .boolean(number != 0)
        case (.double(let number), .integer) where number == number.rounded() && abs(number) < 9.0e18: return .integer(Int64(number))
        case (.int64(let number), .real): return .real(Double(number))
        case (.double(let number), .real): return .real(number)
        case (.string(let text), .text), (.string(let text), .citext):
            guard !text.utf8.contains(0) else { throw bad("PostgreSQL text cannot hold a NUL character") }
            return .text(text)
        case (.int64(let number), .text), (.int64(let number), .citext): return .text(String(number))
        case (.blob(let data), .bytes): return .bytes(Array(data))
        case (.string(let text), .bytes): return .bytes(Array(text.utf8))
        case (.blob(let data), .text), (.blob(let data), .citext):
            guard let text = String(data: data, encoding: .utf8), !text.utf8.contains(0) else { throw bad("a blob that is not UTF-8 text") }
            return .text(text)
        default:
            throw bad("SQLite holds \(value) where PostgreSQL expects \(type)")
        }
    }
}

/// The PostgreSQL column types Veil's schema uses, by what a copied value becomes.
enum ColumnType: Sendable, Equatable, CustomStringConvertible {
    case integer, boolean, real, text, citext, bytes

    init(informationSchema type: String, udt: String) {
        switch (type, udt) {
        case ("bigint", _), ("integer", _), ("smallint", _): self = .integer
        case ("boolean", _): self = .boolean
        case ("double precision", _), ("real", _): self = .real
        case ("bytea", _): self = .bytes
        case (_, "citext"): self = .citext
        default: self = .text
        }
    }

    var description: String {
        switch self {
        case .integer: return "an integer"
        case .boolean: return "a boolean"
        case .real: return "a number"
        case .text, .citext: return "text"
        case .bytes: return "bytes"
        }
    }
}

/// A value on its way from SQLite to PostgreSQL, in the one form both checksums read.
enum CopyValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case boolean(Bool)
    case real(Double)
    case text(String)
    case bytes([UInt8])

    init(_ cell: PostgresCell, as type: ColumnType) throws {
        guard cell.bytes != nil else { self = .null; return }
        switch type {
        case .integer: self = .integer(try cell.decode(Int64.self))
        case .boolean: self = .boolean(try cell.decode(Bool.self))
        case .real: self = .real(try cell.decode(Double.self))
        case .text, .citext: self = .text(try cell.decode(String.self))
        case .bytes:
            var buffer = try cell.decode(ByteBuffer.self)
            self = .bytes(buffer.readBytes(length: buffer.readableBytes) ?? [])
        }
    }

    func bind(into bindings: inout PostgresBindings) {
        switch self {
        case .null: bindings.appendNull()
        case .integer(let number): bindings.append(number)
        case .boolean(let flag): bindings.append(flag)
        case .real(let number): bindings.append(number)
        case .text(let text): bindings.append(text)
        case .bytes(let bytes): bindings.append(ByteBuffer(bytes: bytes))
        }
    }
}

/// An order-independent sum of rows: each row's SHA-256 added lane by lane (rows are unique by
/// their key, so none cancels another).
struct RowChecksum: Sendable {
    private(set) var rows = 0
    private var lanes: [UInt64] = [0, 0, 0, 0]

    mutating func add(_ values: [CopyValue]) {
        var hasher = SHA256()
        for value in values {
            switch value {
            case .null: hasher.update(data: [0])
            case .integer(let number): hasher.update(data: [1] + withUnsafeBytes(of: number.bigEndian, Array.init))
            case .boolean(let flag): hasher.update(data: [5, flag ? 1 : 0])
            case .real(let number): hasher.update(data: [2] + withUnsafeBytes(of: number.bitPattern.bigEndian, Array.init))
            case .text(let text):
                hasher.update(data: [3] + withUnsafeBytes(of: UInt64(text.utf8.count).bigEndian, Array.init))
                hasher.update(data: Array(text.utf8))
            case .bytes(let bytes):
                hasher.update(data: [4] + withUnsafeBytes(of: UInt64(bytes.count).bigEndian, Array.init))
                hasher.update(data: bytes)
            }
        }
        let digest = Array(hasher.finalize())
        for lane in 0..<4 {
            var word: UInt64 = 0
            for byte in digest[(lane * 8)..<(lane * 8 + 8)] { word = word << 8 | UInt64(byte) }
            lanes[lane] &+= word
        }
        rows += 1
    }

    var hex: String {
        lanes.map { String($0, radix: 16).leftPadded(to: 16) }.joined()
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// A SQLite database read in one snapshot: a read transaction opened once and held until `close`.
final class SQLiteSnapshot {
    struct Table: Sendable {
        let name: String
        let columns: [String]
        let references: [(column: String, table: String)]
        /// Columns declared NOT NULL: a reference through one cannot wait for its target.
        var required: Set<String> = []
    }

    private let queue: DatabaseQueue

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.notFound("no SQLite database at \(path)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "veil-move"
        configuration.busyMode = .timeout(10)
        // The snapshot is one read transaction held across many accesses, on purpose.
        configuration.allowsUnsafeTransactions = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.inDatabase { db in
            let missing = try Store.migrator().appliedIdentifiers(db)
            let absent = Store.migrationNames.filter { !missing.contains($0) }
            guard absent.isEmpty else { throw PostgresMove.Failure.sourceNotMigrated(missing: absent) }
            try db.execute(sql: "BEGIN DEFERRED")
            // The first read fixes the snapshot every later chunk reads.
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
        }
    }

    func close() {
        try? queue.inDatabase { db in try db.execute(sql: "COMMIT") }
    }

    func tables() throws -> [Table] {
        try queue.inDatabase { db in
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations' ORDER BY name
                """)
            return try names.map { name in
                let info = try Row.fetchAll(db, sql: "SELECT name, \"notnull\" FROM pragma_table_info(?) ORDER BY cid", arguments: [name])
                let columns = info.map { $0[0] as String }
                let required = Set(info.filter { ($0[1] as Int) != 0 }.map { $0[0] as String })
                let references = try Row.fetchAll(db, sql: "SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?)", arguments: [name])
                    .map { (column: $0[0] as String, table: $0[1] as String) }
                return Table(name: name, columns: columns, references: references, required: required)
            }
        }
    }

    func count(_ table: String) throws -> Int {
        try queue.inDatabase { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(table)\"") ?? 0 }
    }

    /// Up to `limit` rows after `rowid` `after`, in rowid order, and the last rowid read (nil at the end).
    func chunk(of table: Table, after: Int64, limit: Int) throws -> (rows: [[DatabaseValue]], last: Int64?) {
        let columns = table.columns.map { "\"\($0)\"" }.joined(separator: ",")
        return try queue.inDatabase { db in
            let rows = try Row.fetchAll(db, sql: "SELECT rowid, \(columns) FROM \"\(table.name)\" WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                        arguments: [after, limit])
            guard let last = rows.last else { return ([], nil) }
            return (rows.map { row in (1..<row.count).map { row[$0] as DatabaseValue } }, last[0] as Int64)
        }
    }
}
