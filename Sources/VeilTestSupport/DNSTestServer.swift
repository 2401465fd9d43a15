import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A real DNS server on loopback (UDP) answering from a zone the test controls, for tests of
/// domain verification through the system resolver. Owner names in answers are compressed
/// (pointers into the question) and long TXT values are split into several character-strings,
/// as real servers do.
public final class DNSTestServer: Sendable {
    public enum Record: Sendable, Equatable {
        case mx(priority: Int, host: String)
        case txt(String)
        case cname(String)
    }

    private let zone = NIOLockedValueBox<(records: [String: [Record]], failing: Set<String>)>(([:], []))
    private let channel: any Channel
    public let port: Int

    public init() async throws {
        let zone = self.zone
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler(zone: zone)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// `127.0.0.1:<port>`, the form Veil's `--dns-resolver` takes.
    public var address: String { "127.0.0.1:\(port)" }

    public func set(_ name: String, _ records: [Record]) {
        zone.withLockedValue { $0.records[Self.key(name)] = records }
    }

    public func add(_ name: String, _ record: Record) {
        zone.withLockedValue { $0.records[Self.key(name), default: []].append(record) }
    }

    /// Queries for `name` get SERVFAIL.
    public func fail(_ name: String) { zone.withLockedValue { _ = $0.failing.insert(Self.key(name)) } }

    public func shutdown() async { try? await channel.close() }

    static func key(_ name: String) -> String { name.lowercased().trimmingCharacters(in: ["."]) }

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let zone: NIOLockedValueBox<(records: [String: [Record]], failing: Set<String>)>

        init(zone: NIOLockedValueBox<(records: [String: [Record]], failing: Set<String>)>) { self.zone = zone }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let reply = answer(Array(envelope.data.readableBytesView)) else { return }
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))),
                                  promise: nil)
        }

        func answer(_ query: [UInt8]) -> [UInt8]? {
            guard query.count >= 12 else { return nil }
            // The question: a name as labels, then type and class.
            var index = 12
            var labels: [String] = []
            while index < query.count, query[index] != 0 {
                let length = Int(query[index])
                guard length < 64, index + 1 + length <= query.count else { return nil }
                labels.append(String(decoding: query[(index + 1)..<(index + 1 + length)], as: UTF8.self))
                index += 1 + length
            }
            guard index + 5 <= query.count else { return nil }
            let questionEnd = index + 5
            let type = Int(query[index + 1]) << 8 | Int(query[index + 2])
            let name = labels.joined(separator: ".").lowercased()
            let (records, failing) = zone.withLockedValue { ($0.records, $0.failing) }

            var answers: [[UInt8]] = []
            var rcode: UInt8 = 0
            if failing.contains(name) {
                rcode = 2
            } else if let stored = records[name] {
                for record in stored {
                    switch (record, type) {
                    case (.mx(let priority, let host), 15): answers.append(rr(type: 15, data: [UInt8(priority >> 8), UInt8(priority & 0xFF)] + encode(host)))
                    case (.txt(let text), 16): answers.append(rr(type: 16, data: characterStrings(text)))
                    case (.cname(let target), 5), (.cname(let target), 15), (.cname(let target), 16):
                        answers.append(rr(type: 5, data: encode(target)))
                    default: break
                    }
                }
            } else {
                rcode = 3
            }
            var reply = Array(query[0..<2])
            reply += [0x84 | (query[2] & 0x01), 0x80 | rcode]  // QR AA (+RD), RA
            reply += [0, 1, UInt8(answers.count >> 8), UInt8(answers.count & 0xFF), 0, 0, 0, 0]
            reply += query[12..<questionEnd]
            for answer in answers { reply += answer }
            return reply
        }

        /// A resource record whose owner is the question's name, as a compression pointer.
        func rr(type: Int, data: [UInt8]) -> [UInt8] {
            [0xC0, 0x0C, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0x0E, 0x10,
             UInt8(data.count >> 8), UInt8(data.count & 0xFF)] + data
        }

        func encode(_ name: String) -> [UInt8] {
            var bytes: [UInt8] = []
            for label in name.trimmingCharacters(in: ["."]).split(separator: ".") {
                bytes.append(UInt8(label.utf8.count))
                bytes += Array(label.utf8)
            }
            return bytes + [0]
        }

        func characterStrings(_ text: String) -> [UInt8] {
            var bytes: [UInt8] = []
            var rest = Array(text.utf8)[...]
            repeat {
                let chunk = rest.prefix(255)
                bytes.append(UInt8(chunk.count))
                bytes += chunk
                rest = rest.dropFirst(255)
            } while !rest.isEmpty
            return bytes
        }
    }
}
