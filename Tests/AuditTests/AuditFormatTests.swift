import Cryptography
import JSON
import Testing
@testable import Audit

/// The chain member spliced into a prepared event (outside the trail's lock) gives exactly the
/// line of the event object with `chain` serialized as its last member.
@Suite struct AuditFormatSpliceTests {
    static func randomValue(_ rng: inout some RandomNumberGenerator, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(String(Int.random(in: -1_000_000...1_000_000, using: &rng)))
        case 3: return .string(String((0..<Int.random(in: 0..<20, using: &rng)).map { _ in "aZ0 \"\\\t/é日\u{1}".randomElement(using: &rng)! }))
        case 4: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            return .object((0..<Int.random(in: 0..<4, using: &rng)).map { i in (key: "k\(i)", value: randomValue(&rng, depth: depth + 1)) })
        }
    }

    @Test func spliceEqualsWholeSerialization() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let members = (0..<Int.random(in: 0..<6, using: &rng)).map { i in (key: "m\(i)", value: Self.randomValue(&rng)) }
            let chain = AuditFormat.Chain(sequence: UInt64.random(in: 1...UInt64.max, using: &rng),
                                          previousHash: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let line = try AuditFormat.line(event: .object(members), chain: chain)
            let chainObject = JSONValue.object([
                (key: "sequence", value: .number(String(chain.sequence))),
                (key: "previousHash", value: .string(Hex.encode(chain.previousHash))),
            ])
            let whole = JSONValue.object(members + [(key: AuditFormat.chainKey, value: chainObject)]).serializedBytes()
            #expect(line == whole)
            #expect(line.count <= AuditFormat.maximumRecordBytes)
        }
    }

    @Test func aLargeEventIsCutDownWithRoomForAnySequence() throws {
        let big = JSONValue.string(String(repeating: "x", count: AuditFormat.maximumRecordBytes))
        let event = JSONValue.object([(key: "eventName", value: .string("PutSecretValue")), (key: "requestParameters", value: big)])
        let line = try AuditFormat.line(event: event, chain: AuditFormat.Chain(sequence: .max, previousHash: AuditFormat.zeroHash))
        #expect(line.count <= AuditFormat.maximumRecordBytes)
        #expect(String(decoding: line, as: UTF8.self).contains(#""requestParameters":{"truncated":true}"#))
    }
}
