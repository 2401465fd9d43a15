import Foundation
import GRDB
import Testing
import VeilCore
import VeilTestSupport
@testable import VeilStore

@Suite struct SQLStatementsTests {
    @Test func splitsAtSemicolonsOutsideQuotesBodiesAndComments() {
        let sql = """
            -- a comment; not a statement
            CREATE TABLE a (x TEXT DEFAULT 'semi;colon', "odd;name" INT);
            /* block; comment */ INSERT INTO a VALUES ('it''s; fine', 1);
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RETURN NEW;
            END $$;
            CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
            SELECT $1;
            -- trailing comment
            """
        let statements = SQLStatements.split(sql)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix(#"CREATE TABLE a (x TEXT DEFAULT 'semi;colon', "odd;name" INT)"#))
        #expect(statements[1].hasSuffix("INSERT INTO a VALUES ('it''s; fine', 1)"))
        #expect(statements[2].hasPrefix("CREATE FUNCTION f()") && statements[2].hasSuffix("END $$"))
        #expect(statements[3] == "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$")
        #expect(statements[4] == "SELECT $1")
    }

    @Test func emptyAndCommentOnlyTextHasNoStatements() {
        #expect(SQLStatements.split("").isEmpty)
        #expect(SQLStatements.split("-- nothing\n;\n  ;").isEmpty)
    }
}

@Suite struct DatabaseLocationTests {
    @Test func pathsAndSQLiteURLsAreFiles() throws {
        #expect(try DatabaseLocation(parsing: "./data/veil.sqlite") == .sqlite(path: "./data/veil.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:/var/lib/veil/veil.sqlite") == .sqlite(path: "/var/lib/veil/veil.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:///var/lib/veil.sqlite") == .sqlite(path: "/var/lib/veil.sqlite"))
        #expect(throws: DatabaseLocation.ParseError.self) { try DatabaseLocation(parsing: "sqlite:") }
        #expect(throws: DatabaseLocation.ParseError.self) { try DatabaseLocation(parsing: "mysql://a@b/c") }
    }

    @Test func postgresURLsCarryEverythingAndHideThePassword() throws {
        let location = try DatabaseLocation(parsing: "postgres://veil:s%40cret@db.example:6543/veil?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        guard case .postgres(let postgres) = location else { Issue.record("not postgres"); return }
        #expect(postgres == PostgresLocation(host: "db.example", port: 6543, user: "veil", password: "s@cret", database: "veil",
                                             tls: .verifyFull, caFile: "/etc/ca.pem"))
        #expect(location.description == "postgres://veil@db.example:6543/veil?sslmode=verify-full")
        let plain = try PostgresLocation(url: "postgresql://veil@localhost/veil")
        #expect(plain.port == 5432 && plain.password == nil && plain.tls == .prefer)
    }

    @Test func incompletePostgresURLsAreRefusedWithTheReason() {
        let cases = [
            ("postgres://localhost/veil", "no user"),
            ("postgres://veil@localhost", "no database name"),
            ("postgres://veil@localhost/veil?sslmode=sometimes", "sslmode must be"),
            ("postgres://veil@localhost/veil?pool=3", "unknown parameter pool"),
        ]
        for (url, reason) in cases {
            do {
                _ = try DatabaseLocation(parsing: url)
                Issue.record("accepted \(url)")
            } catch {
                #expect("\(error)".contains(reason), "\(url): \(error)")
            }
        }
    }
}

/// The PostgreSQL engine's migrations against a real server (`PostgresTestServer`).
@Suite struct PostgresSchemaTests {
    @Test func bothEnginesDefineTheSameTablesAndColumns() async throws {
        let sqlite = try TestDatabase().open()
        let sqliteTables = try await sqlite.pool.read { db -> [String: [String: Bool]] in
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'
                """)
            var tables: [String: [String: Bool]] = [:]
            for name in names {
                for row in try Row.fetchAll(db, sql: "SELECT name, \"notnull\", pk FROM pragma_table_info(?)", arguments: [name]) {
                    // SQLite lets a non-integer primary key column hold NULL unless it says NOT NULL;
                    // PostgreSQL never does. Veil's keys are NOT NULL on both.
                    let nullable = (row[1] as Int) == 0 && (row[2] as Int) == 0
                    tables[name, default: [:]][row[0] as String] = nullable
                }
            }
            return tables
        }
        let postgres = try PostgresStore(location: try await PostgresTestServer.freshDatabase())
        try await postgres.migrate()
        let postgresTables = try await postgres.tableColumns()
        #expect(Set(postgresTables.keys) == Set(sqliteTables.keys))
        for (table, columns) in sqliteTables {
            #expect(postgresTables[table] == columns, "table \(table) differs")
        }
        #expect(try await postgres.appliedMigrations() == PostgresStore.migrationNames)
        #expect(PostgresStore.migrationNames == Store.migrationNames)
        await postgres.close()
    }

    @Test func nodesMigratingTogetherApplyEachMigrationOnce() async throws {
        let location = try await PostgresTestServer.freshDatabase()
        let nodes = try (0..<4).map { _ in try PostgresStore(location: location, maxConnections: 2) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for node in nodes { group.addTask { try await node.migrate() } }
            try await group.waitForAll()
        }
        for node in nodes {
            #expect(try await node.isFullyMigrated())
            #expect(try await node.appliedMigrations() == PostgresStore.migrationNames)
        }
        for node in nodes { await node.close() }
    }

    @Test func aMigrationStopsWhereAsked() async throws {
        let store = try PostgresStore(location: try await PostgresTestServer.freshDatabase())
        #expect(try await store.appliedMigrations() == [])
        try await store.migrate(upTo: "0002_alias_counters")
        #expect(try await store.appliedMigrations() == ["0001_initial", "0002_alias_counters"])
        #expect(try await store.isFullyMigrated() == false)
        try await store.migrate()
        #expect(try await store.isFullyMigrated())
        await store.close()
    }
}

@Suite struct PostgresSecretsTests {
    @Test func nodesStartingTogetherCreateEachSecretOnce() async throws {
        let location = try await PostgresTestServer.freshDatabase()
        let first = try PostgresStore(location: location)
        try await first.migrate()
        let nodes = try (0..<4).map { _ in try PostgresStore(location: location, maxConnections: 2) }
        let seen = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for node in nodes { group.addTask { try await node.secret(.verp) } }
            var all: [[UInt8]] = []
            for try await value in group { all.append(value) }
            return all
        }
        #expect(Set(seen).count == 1 && seen[0].count == 32)
        try await first.ensureSecrets()
        #expect(try await first.tableRows("instance_secrets", columns: ["name"]).count == InstanceSecret.allCases.count)
        #expect(try await first.secret(.verp) == seen[0])
        for node in nodes + [first] { await node.close() }
    }
}
