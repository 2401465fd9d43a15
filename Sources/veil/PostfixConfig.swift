import ArgumentParser

/// Prints the Postfix configuration that hands the alias domains to `veil smtpd` and takes its
/// output back on a re-injection port. deploy/postfix/ holds the same text with comments.
struct PostfixConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postfix-config",
        abstract: "Print the main.cf and master.cf lines that connect Postfix to veil smtpd for the configured domains.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("smtp-port"), help: "Port veil smtpd listens on. Default: 20381") var smtpPort = 20381
    @Option(name: .customLong("reinjection-port"), help: "Port Postfix takes Veil's output back on (veil's --relay). Default: 10025")
    var reinjectionPort = 10025
    @Flag(help: "Hand mail over with LMTP (start veil smtpd with --lmtp)") var lmtp = false

    func run() throws {
        let settings = try global.settings()
        print(Self.render(domains: settings.aliasDomains + [settings.emailDomain], smtpPort: smtpPort,
                          reinjectionPort: reinjectionPort, lmtp: lmtp))
    }

    static func render(domains: [String], smtpPort: Int, reinjectionPort: Int, lmtp: Bool) -> String {
        var unique: [String] = []
        for domain in domains where !unique.contains(domain) { unique.append(domain) }
        let transport = unique.map { "\($0)=veil:[127.0.0.1]:\(smtpPort)" }.joined(separator: " ")
        return """
            # ---- main.cf -------------------------------------------------------------
            # Veil's domains are relayed (not delivered locally) through the "veil" transport.
            relay_domains = \(unique.joined(separator: ", "))
            transport_maps = inline:{ \(transport) }
            # Ask veil smtpd at RCPT time whether an address exists: unknown aliases are refused at the
            # Internet edge, so Postfix never sends a bounce to a forged sender.
            smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_unverified_recipient
            unverified_recipient_reject_code = 550
            # Veil answers 4xx while its relay is down; keep such mail queued for a while.
            maximal_queue_lifetime = 5d

            # ---- master.cf -----------------------------------------------------------
            # The transport to veil smtpd (one message per connection is fine; Postfix caches connections).
            veil      unix  -       -       n       -       20      \(lmtp ? "lmtp" : "smtp")
            \(lmtp ? "" : "  -o smtp_send_xforward_command=no\n")\
            # Veil's output comes back here (veil smtpd --relay 127.0.0.1:\(reinjectionPort)). Only loopback may use
            # it; no content filter and no address rewriting, so nothing loops back into Veil.
            127.0.0.1:\(reinjectionPort) inet n  -       n       -       -       smtpd
              -o content_filter=
              -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings
              -o smtpd_recipient_restrictions=permit_mynetworks,reject
              -o mynetworks=127.0.0.0/8
              -o smtpd_milters=
            """
    }
}
