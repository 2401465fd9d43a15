import Benchmark
import Foundation
import VeilCore
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
