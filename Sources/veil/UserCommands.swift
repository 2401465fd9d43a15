import ArgumentParser
import Foundation
import VeilCore
import VeilStore

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage users.",
        subcommands: [Create.self, List.self, Delete.self, Premium.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an activated user with a default mailbox; prints the new API key (one line).")

        @OptionGroup var options: GlobalOptions
        @Option(help: "The account address, also the default mailbox.") var email: String
        @Option(help: "Password for logging in from apps (8 to 100 characters). Without it, only the API key works.")
        var password: String?
        @Option(help: "Display name.") var name: String?
        @Flag(help: "Paid plan: no alias quota.") var premium = false
        @Flag(help: "Sees the dashboard's admin pages (/admin/).") var admin = false

        func run() throws {
            let email = EmailAddress.sanitize(self.email)
            guard EmailAddress.isValid(email) else { throw CLIError("invalid email: \(self.email)") }
            if let password {
                guard password.count >= PasswordRule.minLength else { throw CLIError("password too short") }
                guard password.count <= PasswordRule.maxLength else { throw CLIError("password too long") }
            }
            let settings = try options.settings()
            if let domain = EmailAddress.domain(of: email), settings.aliasDomains.contains(domain) {
                throw CLIError("cannot use \(email) as personal inbox: it is on an alias domain")
            }
            let store = try openStore(settings)
            let user = try store.createUser(
                email: email, name: name, passwordHash: password.map { PasswordRule.hash($0) },
                activated: true, isPremium: premium)
            guard let userId = user.id else { throw CLIError("user was not created") }
            if admin { _ = try store.setAdmin(email: email, true) }
            print(try store.createApiKey(userId: userId, name: "veil user create"))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users, one per line.")

        @OptionGroup var options: GlobalOptions

        func run() throws {
            let store = try openStore(try options.settings())
            let rows = try store.listUsers()
            let formatter = ISO8601DateFormatter()
            print(["id", "email", "plan", "activated", "aliases", "mailboxes", "created"].joined(separator: "\t"))
            for row in rows {
                print([
                    String(row.user.id ?? 0), row.user.email, row.user.isPremium ? "premium" : "free",
                    row.user.activated ? "yes" : "no", String(row.aliasCount), String(row.mailboxCount),
                    formatter.string(from: row.user.createdAt),
                ].joined(separator: "\t"))
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a user with all their aliases, mailboxes and logs. Their alias addresses are never reused.")

        @OptionGroup var options: GlobalOptions
        @Option(help: "The account address.") var email: String

        func run() throws {
            let store = try openStore(try options.settings())
            let email = EmailAddress.sanitize(self.email)
            guard try store.deleteUser(email: email) else { throw CLIError("no such user: \(email)") }
            print("deleted user \(email)")
        }
    }

    struct Premium: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a user on the paid plan (or back with --off).")

        @OptionGroup var options: GlobalOptions
        @Option(help: "The account address.") var email: String
        @Flag(help: "Back to the free plan.") var off = false

        func run() throws {
            let store = try openStore(try options.settings())
            let email = EmailAddress.sanitize(self.email)
            guard try store.setPremium(email: email, !off) else { throw CLIError("no such user: \(email)") }
            print("\(email) is now on the \(off ? "free" : "premium") plan")
        }
    }
}
