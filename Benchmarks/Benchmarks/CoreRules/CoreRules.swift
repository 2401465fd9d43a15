import Benchmark
import Foundation
import VeilCore
import VeilMail
import VeilStore

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    let signer = SuffixSigner(secret: Array(repeating: 7, count: 32))
    let signed = signer.sign(".meow123@veil.example", at: Date())

    Benchmark("SignedSuffix.verify") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? signer.verify(signed, now: Date()))
        }
    }

    Benchmark("ReverseAlias.generate (include sender)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(ReverseAlias.generate(senderAddress: "first.last@example.com", includeSender: true, domain: "veil.example"))
        }
    }

    Benchmark("SenderFormat.fromHeader (unicode name)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SenderFormat.at.fromHeader(contactName: "Nhơn Nguyễn", contactEmail: "abc@example.com", reverseAlias: "rev@veil.test"))
        }
    }

    // The DKIM signature every forwarded copy gets (spec/mail.md ): header + body hashes and
    // one private-key operation, on a 4 KiB message.
    let body = String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", count: 70)
    let text = "From: a@example.com\r\nTo: b@veil.test\r\nSubject: hello\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        + "Message-ID: <1@example.com>\r\n\r\n" + body
    guard let message = try? Message(parsing: Array(text.utf8)), let pem = try? DKIMSigner.generateRSAKeyPEM(),
          let rsa = try? DKIMSigner(domain: "veil.test", selector: "veil", rsaPEM: pem)
    else { fatalError("cannot set up the DKIM benchmark") }
    let ed25519 = DKIMSigner(domain: "veil.test", selector: "veil-ed25519", key: .ed25519(.init()))
    for (name, signer) in [("rsa-sha256, 2048-bit", rsa), ("ed25519-sha256", ed25519)] {
        Benchmark("DKIMSigner.sign 4 KiB (\(name))") { benchmark in
            for _ in benchmark.scaledIterations {
                var copy = message
                try? signer.sign(&copy)
                blackHole(copy)
            }
        }
    }

    // Alias lookup by address on a real SQLite file with 100,000 aliases: the hot path of every
    // inbound message.
    Benchmark("Store.alias(email:) among 100k aliases", configuration: .init(setup: {})) { benchmark in
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("veil-bench-\(UUID().uuidString).sqlite").path
        guard let store = try? Store(path: path), (try? store.migrate()) != nil,
              let user = try? store.createUser(email: "bench@example.com", name: nil, passwordHash: nil, activated: true, isPremium: true),
              let userId = user.id, let mailboxId = user.defaultMailboxId
        else { fatalError("cannot set up the benchmark database") }
        for index in 0..<100_000 {
            _ = try? store.createAlias(userId: userId, email: "alias\(index)@veil.test", mailboxIds: [mailboxId])
        }
        benchmark.startMeasurement()
        for iteration in benchmark.scaledIterations {
            blackHole(try? store.alias(email: "alias\(iteration % 100_000)@veil.test"))
        }
    }
}
