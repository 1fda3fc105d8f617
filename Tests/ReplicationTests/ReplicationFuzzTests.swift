import Foundation
import Testing
@testable import Replication
import TestSupport

@Suite struct ReplicationFuzzTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz replication grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("replication", bundle: .module, run: ReplicationFuzz.run)
        #expect(counts.regressions >= 5, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 10, "FuzzTesting/Corpus/replication is missing or nearly empty")
    }

    /// Repairing checksums fixes exactly the checksums: a stream with every checksum zeroed
    /// decodes, once repaired, to the messages it was made from.
    @Test func checksumRepair() {
        let stream = sampleMessages.flatMap(ReplicationProtocol.encode)
        var zeroed = stream
        var offset = 0
        for message in sampleMessages {
            let count = ReplicationProtocol.encode(message).count
            for index in (offset + 8)..<(offset + 12) { zeroed[index] = 0 }
            offset += count
        }
        #expect(decodeAll(zeroed).error != nil)
        #expect(ReplicationFuzz.withChecksumsRepaired(zeroed) == stream)
        ReplicationFuzz.run(zeroed)
    }

    /// The corpus's valid stream still decodes to messages (a format change shows up here).
    @Test func corpusValidStreamDecodes() throws {
        let directory = try #require(Bundle.module.url(forResource: "Regressions", withExtension: nil))
        let data = try Data(contentsOf: directory.appendingPathComponent("valid-stream.bin"))
        let outcome = decodeAll(Array(data))
        #expect(outcome.error == nil)
        #expect(outcome.messages.count == 4)
    }

    /// Random bytes, random bytes behind a valid-looking header, and mutated valid streams never
    /// trap and keep the decoder's invariants (seeded, bounded).
    @Test func randomBytes() {
        var random = SplitMix64(seed: 0xF0CC)
        var generator = MessageGenerator(seed: 0xF0CD)
        let valid = (0..<6).flatMap { _ in ReplicationProtocol.encode(generator.message()) }
        for round in 0..<2000 {
            var bytes: [UInt8]
            switch round % 4 {
            case 0:
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            case 1:
                // A header that passes the magic and length checks, then noise.
                let body = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                bytes = ReplicationProtocol.magic + bigEndian(UInt32(body.count)) + bigEndian(UInt32.random(in: 0...UInt32.max, using: &random)) + body
            case 2:
                // Noise with a correct checksum: only the payload checks stand between it and a message.
                let type = UInt8.random(in: 1...7, using: &random)
                bytes = rawFrame(type: type, payload: (0..<Int.random(in: 0...80, using: &random)).map { _ in
                    UInt8.random(in: 0...3, using: &random) == 0 ? 0 : UInt8.random(in: 0...255, using: &random)
                })
            default:
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            }
            ReplicationFuzz.decodeStream(bytes)
        }
    }

    @Test func edgeInputs() {
        ReplicationFuzz.decodeStream([])
        ReplicationFuzz.decodeStream([0x53])
        ReplicationFuzz.decodeStream(ReplicationProtocol.magic)
        ReplicationFuzz.decodeStream([UInt8](repeating: 0, count: 100))
        ReplicationFuzz.decodeStream([UInt8](repeating: 0xFF, count: 100))
        let stream = sampleMessages.flatMap(ReplicationProtocol.encode)
        ReplicationFuzz.decodeStream(stream)
        ReplicationFuzz.decodeStream(stream + [1, 2, 3])
        ReplicationFuzz.decodeStream([7] + stream)
    }
}
