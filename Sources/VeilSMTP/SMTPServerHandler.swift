import NIOCore
import NIOSSL

/// One SMTP (or LMTP) session: reads commands and message data from raw bytes, enforces the
/// limits of `SMTPServerConfiguration`, and asks the delegate about recipients and messages.
///
/// It does its own line splitting (with `SMTPLineDecoder`'s rules) so that it owns every byte
/// not yet read: on `STARTTLS` whatever the client pipelined after the command is thrown away
/// before the TLS handler goes in (no command injection, RFC 3207 §4.2 / CVE-2011-0411).
final class SMTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent down the pipeline when the server shuts down: idle sessions close at once, a session
    /// in a transaction closes after it.
    struct Quiesce: Sendable {}

    enum Phase {
        /// Connected; EHLO/HELO (LHLO) not yet seen.
        case awaitingHello
        case ready
        /// After `MAIL FROM`; recipients collect in the envelope.
        case transaction(SMTPEnvelope)
        case receivingData(SMTPEnvelope, SMTPDataReader)
        /// The delegate is working; input waits in `input` (reading is paused).
        case waiting
        case closed
    }

    private let configuration: SMTPServerConfiguration
    private let delegate: any SMTPServerDelegate
    private let sessions: SMTPSessionRegistry?
    private var phase = Phase.awaitingHello
    private var lineDecoder: SMTPLineDecoder
    private var input = ByteBuffer()
    private var heloName = ""
    private var errors = 0
    private var tlsActive = false
    private var closeWhenIdle = false
    private var timer: Scheduled<Void>?
    /// When `DATA` was answered with 354: the transfer's deadline grows with its size from there.
    private var dataStarted = NIODeadline.distantFuture
    private var remoteAddress = ""
    /// This session holds one of the registry's connection slots.
    private var countedAsOpen = false

    init(configuration: SMTPServerConfiguration, delegate: any SMTPServerDelegate, sessions: SMTPSessionRegistry? = nil) {
        self.configuration = configuration
        self.delegate = delegate
        self.sessions = sessions
        self.lineDecoder = SMTPLineDecoder(maxLength: configuration.maxCommandLength, bareLineFeedEndsLine: true)
    }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        remoteAddress = context.remoteAddress?.ipAddress ?? ""
        if let sessions, !sessions.open(limit: configuration.maxConnections) {
            phase = .closed
            write(SMTPReply(421, "4.3.2", "\(configuration.hostname) Too many connections, try again later"), context)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
            context.close(promise: nil)
            context.fireChannelActive()
            return
        }
        countedAsOpen = sessions != nil
        let kind = configuration.lmtp ? "LMTP" : "ESMTP"
        write(SMTPReply(code: 220, lines: ["\(configuration.hostname) \(kind) Veil"]), context)
        context.flush()
        armTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if countedAsOpen { sessions?.close() }
        countedAsOpen = false
        phase = .closed
        timer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !isClosed else { return }
        input.writeBuffer(&bytes)
        process(context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Quiesce else { return context.fireUserInboundEventTriggered(event) }
        switch phase {
        case .awaitingHello, .ready:
            closeWith(SMTPReply(421, "4.3.2", "\(configuration.hostname) Service shutting down"), context)
        case .transaction, .receivingData, .waiting:
            closeWhenIdle = true
        case .closed:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        phase = .closed
        context.close(promise: nil)
    }

    private var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    // MARK: Input

    /// Works through buffered input until it runs out or the delegate is busy.
    private func process(_ context: ChannelHandlerContext) {
        var answered = false
        defer {
            // A new command's time starts once the previous one is answered; bytes of a line
            // that is not complete yet do not extend it.
            if answered { armTimer(context) }
        }
        while input.readableBytes > 0 {
            switch phase {
            case .waiting, .closed:
                return
            case .receivingData(let envelope, var reader):
                phase = .waiting  // drop the enum's copy so `reader` grows in place
                if reader.consume(&input) {
                    endOfData(envelope, reader, context)
                } else {
                    phase = .receivingData(envelope, reader)
                }
            case .awaitingHello, .ready, .transaction:
                guard let line = lineDecoder.nextLine(&input) else {
                    input.discardReadBytes()
                    return
                }
                answered = true
                handle(line, context)
            }
        }
        input.discardReadBytes()
    }

    private func handle(_ line: SMTPLineDecoder.Line, _ context: ChannelHandlerContext) {
        if line.tooLong { return refuse(SMTPReply(500, "5.5.2", "Error: line too long"), context) }
        if line.hasBareNewline { return refuse(SMTPReply(500, "5.5.2", "Error: bare <CR> received"), context) }
        let text = String(decoding: line.bytes.readableBytesView, as: UTF8.self)
        let command: SMTPCommand
        do {
            command = try SMTPCommand.parse(text)
        } catch {
            switch error {
            case .unknownCommand: return refuse(SMTPReply(500, "5.5.2", "Error: command not recognized"), context)
            case .syntax(let reply): return refuse(reply, context)
            }
        }
        switch command {
        case .hello(let verb, let domain): hello(verb: verb, domain: domain, context)
        case .mail(let sender, let parameters): mail(from: sender, parameters, context)
        case .rcpt(let recipient): rcpt(to: recipient, context)
        case .data: data(context)
        case .rset:
            phase = heloName.isEmpty ? .awaitingHello : .ready
            write(SMTPReply(250, "2.0.0", "Ok"), context)
            closeIfQuiescing(context)
        case .noop:
            write(SMTPReply(250, "2.0.0", "Ok"), context)
        case .quit:
            closeWith(SMTPReply(221, "2.0.0", "Bye"), context)
        case .vrfy:
            write(SMTPReply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"), context)
        case .help:
            write(SMTPReply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
                                + (configuration.tls == nil ? "" : " STARTTLS")), context)
        case .startTLS:
            startTLS(context)
        }
    }

    private func hello(verb: String, domain: String, _ context: ChannelHandlerContext) {
        let expected = configuration.lmtp ? ["LHLO"] : ["EHLO", "HELO"]
        guard expected.contains(verb) else {
            return refuse(SMTPReply(500, "5.5.1", "Error: use \(expected.joined(separator: " or "))"), context)
        }
        heloName = domain
        phase = .ready
        guard verb != "HELO" else { return write(SMTPReply(code: 250, lines: [configuration.hostname]), context) }
        var lines = [configuration.hostname, "PIPELINING", "SIZE \(configuration.maxMessageSize)", "8BITMIME",
                     "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if configuration.tls != nil, !tlsActive { lines.append("STARTTLS") }
        write(SMTPReply(code: 250, lines: lines), context)
    }

    private func mail(from sender: String, _ parameters: SMTPCommand.MailParameters, _ context: ChannelHandlerContext) {
        switch phase {
        case .awaitingHello:
            return refuse(SMTPReply(503, "5.5.1", "Error: send \(configuration.lmtp ? "LHLO" : "HELO/EHLO") first"), context)
        case .transaction:
            return refuse(SMTPReply(503, "5.5.1", "Error: nested MAIL command"), context)
        default:
            break
        }
        if let size = parameters.declaredSize, size > configuration.maxMessageSize {
            return refuse(SMTPReply(552, "5.3.4", "Message size exceeds fixed limit"), context)
        }
        let envelope = SMTPEnvelope(id: Self.transactionID(), sender: sender, parameters: parameters,
                                    heloName: heloName, remoteAddress: remoteAddress, tls: tlsActive)
        phase = .transaction(envelope)
        write(SMTPReply(250, "2.1.0", "Ok"), context)
    }

    private func rcpt(to recipient: String, _ context: ChannelHandlerContext) {
        guard case .transaction(let envelope) = phase else {
            return refuse(SMTPReply(503, "5.5.1", "Error: need MAIL command"), context)
        }
        guard envelope.recipients.count < configuration.maxRecipients else {
            // RFC 5321 §4.5.3.1.10: the client sends the rest in another transaction; not an
            // error towards `maxErrors`, so a long pipelined list still reaches DATA.
            return write(SMTPReply(452, "4.5.3", "Error: too many recipients"), context)
        }
        let delegate = self.delegate
        wait(context, for: { await delegate.verifyRecipient(recipient, envelope: envelope) }) { handler, reply, context in
            var envelope = envelope
            if reply.code / 100 == 2 { envelope.recipients.append(recipient) }
            handler.phase = .transaction(envelope)
            if reply.code / 100 == 2 { handler.write(reply, context) } else { handler.refuse(reply, context) }
        }
    }

    private func data(_ context: ChannelHandlerContext) {
        guard case .transaction(let envelope) = phase else {
            return refuse(SMTPReply(503, "5.5.1", "Error: need RCPT command"), context)
        }
        guard !envelope.recipients.isEmpty else {
            return refuse(SMTPReply(554, "5.5.1", "Error: no valid recipients"), context)
        }
        phase = .receivingData(envelope, SMTPDataReader(limit: configuration.maxMessageSize))
        write(SMTPReply(code: 354, lines: ["End data with <CR><LF>.<CR><LF>"]), context)
        dataStarted = context.eventLoop.now
        armTimer(context)
    }

    private func endOfData(_ envelope: SMTPEnvelope, _ reader: SMTPDataReader, _ context: ChannelHandlerContext) {
        if reader.exceededLimit {
            phase = .ready
            write(SMTPReply(552, "5.3.4", "Error: message too large"), context)
            return closeIfQuiescing(context)
        }
        if reader.sawBareCarriageReturn {
            phase = .ready
            write(SMTPReply(550, "5.5.2", "Error: bare <CR> in message data, use CRLF line ends"), context)
            return closeIfQuiescing(context)
        }
        let delegate = self.delegate
        let message = reader.content
        let lmtp = configuration.lmtp
        wait(context, for: { await delegate.deliver(envelope, message: message) }) { handler, replies, context in
            handler.phase = .ready
            let fallback = SMTPReply(451, "4.3.0", "Error: no answer for this recipient")
            if lmtp {
                for index in envelope.recipients.indices {
                    handler.write(index < replies.count ? replies[index] : fallback, context)
                }
            } else {
                handler.write(replies.first ?? fallback, context)
            }
            handler.closeIfQuiescing(context)
        }
    }

    private func startTLS(_ context: ChannelHandlerContext) {
        guard let tls = configuration.tls else {
            return refuse(SMTPReply(502, "5.5.1", "Error: command not implemented"), context)
        }
        guard !tlsActive else { return refuse(SMTPReply(503, "5.5.1", "Error: TLS already active"), context) }
        switch phase {
        case .transaction, .receivingData, .waiting:
            return refuse(SMTPReply(503, "5.5.1", "Error: STARTTLS not allowed in a transaction"), context)
        default:
            break
        }
        // Anything the client sent after STARTTLS before seeing our 220 is discarded.
        input.clear()
        lineDecoder = SMTPLineDecoder(maxLength: configuration.maxCommandLength, bareLineFeedEndsLine: true)
        write(SMTPReply(220, "2.0.0", "Ready to start TLS"), context)
        context.flush()
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context), position: .first)
        } catch {
            phase = .closed
            context.close(promise: nil)
            return
        }
        tlsActive = true
        heloName = ""
        phase = .awaitingHello
    }

    // MARK: Output

    private func write(_ reply: SMTPReply, _ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(ByteBuffer(string: reply.wireFormat)), promise: nil)
    }

    /// Writes an error reply; too many of them end the session (Postfix's hard error limit).
    private func refuse(_ reply: SMTPReply, _ context: ChannelHandlerContext) {
        write(reply, context)
        errors += 1
        if errors >= configuration.maxErrors {
            closeWith(SMTPReply(421, "4.7.0", "\(configuration.hostname) Error: too many errors"), context)
        }
    }

    private func closeWith(_ reply: SMTPReply, _ context: ChannelHandlerContext) {
        write(reply, context)
        phase = .closed
        timer?.cancel()
        input.clear()
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func closeIfQuiescing(_ context: ChannelHandlerContext) {
        if closeWhenIdle { closeWith(SMTPReply(421, "4.3.2", "\(configuration.hostname) Service shutting down"), context) }
    }

    // MARK: Waiting for the delegate

    /// Runs `work` off the event loop with reading paused, then `then` back on it, and carries on
    /// with whatever input arrived meanwhile.
    private func wait<Value: Sendable>(
        _ context: ChannelHandlerContext, for work: @escaping @Sendable () async -> Value,
        then: @escaping (SMTPServerHandler, Value, ChannelHandlerContext) -> Void
    ) {
        phase = .waiting
        timer?.cancel()
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let promise = context.eventLoop.makePromise(of: Value.self)
        promise.completeWithTask(work)
        promise.futureResult.assumeIsolated().whenSuccess { value in
            guard case .waiting = self.phase else { return }
            then(self, value, context)
            guard !self.isClosed else { return }
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            self.armTimer(context)
            self.process(context)
            context.flush()
        }
    }

    /// Starts the clock for what the session waits for now: the next command gets
    /// `commandTimeout` in all; message data gets `dataTimeout` plus one second per
    /// `minDataRate` bytes received (Postfix's `smtpd_per_request_deadline` with
    /// `smtpd_min_data_rate`), so a client trickling bytes cannot hold a session.
    private func armTimer(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        switch phase {
        case .waiting, .closed:
            return
        case .receivingData:
            schedule(at: dataDeadline, context)
        default:
            schedule(at: context.eventLoop.now + configuration.commandTimeout, context)
        }
    }

    private var dataDeadline: NIODeadline {
        guard case .receivingData(_, let reader) = phase else { return dataStarted + configuration.dataTimeout }
        // In seconds as a Double: the byte count is the client's (it goes on past the size limit).
        let allowance = min(Double(reader.receivedBytes) / Double(max(1, configuration.minDataRate)), 1e6)
        return dataStarted + configuration.dataTimeout + .nanoseconds(Int64(allowance * 1e9))
    }

    private func schedule(at deadline: NIODeadline, _ context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            deadlineReached(context)
        }
    }

    /// The data's deadline moved on with the bytes that arrived since it was set: wait for the new
    /// one. Anything else past its deadline ends the session.
    private func deadlineReached(_ context: ChannelHandlerContext) {
        timer = nil
        if case .receivingData = phase, context.eventLoop.now < dataDeadline {
            return schedule(at: dataDeadline, context)
        }
        if case .waiting = phase { return }
        closeWith(SMTPReply(421, "4.4.2", "\(configuration.hostname) Error: timeout exceeded"), context)
    }

    /// A Postfix-style queue id: 12 upper-case hex digits.
    static func transactionID() -> String {
        let value = UInt64.random(in: 0...0xFFFF_FFFF_FFFF)
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }
}
