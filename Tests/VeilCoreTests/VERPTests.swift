import Foundation
import Testing
@testable import VeilCore

@Suite struct VERPTests {
    let signer = VERPSigner(secret: Array("a-secret-of-at-least-32-characters!!".utf8))
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func roundTrip() throws {
        let address = signer.address(.bounceForward, objectId: 1234, domain: "Veil.Test", now: now)
        #expect(address.hasPrefix("sl.") && address.hasSuffix("@veil.test"))
        #expect(address == address.lowercased())
        // The payload is SimpleLogin's JSON: [type, id, minutes since 2022-01-01].
        let payload = String(address.split(separator: ".")[1])
        let minutes = (1_700_000_000 - 1_640_995_200) / 60
        #expect(Base32.decode(payload).map { String(decoding: $0, as: UTF8.self) } == "[0, 1234, \(minutes)]")
        #expect(try signer.verify(address, now: now) == VERPSigner.Address(kind: .bounceForward, objectId: 1234))
        #expect(try signer.verify(address.uppercased(), now: now).objectId == 1234)
        let reply = signer.address(.bounceReply, objectId: 7, domain: "veil.test", now: now)
        #expect(try signer.verify(reply, now: now.addingTimeInterval(6 * 86_400)).kind == .bounceReply)
    }

    @Test func tamperedWrongKeyOrPrefixIsNotVERP() {
        let address = signer.address(.bounceForward, objectId: 1234, domain: "veil.test", now: now)
        var characters = Array(address)
        characters[5] = characters[5] == "a" ? "b" : "a"
        #expect(throws: VERPSigner.Failure.notVERP) { try signer.verify(String(characters), now: now) }
        let other = VERPSigner(secret: Array("another-secret-of-at-least-32-chars!".utf8))
        #expect(throws: VERPSigner.Failure.notVERP) { try other.verify(address, now: now) }
        let prefixed = VERPSigner(secret: Array("a-secret-of-at-least-32-characters!!".utf8), prefix: "bounce")
        #expect(throws: VERPSigner.Failure.notVERP) { try prefixed.verify(address, now: now) }
        #expect(throws: VERPSigner.Failure.notVERP) { try signer.verify("sl.x.y@veil.test", now: now) }
        #expect(throws: VERPSigner.Failure.notVERP) { try signer.verify("nobody@veil.test", now: now) }
    }

    @Test func expiresAfterTheLifetime() {
        let address = signer.address(.bounceForward, objectId: 1, domain: "veil.test", now: now)
        #expect(throws: VERPSigner.Failure.expired) { try signer.verify(address, now: now.addingTimeInterval(8 * 86_400)) }
        // From the future (beyond clock skew) is refused too.
        #expect(throws: VERPSigner.Failure.expired) { try signer.verify(address, now: now.addingTimeInterval(-3600)) }
    }
}
