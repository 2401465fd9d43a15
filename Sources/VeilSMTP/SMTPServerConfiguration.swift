import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Limits and options of the SMTP/LMTP listener. Every limit applies to what a network peer
/// controls; the defaults follow Postfix's conservative ones.
public struct SMTPServerConfiguration: Sendable {
    /// The name in the greeting and the EHLO reply.
    public var hostname: String
    /// RFC 2033: `LHLO` instead of `EHLO`, one reply per recipient after DATA.
    public var lmtp: Bool
    /// Largest message accepted, in bytes (spec/mail.md: 40 MiB).
    public var maxMessageSize: Int
    /// Recipients per transaction; more get `452 4.5.3`.
    public var maxRecipients: Int
    /// Longest command line, without CRLF (RFC 5321 asks for at least 512; Postfix allows 2048).
    public var maxCommandLength: Int
    /// Time allowed for each command, from the moment the previous one was answered to its CRLF,
    /// however the bytes trickle in (RFC 5321 §4.5.3.2: 5 minutes).
    public var commandTimeout: TimeAmount
    /// Time allowed for the message data, from the 354 reply to the final dot, before the
    /// allowance `minDataRate` adds (RFC 5321 §4.5.3.2: 3 minutes).
    public var dataTimeout: TimeAmount
    /// Bytes per second a transfer must average: each byte received adds `1 / minDataRate` s to
    /// the data deadline (Postfix's `smtpd_min_data_rate`, 500).
    public var minDataRate: Int
    /// Open sessions at once; the next one gets `421 4.3.2` and is closed.
    public var maxConnections: Int
    /// Error replies a session may cause before it is closed with `421 4.7.0`.
    public var maxErrors: Int
    /// Offered as `STARTTLS` when set; replaceable while the server runs (SIGHUP after a renewal).
    public var tls: TLSCredentials?

    public init(hostname: String = "localhost", lmtp: Bool = false, maxMessageSize: Int = 41_943_040,
                maxRecipients: Int = 100, maxCommandLength: Int = 2048, commandTimeout: TimeAmount = .minutes(5),
                dataTimeout: TimeAmount = .minutes(3), minDataRate: Int = 500, maxConnections: Int = 100,
                maxErrors: Int = 10, tls: TLSCredentials? = nil) {
        self.hostname = hostname
        self.lmtp = lmtp
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxCommandLength = maxCommandLength
        self.commandTimeout = commandTimeout
        self.dataTimeout = dataTimeout
        self.minDataRate = minDataRate
        self.maxConnections = maxConnections
        self.maxErrors = maxErrors
        self.tls = tls
    }
}

/// The sender, recipients and options of one transaction, as the client gave them.
public struct SMTPEnvelope: Sendable, Equatable {
    /// A short id for logs, new for each transaction.
    public var id: String
    /// The reverse path; empty for the null sender `<>`.
    public var sender: String
    /// Recipients accepted so far, in order.
    public var recipients: [String]
    public var parameters: SMTPCommand.MailParameters
    public var heloName: String
    public var remoteAddress: String
    public var tls: Bool

    public init(id: String, sender: String, recipients: [String] = [], parameters: SMTPCommand.MailParameters = .init(),
                heloName: String = "", remoteAddress: String = "", tls: Bool = false) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
        self.parameters = parameters
        self.heloName = heloName
        self.remoteAddress = remoteAddress
        self.tls = tls
    }
}

/// What the server asks of the application (the mail pipeline). Both calls run off the event loop.
public protocol SMTPServerDelegate: Sendable {
    /// The verdict on one `RCPT TO`: 250 accepts it, anything else refuses it.
    func verifyRecipient(_ recipient: String, envelope: SMTPEnvelope) async -> SMTPReply
    /// The message has arrived (dot-unstuffed, CRLF line ends). Return one reply for the whole
    /// transaction in SMTP mode, or one per recipient, in order, in LMTP mode.
    func deliver(_ envelope: SMTPEnvelope, message: [UInt8]) async -> [SMTPReply]
}

/// The TLS context new STARTTLS handshakes use. Sessions already encrypted keep theirs.
public final class TLSCredentials: Sendable {
    private let box: NIOLockedValueBox<NIOSSLContext>

    public init(_ context: NIOSSLContext) { box = NIOLockedValueBox(context) }

    public var context: NIOSSLContext { box.withLockedValue { $0 } }

    public func replace(with context: NIOSSLContext) { box.withLockedValue { $0 = context } }
}
