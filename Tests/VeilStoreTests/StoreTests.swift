import Foundation
import GRDB
import Testing
import VeilCore
@testable import VeilStore

@Suite struct UserStoreTests {
    @Test func createUserMakesTheDefaultMailbox() throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: "Me", passwordHash: nil, activated: true, isPremium: false)
        let userId = try #require(user.id)
        let mailboxes = try store.mailboxes(userId: userId)
        #expect(mailboxes.count == 1)
        #expect(mailboxes.first?.email == "me@example.com")
        #expect(mailboxes.first?.verified == true)
        #expect(try store.user(id: userId)?.defaultMailboxId == mailboxes.first?.id)
        let stored = try #require(try store.user(email: "ME@example.com"))
        #expect(stored.aliasGenerator == .word && stored.senderFormat == .at && stored.notification)
        #expect(stored.blockBehaviour == .return2xx && stored.randomAliasSuffix == .word)
    }

    /// Times are INTEGER Unix seconds in every table, whether written by a record or by SQL, so
    /// that SQL comparisons and the triggers' max() see numbers.
    @Test func timesAreStoredAsIntegerSeconds() throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "t@example.com", name: nil, passwordHash: nil, activated: true, isPremium: false,
                                        trialEnd: Date(timeIntervalSince1970: 2_000_000_000), now: Date(timeIntervalSince1970: 1_000))
        let alias = try store.createAlias(userId: try #require(user.id), email: "t@veil.test", mailboxIds: [try #require(user.defaultMailboxId)],
                                          now: Date(timeIntervalSince1970: 1_500))
        _ = alias
        let types = try store.pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT typeof(created_at) FROM users UNION ALL SELECT typeof(trial_end) FROM users
                UNION ALL SELECT typeof(created_at) FROM mailboxes UNION ALL SELECT typeof(created_at) FROM aliases
                UNION ALL SELECT typeof(last_activity_at) FROM aliases
                """)
        }
        #expect(types == Array(repeating: "integer", count: 5))
        #expect(try store.alias(email: "t@veil.test")?.createdAt == Date(timeIntervalSince1970: 1_500))
        #expect(try store.user(email: "t@example.com")?.trialEnd == Date(timeIntervalSince1970: 2_000_000_000))
    }

    @Test func emailsAreUniqueWhateverTheirCase() throws {
        let store = try TestDatabase().open()
        _ = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: false)
        #expect(throws: StoreError.self) {
            try store.createUser(email: "Me@Example.com", name: nil, passwordHash: nil, activated: true, isPremium: false)
        }
        #expect(try store.listUsers().count == 1)
    }

    @Test func apiKeysAuthenticateAndCountUse() throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: false)
        let key = try store.createApiKey(userId: try #require(user.id), name: "laptop")
        let stored = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT key_hash FROM api_keys") }
        #expect(stored == [ApiKeyRule.hash(key)])
        #expect(try store.authenticate(apiKey: "nope") == nil)
        _ = try store.authenticate(apiKey: key, now: Date(timeIntervalSince1970: 4000))
        let second = try #require(try store.authenticate(apiKey: key, now: Date(timeIntervalSince1970: 5000)))
        #expect(second.user.email == "me@example.com")
        #expect(second.key.times == 2)
        #expect(second.key.lastUsed == Date(timeIntervalSince1970: 5000))
        // The uses reach the database together.
        try store.flushKeyUsage()
        let row = try store.pool.read { db in try Row.fetchOne(db, sql: "SELECT times, last_used FROM api_keys") }
        #expect(row?["times"] == 2 && row?["last_used"] == Int64(5000))
        _ = try store.authenticate(apiKey: key, now: Date(timeIntervalSince1970: 6000))
        try store.flushKeyUsage()
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT times FROM api_keys") } == 3)
    }

    @Test func deletingAUserRemovesTheirRowsAndRetiresTheirAliases() throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: false)
        let userId = try #require(user.id)
        let alias = try store.createAlias(userId: userId, email: "shop@veil.test", mailboxIds: [try #require(user.defaultMailboxId)])
        _ = try store.findOrCreateContact(alias: alias, websiteEmail: "c@example.com", name: nil,
                                          reverseAliasDomain: "veil.test", includeSender: false)
        #expect(try store.deleteUser(email: "me@example.com"))
        #expect(try store.deleteUser(email: "me@example.com") == false)
        #expect(try store.alias(email: "shop@veil.test") == nil)
        #expect(try store.isAddressTaken("shop@veil.test"))
        let leftovers = try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM mailboxes) + (SELECT count(*) FROM contacts)")
        }
        #expect(leftovers == 0)
    }

    @Test func premiumFlagCanBeSetAndCleared() throws {
        let store = try TestDatabase().open()
        _ = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: false)
        #expect(try store.setPremium(email: "me@example.com", true))
        #expect(try store.user(email: "me@example.com")?.isPremium == true)
        #expect(try store.setPremium(email: "nobody@example.com", true) == false)
    }

    @Test func secretsAreCreatedOnceAndShared() throws {
        let database = TestDatabase()
        let first = try database.open().secret(.suffixSigning)
        #expect(first.count == 32)
        #expect(try database.open().secret(.suffixSigning) == first)
        #expect(try database.open().secret(.verp) != first)
    }
}

@Suite struct AliasStoreTests {
    func userWithMailbox(_ store: Store, _ email: String = "me@example.com") throws -> (userId: Int64, mailboxId: Int64) {
        let user = try store.createUser(email: email, name: nil, passwordHash: nil, activated: true, isPremium: false)
        return (try #require(user.id), try #require(user.defaultMailboxId))
    }

    @Test func aliasAddressesAreUniqueAndCaseInsensitive() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let alias = try store.createAlias(userId: owner.userId, email: "shop@veil.test", mailboxIds: [owner.mailboxId])
        #expect(try store.alias(email: "SHOP@veil.TEST")?.id == alias.id)
        #expect(throws: StoreError.conflict("alias Shop@veil.test already exists")) {
            try store.createAlias(userId: owner.userId, email: "Shop@veil.test", mailboxIds: [owner.mailboxId])
        }
    }

    @Test func trashedAliasesCanNeverBeCreatedAgain() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let alias = try store.createAlias(userId: owner.userId, email: "gone@veil.test", mailboxIds: [owner.mailboxId])
        #expect(try store.aliasCount(userId: owner.userId) == 1)
        #expect(try store.trashAlias(id: try #require(alias.id), userId: owner.userId))
        #expect(try store.aliasCount(userId: owner.userId) == 0)
        #expect(try store.alias(email: "gone@veil.test")?.enabled == false)
        #expect(throws: StoreError.self) {
            try store.createAlias(userId: owner.userId, email: "gone@veil.test", mailboxIds: [owner.mailboxId])
        }
    }

    @Test func rowsOfAnotherUserAreInvisible() throws {
        let store = try TestDatabase().open()
        let alice = try userWithMailbox(store, "alice@example.com")
        let bob = try userWithMailbox(store, "bob@example.com")
        let alias = try store.createAlias(userId: alice.userId, email: "a@veil.test", mailboxIds: [alice.mailboxId])
        let aliasId = try #require(alias.id)
        #expect(try store.alias(id: aliasId, userId: bob.userId) == nil)
        #expect(try store.alias(id: aliasId, userId: alice.userId) != nil)
        #expect(try store.trashAlias(id: aliasId, userId: bob.userId) == false)
        #expect(try store.emailLogs(aliasId: aliasId, userId: bob.userId, limit: 20, offset: 0).isEmpty)
        // Bob cannot attach his alias to Alice's mailbox.
        #expect(throws: StoreError.self) {
            try store.createAlias(userId: bob.userId, email: "b@veil.test", mailboxIds: [alice.mailboxId])
        }
    }

    @Test func extraMailboxesFollowThePrimary() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let extra = try store.pool.write { db -> Int64 in
            var mailbox = Mailbox(userId: owner.userId, email: "b@example.com", verified: true, createdAt: Date())
            try mailbox.insert(db)
            return try #require(mailbox.id)
        }
        let alias = try store.createAlias(userId: owner.userId, email: "two@veil.test", mailboxIds: [extra, owner.mailboxId])
        #expect(try store.mailboxes(ofAlias: alias).map(\.email) == ["b@example.com", "me@example.com"])
    }

    @Test func contactsGetUniqueReverseAliasesAndAreFoundAgain() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let alias = try store.createAlias(userId: owner.userId, email: "a@veil.test", mailboxIds: [owner.mailboxId])
        let (contact, existed) = try store.findOrCreateContact(
            alias: alias, websiteEmail: "First@Example.com", name: "First", reverseAliasDomain: "veil.test", includeSender: true)
        #expect(!existed)
        #expect(contact.replyEmail.hasPrefix("first_at_example_com_"))
        #expect(contact.replyEmail.hasSuffix("@veil.test"))
        let again = try store.findOrCreateContact(
            alias: alias, websiteEmail: "first@example.com", name: "First Last", reverseAliasDomain: "veil.test", includeSender: true)
        #expect(again.existed)
        #expect(again.contact.id == contact.id)
        #expect(again.contact.name == "First Last")
        #expect(try store.contact(reverseAlias: contact.replyEmail.uppercased())?.id == contact.id)
        #expect(try store.isAddressTaken(contact.replyEmail))
    }

    @Test func countersAndLatestActivityFollowTheLogs() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let alias = try store.createAlias(userId: owner.userId, email: "a@veil.test", mailboxIds: [owner.mailboxId],
                                          now: Date(timeIntervalSince1970: 100))
        let aliasId = try #require(alias.id)
        let contact = try store.findOrCreateContact(alias: alias, websiteEmail: "c@example.com", name: nil,
                                                    reverseAliasDomain: "veil.test", includeSender: false).contact
        let at = { (t: Int) in Date(timeIntervalSince1970: TimeInterval(t)) }
        try store.insertEmailLog(EmailLog(userId: owner.userId, aliasId: aliasId, contactId: contact.id, mailboxId: owner.mailboxId, createdAt: at(200)))
        try store.insertEmailLog(EmailLog(userId: owner.userId, aliasId: aliasId, contactId: contact.id, mailboxId: nil, blocked: true, createdAt: at(300)))
        let reply = try store.insertEmailLog(EmailLog(userId: owner.userId, aliasId: aliasId, contactId: contact.id,
                                                      mailboxId: owner.mailboxId, isReply: true, createdAt: at(400)))
        var current = try #require(try store.alias(email: "a@veil.test"))
        #expect((current.nbForward, current.nbBlock, current.nbReply) == (1, 1, 1))
        #expect(current.latestEmailLogId == reply.id)
        #expect(current.lastActivityAt == at(400))
        #expect(try store.contact(reverseAlias: contact.replyEmail)?.lastEmailSentAt == at(400))
        try store.pool.write { db in _ = try EmailLog.deleteOne(db, key: reply.id) }
        current = try #require(try store.alias(email: "a@veil.test"))
        #expect(current.nbReply == 0)
        #expect(current.latestEmailLogId == reply.id.map { $0 - 1 })
        #expect(try store.contact(reverseAlias: contact.replyEmail)?.lastEmailSentAt == nil)
        let logs = try store.emailLogs(aliasId: aliasId, userId: owner.userId, limit: 20, offset: 0)
        #expect(logs.map(\.action) == [.block, .forward])
    }

    /// The page reads its records by position from one joined statement; they must equal the
    /// records read by name, NULLs and every column included.
    @Test func aliasPageRecordsEqualTheRecordsReadByName() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let second = try store.pool.write { db -> Int64 in
            try db.execute(sql: "INSERT INTO mailboxes (user_id, email, verified, pgp_public_key, created_at) VALUES (?, 'b@example.org', 1, 'KEY', 5)",
                           arguments: [owner.userId])
            return db.lastInsertedRowID
        }
        _ = try store.createAlias(userId: owner.userId, email: "quiet@veil.test", mailboxIds: [owner.mailboxId],
                                          note: "note, with \"quotes\"", now: Date(timeIntervalSince1970: 100))
        let busy = try store.createAlias(userId: owner.userId, email: "busy@veil.test", mailboxIds: [owner.mailboxId, second],
                                         name: "Zoë", now: Date(timeIntervalSince1970: 50))
        let contact = try store.findOrCreateContact(alias: busy, websiteEmail: "c@example.com", name: "Ç", reverseAliasDomain: "veil.test",
                                                    includeSender: false).contact
        try store.insertEmailLog(EmailLog(userId: owner.userId, aliasId: try #require(busy.id), contactId: contact.id,
                                          mailboxId: owner.mailboxId, messageId: "<m@x>", createdAt: Date(timeIntervalSince1970: 300)))
        let page = try store.aliasPage(userId: owner.userId, page: 0, filter: .all, query: nil)
        #expect(page.map(\.alias.email) == ["busy@veil.test", "quiet@veil.test"])
        let byName = try store.pool.read { db in
            try page.map { view in
                (alias: try Alias.fetchOne(db, key: view.alias.id),
                 log: try view.alias.latestEmailLogId.flatMap { try EmailLog.fetchOne(db, key: $0) },
                 mailboxes: try Mailbox.fetchAll(db, keys: view.alias.id == busy.id ? [owner.mailboxId, second] : [owner.mailboxId]))
            }
        }
        let contactByName = try store.contact(id: try #require(contact.id), userId: owner.userId)
        for (view, expected) in zip(page, byName) {
            #expect(view.alias == expected.alias)
            #expect(view.latestActivity?.createdAt == expected.log?.createdAt)
            #expect(view.latestActivity?.action == expected.log?.action)
            #expect(view.mailboxes == expected.mailboxes.map(AliasView.MailboxRef.init))
        }
        let activityContact = try #require(page[0].latestActivity?.contact)
        #expect(activityContact == AliasView.ContactRef(websiteEmail: contactByName?.websiteEmail ?? "", name: contactByName?.name,
                                                        replyEmail: contactByName?.replyEmail ?? ""))
        #expect(activityContact.name == "Ç" && page[0].latestActivity?.action == .forward)
        #expect(page[0].mailboxes.map(\.hasPGPKey) == [false, true])  // the second mailbox has a key
        #expect(page[1].latestActivity == nil && page[1].alias.note == "note, with \"quotes\"")
    }

    @Test func usersAndKeysReadByPositionEqualTheRowsReadByName() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        try store.pool.write { db in
            try db.execute(sql: """
                UPDATE users SET name = 'Zoë', trial_end = 77, delete_on = 88, alias_generator = 'uuid', sender_format = 'NAME_ONLY',
                    random_alias_suffix = 'random_string', block_behaviour = 'return_5xx', notification = 0,
                    include_sender_in_reverse_alias = 1, random_alias_default_domain = 'veil.test', profile_picture = x'00ff'
                WHERE id = ?
                """, arguments: [owner.userId])
        }
        let key = try store.createApiKey(userId: owner.userId, name: "phone")
        let positional = try #require(try store.authenticate(apiKey: key))
        let byName = try store.pool.read { db in (try User.fetchOne(db, key: owner.userId), try ApiKey.fetchOne(db, key: positional.key.id)) }
        #expect(positional.user == byName.0)
        #expect(try store.user(id: owner.userId) == byName.0)
        #expect(positional.user.senderFormat == .nameOnly && positional.user.blockBehaviour == .return5xx && positional.user.name == "Zoë")
        var expectedKey = try #require(byName.1)
        expectedKey.times += 1
        expectedKey.lastUsed = positional.key.lastUsed
        #expect(positional.key == expectedKey)
    }

    @Test func forwardContextGathersWhatTheForwardPhaseDecidesOn() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let second = try store.pool.write { db -> Int64 in
            try db.execute(sql: "INSERT INTO mailboxes (user_id, email, verified, created_at) VALUES (?, 'loop@veil.test', 1, 5)",
                           arguments: [owner.userId])
            return db.lastInsertedRowID
        }
        try store.addAuthorizedAddress(userId: owner.userId, mailboxId: owner.mailboxId, email: "Work@Example.org")
        let alias = try store.createAlias(userId: owner.userId, email: "shop@veil.test", mailboxIds: [owner.mailboxId, second])
        _ = try store.createAlias(userId: owner.userId, email: "loop@veil.test", mailboxIds: [owner.mailboxId])
        let known = try store.upsertContact(alias: alias, websiteEmail: "known@example.com", name: "Known", mailFrom: nil,
                                            reverseAliasDomain: "veil.test", includeSender: false)

        let context = try #require(try store.forwardContext(alias: alias, senderAddress: "known@example.com"))
        #expect(context.user.id == owner.userId)
        #expect(context.mailboxes.map(\.id) == [owner.mailboxId, second])
        #expect(context.ownAddresses == ["me@example.com", "loop@veil.test", "work@example.org"])
        #expect(context.mailboxIdsThatAreAliases == [second])
        #expect(context.domainVerified && !context.senderIsReverseAlias)
        #expect(context.senderContact == known)

        let fromReverse = try #require(try store.forwardContext(alias: alias, senderAddress: known.replyEmail.uppercased()))
        #expect(fromReverse.senderIsReverseAlias && fromReverse.senderContact == nil)
    }

    @Test func recordMessageWritesTheContactAndTheLogsTogether() throws {
        let store = try TestDatabase().open()
        let owner = try userWithMailbox(store)
        let alias = try store.createAlias(userId: owner.userId, email: "shop@veil.test", mailboxIds: [owner.mailboxId],
                                          now: Date(timeIntervalSince1970: 500))
        let aliasId = try #require(alias.id)
        func request(name: String?) -> Store.ContactRequest {
            Store.ContactRequest(alias: alias, websiteEmail: "New@Example.com", name: name, mailFrom: "bounce@example.com",
                                 reverseAliasDomain: "veil.test", includeSender: false)
        }
        let log = EmailLog(userId: owner.userId, aliasId: aliasId, contactId: nil, mailboxId: owner.mailboxId,
                           messageId: "<1@x>", createdAt: Date(timeIntervalSince1970: 1000))
        let first = try store.recordMessage(contact: request(name: "First"), logs: [log, log])
        #expect(first.contact.id != nil && first.contact.name == "First" && first.contact.mailFrom == "bounce@example.com")
        #expect(first.contact.replyEmail.hasSuffix("@veil.test"))
        #expect(first.logs.count == 2 && Set(first.logs.compactMap(\.id)).count == 2)
        #expect(first.logs.allSatisfy { $0.contactId == first.contact.id })
        for stored in first.logs { #expect(try store.emailLog(id: try #require(stored.id)) == stored) }

        // The same sender again: same contact, new name kept, counters follow.
        let again = try store.recordMessage(contact: request(name: "Renamed"), logs: [log])
        #expect(again.contact.id == first.contact.id && again.contact.replyEmail == first.contact.replyEmail)
        #expect(try store.contact(aliasId: aliasId, websiteEmail: "new@example.com")?.name == "Renamed")
        let counted = try #require(try store.alias(id: aliasId, userId: owner.userId))
        #expect(counted.nbForward == 3 && counted.latestEmailLogId == again.logs.first?.id)
        #expect(counted.lastActivityAt == Date(timeIntervalSince1970: 1000))
    }
}

@Suite struct OneTimeCodeStoreTests {
    /// A store with users 1…`count`.
    func storeWithUsers(_ count: Int) throws -> Store {
        let store = try TestDatabase().open()
        for index in 1...count {
            _ = try store.createUser(email: "u\(index)@example.com", name: nil, passwordHash: nil, activated: false, isPremium: false)
        }
        return store
    }

    @Test func activationCodeAllowsThreeTriesAndStoresOnlyAHash() throws {
        let store = try storeWithUsers(1)
        let code = try store.issueCode(purpose: .accountActivation, policy: .activation, userId: 1, recipient: "me@example.com")
        let hashes = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT code_hash FROM one_time_codes") }
        #expect(hashes.count == 1 && hashes[0] != code && !hashes[0].contains(code))
        let wrong = code == "000000" ? "111111" : "000000"
        #expect(try store.attemptCode(wrong, purpose: .accountActivation, policy: .activation, userId: 1) == .wrong(triesLeft: 2))
        #expect(try store.attemptCode(wrong, purpose: .accountActivation, policy: .activation, userId: 1) == .wrong(triesLeft: 1))
        #expect(try store.attemptCode(wrong, purpose: .accountActivation, policy: .activation, userId: 1) == .exhausted)
        #expect(try store.attemptCode(code, purpose: .accountActivation, policy: .activation, userId: 1) == nil)
        #expect(try store.codes(userId: 1).map(\.status) == [.failed])
    }

    @Test func aNewCodeCancelsThePendingOne() throws {
        let store = try storeWithUsers(7)
        let first = try store.issueCode(purpose: .accountActivation, policy: .activation, userId: 7, recipient: "x@example.com")
        let second = try store.issueCode(purpose: .accountActivation, policy: .activation, userId: 7, recipient: "x@example.com")
        #expect(try store.codes(userId: 7).map(\.status) == [.pending, .canceled])
        if first != second {
            #expect(try store.attemptCode(first, purpose: .accountActivation, policy: .activation, userId: 7) == .wrong(triesLeft: 2))
        }
        #expect(try store.attemptCode(second, purpose: .accountActivation, policy: .activation, userId: 7) == .verified)
        #expect(try store.codes(userId: 7).first?.verifiedAt != nil)
    }

    @Test func linksAreRedeemedOnceAndExpire() throws {
        let store = try storeWithUsers(3)
        let now = Date(timeIntervalSince1970: 1_000_000)
        let token = try store.issueCode(purpose: .mailboxVerification, policy: .link, userId: 3, mailboxId: nil,
                                        channel: .link, recipient: "new@example.com", now: now)
        #expect(try store.redeemLink(token, purpose: .mailboxVerification, now: now)?.userId == 3)
        #expect(try store.redeemLink(token, purpose: .mailboxVerification, now: now) == nil)
        let late = try store.issueCode(purpose: .passwordReset, policy: .passwordReset, userId: 3, channel: .link,
                                       recipient: "me@example.com", now: now)
        #expect(try store.redeemLink(late, purpose: .passwordReset, now: now.addingTimeInterval(3_601)) == nil)
        #expect(try store.codes(userId: 3, purpose: .passwordReset).first?.status == .expired)
    }
}

@Suite struct GroupCommitTests {
    @Test func concurrentCreationsShareTransactionsAndEachGetsItsOwnAnswer() async throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        let stranger = try store.createUser(email: "x@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let strangersMailbox = try #require(stranger.defaultMailboxId)
        // 60 distinct addresses, 10 racers for one address, 5 with someone else's mailbox, all at once.
        let outcomes = await withTaskGroup(of: (String, Result<Int64, StoreError>).self) { group in
            for index in 0..<60 {
                group.addTask {
                    await ("own", Self.create(store, userId, "a\(index)@veil.test", [mailboxId]))
                }
            }
            for _ in 0..<10 {
                group.addTask { await ("race", Self.create(store, userId, "same@veil.test", [mailboxId])) }
            }
            for index in 0..<5 {
                group.addTask { await ("foreign", Self.create(store, userId, "f\(index)@veil.test", [strangersMailbox])) }
            }
            var all: [(String, Result<Int64, StoreError>)] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let created = outcomes.compactMap { try? $0.1.get() }
        #expect(created.count == 61 && Set(created).count == 61)
        #expect(outcomes.filter { $0.0 == "race" && (try? $0.1.get()) != nil }.count == 1)
        #expect(outcomes.filter { $0.0 == "race" }.allSatisfy { outcome in
            if case .failure(.conflict) = outcome.1 { return true }
            return (try? outcome.1.get()) != nil
        })
        #expect(outcomes.filter { $0.0 == "foreign" }.allSatisfy { outcome in
            if case .failure(.invalid) = outcome.1 { return true }
            return false
        })
        // What the callers were told is what the database holds.
        #expect(try store.aliasCount(userId: userId) == 61)
        for id in created { #expect(try store.alias(id: id, userId: userId) != nil) }
        #expect(try store.alias(email: "f0@veil.test") == nil)
    }

    @Test func theReturnedViewIsTheViewReadBack() async throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        let (verified, unverified, early) = try await store.pool.write { db -> (Int64, Int64, Int64) in
            var ids: [Int64] = []
            for (email, isVerified) in [("z@example.org", true), ("u@example.org", false), ("a@example.org", true)] {
                try db.execute(sql: "INSERT INTO mailboxes (user_id, email, verified, created_at) VALUES (?, ?, ?, 5)",
                               arguments: [userId, email, isVerified])
                ids.append(db.lastInsertedRowID)
            }
            return (ids[0], ids[1], ids[2])
        }
        let view = try await store.createAliasBatched(userId: userId, email: "new@veil.test",
                                                      mailboxIds: [mailboxId, verified, unverified, early], note: "n")
        let newId = try #require(view.alias.id)
        let read = try #require(try store.aliasView(id: newId, userId: userId))
        #expect(view.alias == read.alias)
        #expect(view.mailboxes == read.mailboxes)
        #expect(view.mailboxes.map(\.email) == ["me@example.com", "a@example.org", "z@example.org"])
        #expect(view.latestActivity == nil && read.latestActivity == nil)
    }

    static func create(_ store: Store, _ userId: Int64, _ email: String, _ mailboxes: [Int64]) async -> Result<Int64, StoreError> {
        do {
            let view = try await store.createAliasBatched(userId: userId, email: email, mailboxIds: mailboxes)
            guard let id = view.alias.id else { return .failure(.invalid("no id")) }
            return .success(id)
        } catch let error as StoreError {
            return .failure(error)
        } catch {
            return .failure(.invalid("\(error)"))
        }
    }
}

@Suite struct HotReadTests {
    @Test func hotReadsSeeEachCommitAndReuseTheirConnections() async throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        for index in 0..<100 {
            let created = try store.createAlias(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId])
            #expect(try store.alias(email: "A\(index)@veil.test")?.id == created.id)
        }
        #expect(store.idleHotReaders == 1)
        // Concurrent readers each get a connection, and give it back.
        let found = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<40 { group.addTask { (try? store.alias(email: "a\(index)@veil.test")) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(found == 40)
        #expect((1...40).contains(store.idleHotReaders))
        // Read-only: a write through a hot connection fails instead of landing outside the writer.
        #expect(throws: DatabaseError.self) {
            try store.hotRead { db in try db.execute(sql: "DELETE FROM aliases") }
        }
        #expect(try store.aliasCount(userId: userId) == 100)
    }
}

@Suite struct CheckpointTests {
    func walFrames(_ store: Store) throws -> Int {
        try store.pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")?[1] as Int? ?? 0 }
    }

    @Test func commitsLeaveTheWALToTheBackgroundCheckpoint() throws {
        let database = TestDatabase()
        let store = try Store(path: database.path, checkpointsInBackground: true)
        try store.migrate()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        // Far past SQLite's default 1,000-page autocheckpoint, one transaction each.
        for index in 0..<600 {
            try store.createAlias(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId])
        }
        let (frames, copied) = try store.checkpoint()
        #expect(frames > 1_000, "commits checkpointed on their own: \(frames) frames in the WAL")
        #expect(copied == frames)
        // Everything copied: the next write starts the WAL over.
        try store.createAlias(userId: userId, email: "after@veil.test", mailboxIds: [mailboxId])
        #expect(try store.checkpoint().walFrames < 20)
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.aliasCount(userId: userId) == 601)
    }

    /// A store whose last background checkpoint could not copy the whole WAL, as when commits
    /// land while it runs (here a reader's snapshot holds it back, then lets go).
    func storeWithPartlyCopiedWAL() throws -> (Store, userId: Int64, mailboxId: Int64, TestDatabase) {
        let database = TestDatabase()
        let store = try Store(path: database.path, checkpointsInBackground: true)
        try store.migrate()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        for index in 0..<200 { try store.createAlias(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId]) }
        var snapshot: DatabaseSnapshot? = try store.pool.makeSnapshot()
        for index in 200..<400 { try store.createAlias(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId]) }
        let (frames, copied) = try store.checkpoint()
        #expect(copied < frames, "the snapshot should have held the checkpoint back")
        #expect(snapshot != nil)
        snapshot = nil
        return (store, userId, mailboxId, database)
    }

    @Test func aCommitBehindUncopiedFramesDoesNotStartTheWALOver() throws {
        let (store, userId, mailboxId, _) = try storeWithPartlyCopiedWAL()
        try store.createAlias(userId: userId, email: "appended@veil.test", mailboxIds: [mailboxId])
        // The WAL kept its frames and grew (a new start would leave a handful): what a busy API
        // had with background checkpoints alone.
        #expect(try store.checkpoint().walFrames > 400)
    }

    /// The catch-up copies what the background checkpoint left, on the writer, between batches;
    /// the next commit then starts the WAL over.
    @Test func theWriterCatchesUpSoTheNextCommitStartsTheWALOver() async throws {
        let (store, userId, mailboxId, _) = try storeWithPartlyCopiedWAL()
        try store.createAlias(userId: userId, email: "appended@veil.test", mailboxIds: [mailboxId])
        let (frames, copied) = try await store.finishCheckpoint()
        #expect(frames > 400 && copied == frames)
        _ = try await store.createAliasBatched(userId: userId, email: "next@veil.test", mailboxIds: [mailboxId])
        #expect(try store.checkpoint().walFrames < 20)
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.aliasCount(userId: userId) == 402)
    }

    @Test func workBetweenBatchesRunsOutsideTransactions() async throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        let outcomes = try await withThrowingTaskGroup(of: Bool?.self) { group in
            for index in 0..<40 {
                group.addTask {
                    _ = try await store.createAliasBatched(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId])
                    return nil
                }
                if index % 8 == 0 {
                    group.addTask { try await store.groupCommit.betweenBatches { db in db.isInsideTransaction } }
                }
            }
            var seen: [Bool] = []
            for try await outcome in group { if let outcome { seen.append(outcome) } }
            return seen
        }
        #expect(outcomes == [false, false, false, false, false])
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await store.groupCommit.betweenBatches { _ in throw Refused() } }
        #expect(try store.aliasCount(userId: userId) == 40)
    }

    @Test func withoutBackgroundCheckpointsCommitsCheckpointAsSQLiteDoes() throws {
        let store = try TestDatabase().open()
        let user = try store.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(user.id), mailboxId = try #require(user.defaultMailboxId)
        for index in 0..<600 {
            try store.createAlias(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId])
        }
        #expect(try store.checkpoint() == (0, 0))
        #expect(try walFrames(store) < 1_100)
    }
}

@Suite struct ConcurrencyTests {
    /// Two independent connections pools — as the API and the SMTP daemon have — write the same
    /// file at once. The busy timeout makes them take turns; no "database is locked" reaches us.
    @Test func twoWritersNeverSeeDatabaseIsLocked() async throws {
        let database = TestDatabase()
        let api = try database.open()
        let smtpd = try database.open()
        let owner = try api.createUser(email: "me@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true)
        let userId = try #require(owner.id), mailboxId = try #require(owner.defaultMailboxId)
        let alias = try api.createAlias(userId: userId, email: "busy@veil.test", mailboxIds: [mailboxId])
        let aliasId = try #require(alias.id)
        let perWriter = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<perWriter {
                    _ = try api.createAlias(userId: userId, email: "a\(index)@veil.test", mailboxIds: [mailboxId])
                }
            }
            group.addTask {
                for _ in 0..<perWriter {
                    try smtpd.insertEmailLog(EmailLog(userId: userId, aliasId: aliasId, contactId: nil, mailboxId: mailboxId,
                                                      createdAt: Date()))
                }
            }
            try await group.waitForAll()
        }
        #expect(try api.aliasCount(userId: userId) == perWriter + 1)
        #expect(try smtpd.alias(email: "busy@veil.test")?.nbForward == perWriter)
        #expect(try api.integrityCheck() == "ok")
    }
}
