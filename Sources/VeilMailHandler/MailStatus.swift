import Foundation
import VeilSMTP

/// The outcome of handling a message for one recipient or one mailbox copy: spec/mail.md
/// written the way Appendix A decides, `<code> <enhanced code> E<nnn> <text>`.
public struct MailStatus: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var enhancedCode: String
    /// `E200`, `E515`, ...
    public var token: String
    public var text: String

    public init(_ code: Int, _ enhancedCode: String, _ token: String, _ text: String) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.token = token
        self.text = text
    }

    public var reply: SMTPReply {
        SMTPReply(code, enhancedCode, text.isEmpty ? token : token + " " + text)
    }

    public var description: String { reply.wireFormat.trimmingCharacters(in: .newlines) }
    public var isSuccess: Bool { code / 100 == 2 }

    static let delivered = MailStatus(250, "2.0.0", "E200", "Message accepted for delivery")
    static let outOfOffice = MailStatus(250, "2.0.0", "E206", "Out of office")
    static let emailLoop = MailStatus(250, "2.0.0", "E209", "Email Loop")
    static let bounceForwardHandled = MailStatus(250, "2.0.0", "E211", "Bounce Forward phase handled")
    static let bounceReplyHandled = MailStatus(250, "2.0.0", "E212", "Bounce Reply phase handled")
    static let unknownIgnored = MailStatus(250, "2.0.0", "E213", "Unknown email ignored")
    /// A delivery report that is not a failure (`delayed`, `relayed`, ...): nothing to do.
    static let deliveryReportIgnored = MailStatus(250, "2.0.0", "E213", "Delivery report ignored")
    static let unauthorizedReverseAlias = MailStatus(250, "2.0.0", "E214", "Unauthorized for using reverse alias")
    static let spfFailed = MailStatus(250, "2.0.0", "E201", "")
    static let dmarcHandled = MailStatus(250, "2.0.0", "E215", "Handled dmarc policy")
    static let malformedHeader = MailStatus(550, "5.6.0", "E523", "Malformed message header")
    static let unexpected = MailStatus(451, "4.3.0", "E404", "Unexpected error - Retry later")
    static let mailboxDomainProblem = MailStatus(451, "4.4.0", "E405", "Mailbox domain problem - Retry later")
    static let retryLater = MailStatus(451, "4.4.0", "E407", "Retry later")
    static let rateLimited = MailStatus(451, "4.7.0", "E522",
        "The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.")
    static let foreignReverseAliasDomain = MailStatus(550, "5.1.1", "E501", "")
    static let emailNotExist = MailStatus(550, "5.1.1", "E502", "Email not exist")
    static let domainNotServed = MailStatus(550, "5.7.1", "E503", "Domain not served here")
    static let accountDisabled = MailStatus(550, "5.2.1", "E504", "Account disabled")
    static let noSuchEmailLog = MailStatus(550, "5.1.1", "E512", "No such email log")
    static let unknownAlias = MailStatus(550, "5.1.1", "E515", "Email not exist")
    static let invalidMailbox = MailStatus(550, "5.1.1", "E516", "invalid mailbox")
    static let unverifiedMailbox = MailStatus(550, "5.2.1", "E517", "unverified mailbox")
    static let disabledMailbox = MailStatus(550, "5.2.1", "E518", "Disabled mailbox")
    /// A mailbox Veil disabled for bouncing, within its grace period: the sender keeps the mail.
    static let bouncingMailbox = MailStatus(451, "4.2.1", "E518", "Disabled mailbox - Retry later")
    static let unverifiedCustomDomain = MailStatus(550, "5.1.2", "E520", "Unverified custom domain")
    static let cannotReachMailbox = MailStatus(550, "5.4.0", "E521", "Cannot reach mailbox")
    static let wrongUseOfReverseAlias = MailStatus(550, "5.7.1", "E524", "Wrong use of reverse-alias")
    static let aliasLoop = MailStatus(550, "5.4.6", "E525", "Alias loop")
    static let tooManyRecipients = MailStatus(550, "5.5.3", "E526", "Too many recipients")
}
