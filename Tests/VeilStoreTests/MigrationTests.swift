import Foundation
import GRDB
import Testing
import VeilCore
@testable import VeilStore

@Suite struct MigrationTests {
    static let expectedTables = [
        "users", "api_keys", "mfa_secrets", "recovery_codes", "mailboxes", "authorized_addresses", "custom_domains",
        "custom_domain_mailboxes", "aliases", "alias_mailboxes", "alias_hostnames", "deleted_aliases", "contacts",
        "refused_emails", "email_logs", "message_id_matches", "bounces", "transactional_emails", "sent_alerts",
        "notifications", "one_time_codes", "phone_countries", "phone_numbers", "phone_reservations", "phone_messages",
        "apple_subscriptions", "outbound_queue", "jobs", "instance_secrets",
    ]

    @Test func freshDatabaseHasEveryTableInWALWithForeignKeys() throws {
        let database = TestDatabase()
        let store = try database.open()
        let tables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for table in Self.expectedTables { #expect(tables.contains(table), "missing table \(table)") }
        #expect(try store.journalMode() == "wal")
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") } == 1)
        #expect(try store.isFullyMigrated())
        #expect(try store.appliedMigrations() == Store.migrationNames)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func hotLookupsUseIndexes() throws {
        let store = try TestDatabase().open()
        let plans: [(String, String)] = [
            ("SELECT * FROM aliases WHERE email = 'a@b.c'", "aliases"),
            ("SELECT * FROM contacts WHERE reply_email = 'a@b.c'", "contacts"),
            ("SELECT * FROM contacts WHERE alias_id = 1 AND website_email = 'a@b.c'", "contacts"),
            ("SELECT * FROM email_logs WHERE alias_id = 1 ORDER BY created_at DESC", "email_logs"),
            // Retention's batches (Store.prune).
            ("SELECT id FROM email_logs WHERE created_at < 5 ORDER BY created_at LIMIT 1000", "email_logs_created"),
            ("SELECT id FROM notifications WHERE created_at < 5 ORDER BY created_at LIMIT 1000", "notifications_created"),
        ]
        for (sql, table) in plans {
            let plan = try store.pool.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
            }
            #expect(plan.contains("USING") && plan.contains("INDEX"), "\(table) lookup scans: \(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "\(table) lookup sorts: \(plan)")
            if table.hasSuffix("_created") { #expect(plan.contains(table), "expected \(table): \(plan)") }
        }
    }

    @Test func databaseFromMigrationOneUpgradesInPlaceWithItsData() throws {
        let database = TestDatabase()
        let old = try database.open(migrate: false)
        try old.migrate(upTo: "0001_initial")
        #expect(try old.appliedMigrations() == ["0001_initial"])
        // Rows written by a version that only knew migration 1.
        try old.pool.write { db in
            try db.execute(sql: """
                INSERT INTO users (id, email, activated, created_at) VALUES (1, 'old@example.com', 1, 1000);
                INSERT INTO mailboxes (id, user_id, email, verified, created_at) VALUES (1, 1, 'old@example.com', 1, 1000);
                INSERT INTO aliases (id, user_id, email, mailbox_id, created_at) VALUES (1, 1, 'a@veil.test', 1, 1000);
                INSERT INTO contacts (id, user_id, alias_id, website_email, reply_email, created_at)
                    VALUES (1, 1, 1, 'c@example.com', 'rev@veil.test', 1000);
                INSERT INTO email_logs (user_id, alias_id, contact_id, mailbox_id, created_at) VALUES (1, 1, 1, 1, 2000);
                INSERT INTO email_logs (user_id, alias_id, contact_id, mailbox_id, created_at) VALUES (1, 1, 1, 1, 2001);
                INSERT INTO email_logs (user_id, alias_id, contact_id, blocked, created_at) VALUES (1, 1, 1, 1, 2002);
                INSERT INTO email_logs (user_id, alias_id, contact_id, mailbox_id, is_reply, created_at) VALUES (1, 1, 1, 1, 1, 2003);
                """)
        }
        let upgraded = try database.open()
        #expect(try upgraded.appliedMigrations() == Store.migrationNames)
        let alias = try #require(try upgraded.alias(email: "A@VEIL.TEST"))
        #expect(alias.nbForward == 2)
        #expect(alias.nbBlock == 1)
        #expect(alias.nbReply == 1)
        #expect(alias.latestEmailLogId == 4)
        #expect(alias.lastActivityAt == Date(timeIntervalSince1970: 2003))
        let contact = try #require(try upgraded.contact(reverseAlias: "rev@veil.test"))
        #expect(contact.lastEmailSentAt == Date(timeIntervalSince1970: 2003))
        #expect(try upgraded.integrityCheck() == "ok")
    }

    @Test func migratingTwiceChangesNothing() throws {
        let database = TestDatabase()
        try database.open().migrate()
        let again = try database.open()
        #expect(try again.appliedMigrations() == Store.migrationNames)
    }
}

@Suite struct SnakeCaseTests {
    @Test func columnsAndPropertiesConvertBothWays() {
        #expect(SnakeCase.codingKey("include_sender_in_reverse_alias").stringValue == "includeSenderInReverseAlias")
        #expect(SnakeCase.codingKey("id").stringValue == "id")
        #expect(SnakeCase.column(SnakeCase.Key(stringValue: "nbForward")) == "nb_forward")
        #expect(SnakeCase.column(SnakeCase.Key(stringValue: "dkimPrivateKey")) == "dkim_private_key")
        // Cached answers are the same answers.
        #expect(SnakeCase.codingKey("include_sender_in_reverse_alias").stringValue == "includeSenderInReverseAlias")
    }
}
