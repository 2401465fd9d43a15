import Foundation
import GRDB
import Synchronization
import VeilCore
import Testing
import VeilTestSupport
@testable import VeilStore

/// `veil migrate-to-postgres`'s copy, from a SQLite file with a row in every table to a real
/// PostgreSQL server.
@Suite struct PostgresMoveTests {
    /// Rows in every table, with what a copy could get wrong: the users ↔ mailboxes cycle, mixed-case
    /// addresses, binary blobs with NUL bytes, real numbers, NULLs, counters the triggers keep.
    static func populatedSQLite() throws -> TestDatabase {
        let database = TestDatabase()
        let store = try database.open()
        try store.ensureSecrets()
        try store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO users (id, email, name, password_hash, activated, is_premium, trial_end, created_at, profile_picture, profile_picture_type)
                    VALUES (1, 'Owner@Example.com', 'Zoë Ünïcode', '$2b$12$abc', 1, 1, NULL, 1700000000, X'89504E470D0A1A0A0000', 'image/png');
                INSERT INTO users (id, email, activated, created_at, is_admin) VALUES (2, 'second@example.com', 0, 1700000001, 1);
                INSERT INTO mailboxes (id, user_id, email, verified, created_at) VALUES (10, 1, 'Owner@Example.com', 1, 1700000000);
                INSERT INTO mailboxes (id, user_id, email, verified, pgp_public_key, disabled_at, created_at)
                    VALUES (11, 1, 'other@example.org', 1, '-----BEGIN PGP PUBLIC KEY BLOCK-----', 1700000500, 1700000002);
                INSERT INTO mailboxes (id, user_id, email, created_at) VALUES (12, 2, 'second@example.com', 1700000003);
                UPDATE users SET default_mailbox_id = 10 WHERE id = 1;
                UPDATE users SET default_mailbox_id = 12 WHERE id = 2;
                INSERT INTO api_keys (user_id, name, key_hash, derivation_salt, last_used, times, created_at)
                    VALUES (1, 'Chrome', 'abc123', X'00FF00FF', 1700000100, 42, 1700000000);
                INSERT INTO mfa_secrets (user_id, totp_secret, enabled, last_used_step, created_at) VALUES (1, 'JBSWY3DPEHPK3PXP', 1, 566666, 1700000000);
                INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (1, 'h1', 1700000000);
                INSERT INTO authorized_addresses (user_id, mailbox_id, email, created_at) VALUES (1, 11, 'alt@example.org', 1700000000);
                INSERT INTO custom_domains (id, user_id, domain, verified, catch_all, ownership_token, dkim_private_key, dkim_ed25519_key, created_at)
                    VALUES (5, 1, 'Mine.Example', 1, 1, 'tok', '-----BEGIN PRIVATE KEY-----', X'0102030405', 1700000000);
                UPDATE users SET default_custom_domain_id = 5 WHERE id = 1;
                INSERT INTO custom_domain_mailboxes (custom_domain_id, mailbox_id) VALUES (5, 11);
                INSERT INTO aliases (id, user_id, email, note, mailbox_id, created_at) VALUES (100, 1, 'Shop.Fox@veil.test', 'a "note"; with, commas', 10, 1700000000);
                INSERT INTO aliases (id, user_id, email, mailbox_id, custom_domain_id, pinned, trashed_at, created_at)
                    VALUES (101, 1, 'hello@mine.example', 11, 5, 1, 1700009000, 1700000001);
                INSERT INTO alias_mailboxes (alias_id, mailbox_id) VALUES (100, 11);
                INSERT INTO alias_hostnames (user_id, alias_id, hostname, created_at) VALUES (1, 100, 'shop.example', 1700000000);
                INSERT INTO deleted_aliases (email, user_id, custom_domain_id, reason, created_at) VALUES ('gone@mine.example', 1, 5, 'deleted', 1700000000);
                INSERT INTO contacts (id, user_id, alias_id, website_email, name, reply_email, created_at)
                    VALUES (200, 1, 100, 'News@Shop.Example', 'Shop', 'news_at_shop.abc@veil.test', 1700000000);
                INSERT INTO refused_emails (id, user_id, full_report, original, delete_at, created_at)
                    VALUES (300, 1, X'00', X'46726F6D3A20780D0A0D0A00', 1700600000, 1700000000);
                INSERT INTO email_logs (id, user_id, alias_id, contact_id, mailbox_id, created_at) VALUES (400, 1, 100, 200, 10, 1700001000);
                INSERT INTO email_logs (id, user_id, alias_id, contact_id, mailbox_id, is_reply, created_at) VALUES (401, 1, 100, 200, 10, 1, 1700002000);
                INSERT INTO email_logs (id, user_id, alias_id, contact_id, blocked, is_spam, spam_score, refused_email_id, created_at)
                    VALUES (402, 1, 100, 200, 1, 1, 7.25, 300, 1700003000);
                INSERT INTO message_id_matches (veil_message_id, original_message_id, email_log_id, created_at) VALUES ('<v@veil>', '<o@mail>', 401, 1700002000);
                INSERT INTO bounces (email, info, created_at) VALUES ('Bouncy@Example.com', '550 5.1.1', 1700000000);
                INSERT INTO transactional_emails (email, created_at) VALUES ('owner@example.com', 1700000000);
                INSERT INTO sent_alerts (user_id, alert_type, to_email, created_at) VALUES (1, 'bounce', 'owner@example.com', 1700000000);
                INSERT INTO notifications (user_id, title, message, read, created_at) VALUES (1, 'Hi', 'Welcome ✓', 1, 1700000000);
                INSERT INTO one_time_codes (user_id, mailbox_id, purpose, channel, recipient, code_hash, tries_left, max_tries, expires_at, created_at)
                    VALUES (2, 12, 'account_activation', 'email', 'second@example.com', 'hash', 3, 3, 1700003600, 1700000000);
                INSERT INTO phone_countries (id, name, iso_code, calling_code) VALUES (1, 'France', 'FR', '+33');
                INSERT INTO phone_numbers (id, country_id, number, created_at) VALUES (1, 1, '+33100000000', 1700000000);
                INSERT INTO phone_reservations (number_id, user_id, start_at, end_at, created_at) VALUES (1, 1, 1700000000, 1700003600, 1700000000);
                INSERT INTO phone_messages (number_id, from_number, body, otp_code, created_at) VALUES (1, '+33200000000', 'Your code is 123456', '123456', 1700000100);
                INSERT INTO apple_subscriptions (user_id, original_transaction_id, expires_at, receipt, created_at) VALUES (1, 't1', 1800000000, 'receipt', 1700000000);
                INSERT INTO outbound_queue (email_log_id, envelope_from, envelope_to, data, attempts, next_attempt_at, created_at)
                    VALUES (400, 'a@veil.test', 'owner@example.com', X'5375626A6563743A20780D0A0D0A626F6479', 2, 1700000600, 1700000000);
                INSERT INTO jobs (name, payload, run_at, created_at) VALUES ('delete_mailbox', '{"id": 11}', 1700000000, 1700000000);
                INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created_at) VALUES ('veil.test', 'veil', 'rsa', 'PEM', 1700000000);
                INSERT INTO web_sessions (token_hash, user_id, csrf_token, user_agent, created_at, last_seen, expires_at)
                    VALUES ('th', 1, 'csrf', 'Mozilla/5.0', 1700000000, 1700000000, 1702592000);
                INSERT INTO web_login_tokens (token_hash, user_id, expires_at) VALUES ('lt', 1, 1700000300);
                """)
        }
        return database
    }

    static func sqliteCounts(_ store: Store) throws -> [String: Int] {
        try store.pool.read { db in
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'
                """)
            return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\($0)\"") ?? 0) })
        }
    }

    @Test func everyTableIsCopiedAndVerified() async throws {
        let database = try Self.populatedSQLite()
        let source = try database.open()
        let counts = try Self.sqliteCounts(source)
        // A table added later without rows here would be copied untested.
        for (table, rows) in counts { #expect(rows > 0, "no rows in \(table): populate it in this test") }
        let alias = try #require(try source.alias(email: "shop.fox@veil.test"))
        #expect(alias.nbForward == 1 && alias.nbReply == 1 && alias.nbBlock == 1)

        let target = try PostgresStore(location: try await PostgresTestServer.freshDatabase())
        let seen = Mutex<[String: Int]>([:])
        let reports: [PostgresMove.TableReport]
        do {
            reports = try await PostgresMove.run(from: database.path, to: target) { progress in
                seen.withLock { $0[progress.table] = progress.copied }
                #expect(progress.allCopied <= progress.allTotal)
            }
        } catch {
            Issue.record("move failed: \(PostgresStore.explain(error))")
            await target.close()
            return
        }
        #expect(Set(reports.map(\.table)) == Set(counts.keys))
        for report in reports {
            #expect(report.matches, "\(report.table) differs")
            #expect(report.targetRows == counts[report.table])
            #expect(report.sourceChecksum.count == 64)
        }
        #expect(seen.withLock { $0 } == counts)
        // Counters came across as they were, not counted again by the target's triggers.
        let copied = try await target.tableRows("aliases", columns: ["id", "nb_forward", "nb_block", "nb_reply", "latest_email_log_id"])
        #expect(copied.contains(["100", "1", "1", "1", "402"]))
        // Identities continue after the copied ids.
        #expect(try await target.nextIdentity(of: "users") == 3)
        #expect(try await target.nextIdentity(of: "email_logs") == 403)
        // The cycle's columns are set.
        #expect(try await target.tableRows("users", columns: ["id", "default_mailbox_id", "default_custom_domain_id"])
            .sorted { $0[0] < $1[0] } == [["1", "10", "5"], ["2", "12", "NULL"]])
        await target.close()
    }

    @Test func aTargetWithRowsIsRefusedAndKeptAsItWas() async throws {
        let database = try Self.populatedSQLite()
        let location = try await PostgresTestServer.freshDatabase()
        let target = try PostgresStore(location: location)
        _ = try await PostgresMove.run(from: database.path, to: target)
        await #expect(throws: PostgresMove.Failure.targetNotEmpty(table: "alias_hostnames", rows: 1)) {
            try await PostgresMove.run(from: database.path, to: target)
        }
        #expect(try await target.tableRows("users", columns: ["id"]).count == 2)
        await target.close()
    }

    @Test func aSourceBehindThisVersionIsRefused() async throws {
        let database = TestDatabase()
        try database.open(migrate: false).migrate(upTo: "0005_log_retention_index")
        let target = try PostgresStore(location: try await PostgresTestServer.freshDatabase())
        do {
            _ = try await PostgresMove.run(from: database.path, to: target)
            Issue.record("copied an old schema")
        } catch let failure as PostgresMove.Failure {
            guard case .sourceNotMigrated(let missing) = failure else { Issue.record("\(failure)"); return }
            #expect(missing.first == "0006_mailbox_recovery")
            #expect(failure.description.contains("veil migrate"))
        }
        await target.close()
    }

    @Test func copyOrderBreaksTheCycleAtTheNullableColumn() {
        let tables = [
            SQLiteSnapshot.Table(name: "aliases", columns: ["id", "user_id", "mailbox_id"],
                                 references: [("user_id", "users"), ("mailbox_id", "mailboxes")], required: ["id", "user_id", "mailbox_id"]),
            SQLiteSnapshot.Table(name: "mailboxes", columns: ["id", "user_id"], references: [("user_id", "users")],
                                 required: ["id", "user_id"]),
            SQLiteSnapshot.Table(name: "users", columns: ["id", "default_mailbox_id"], references: [("default_mailbox_id", "mailboxes")], required: ["id"]),
        ]
        let order = PostgresMove.copyOrder(tables)
        #expect(order.map(\.table.name) == ["users", "mailboxes", "aliases"])
        #expect(order.map(\.deferred) == [["default_mailbox_id"], [], []])
    }
}
