import HTTP1
import Testing
import TestSupport

/// Seeded random inputs: arbitrary bytes and mutations of valid requests. Each must settle in a
/// bounded number of `next()` calls, keep the buffer bounded, and give the same outcome
/// whatever the split.
extension HTTPRequestParserTests {
    static let randomLimits = HTTPLimits(maxHeaderBytes: 256, maxRequestLineBytes: 64, maxHeaderCount: 6, maxBodyBytes: 512)

    static let seeds: [[UInt8]] = [
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
        "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "\r\n\r\nDELETE /x?y=z HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nok",
    ].map { Array($0.utf8) }

    /// Checks the contract for one input and returns its outcome.
    @discardableResult
    static func checkContract(_ input: [UInt8], seed: UInt64) -> Outcome {
        let reference = parse(input, limits: randomLimits, chunking: .whole)
        let bound = max(randomLimits.maxHeaderBytes, HTTPRequestParser.maxChunkSizeLineBytes + 1)
        for chunking in [Chunking.byteByByte, .random(seed: seed, maxChunk: 16)] {
            let outcome = parse(input, limits: randomLimits, chunking: chunking)
            #expect(!outcome.exceededCallBound, "\(chunking) did not settle on \(input)")
            #expect(outcome.maxBufferedBeforeAppend < bound, "\(chunking) buffered \(outcome.maxBufferedBeforeAppend)")
            #expect(outcome.comparable == reference.comparable, "\(chunking): \(outcome) vs \(reference) on \(input)")
        }
        return reference
    }

    @Test func arbitraryBytesNeverCrashOrHang() {
        var random = TestRandom(seed: 0x5EED)
        // Bias toward the bytes the grammar cares about so inputs get past the first line.
        let alphabet = Array("GET / HTTP/1.1\r\n:;, 0aF\t".utf8) + [0, 0x7F, 0x80, 0xFF]
        var outcomes: [Int: Int] = [:]
        for index in 0..<2_000 {
            let length = Int.random(in: 0...300, using: &random)
            let input: [UInt8] = (0..<length).map { _ in
                Bool.random(using: &random)
                    ? alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
                    : UInt8.random(in: 0...255, using: &random)
            }
            let outcome = Self.checkContract(input, seed: UInt64(index))
            outcomes[outcome.error?.status ?? 0, default: 0] += 1
        }
        #expect(outcomes.values.reduce(0, +) == 2_000)
    }

    @Test func mutatedRequestsNeverCrashOrHang() {
        var random = TestRandom(seed: 42)
        var statuses: Set<Int> = []
        var accepted = 0
        for index in 0..<2_000 {
            var input = Self.seeds[index % Self.seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<5, using: &random) {
                case 0 where !input.isEmpty:  // bit flip
                    let at = Int.random(in: 0..<input.count, using: &random)
                    input[at] ^= 1 << UInt8.random(in: 0...7, using: &random)
                case 1:  // insertion
                    let at = Int.random(in: 0...input.count, using: &random)
                    let inserted = [UInt8](repeating: UInt8.random(in: 0...255, using: &random), count: Int.random(in: 1...300, using: &random))
                    input.insert(contentsOf: inserted, at: at)
                case 2 where !input.isEmpty:  // truncation
                    input.removeLast(Int.random(in: 0...input.count, using: &random))
                case 3 where !input.isEmpty:  // deletion
                    let at = Int.random(in: 0..<input.count, using: &random)
                    input.removeSubrange(at..<min(input.count, at + Int.random(in: 1...8, using: &random)))
                default:  // duplication, which makes pipelines and oversized sections
                    input += input
                }
            }
            let outcome = Self.checkContract(input, seed: UInt64(index))
            if let error = outcome.error { statuses.insert(error.status) } else { accepted += outcome.requests.count }
        }
        // The mutations must reach both acceptance and several kinds of rejection.
        #expect(accepted > 100)
        #expect(statuses.isSuperset(of: [400, 431]))
    }

    @Test func seedsAreValid() {
        for seed in Self.seeds {
            let outcome = verifySplitInvariance(seed, limits: Self.randomLimits)
            #expect(outcome.error == nil, "\(outcome)")
            #expect(!outcome.requests.isEmpty)
        }
    }
}
