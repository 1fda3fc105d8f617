import HTTP1
import Testing

/// The harness itself must be able to fail: a decoder that depends on the split is caught.
extension HTTPRequestParserTests {
    @Test func verifierChunkingsCoverTheInput() {
        for chunking in verifierChunkings {
            for count in [0, 1, 17, 1000] {
                let sizes = chunking.sizes(for: count)
                #expect(sizes.allSatisfy { $0 >= 1 } || count == 0)
                #expect(sizes.reduce(0, +) >= count)
            }
        }
        #expect(Chunking.random(seed: 1, maxChunk: 7).sizes(for: 100) == Chunking.random(seed: 1, maxChunk: 7).sizes(for: 100))
        #expect(Chunking.random(seed: 1, maxChunk: 7).sizes(for: 100) != Chunking.random(seed: 2, maxChunk: 7).sizes(for: 100))
    }

    @Test func everyValidAndInvalidInputIsSplitInvariant() {
        // The valid inputs of this suite, concatenated into one pipeline, then each malformed
        // case appended to it: the requests before the error must come out the same way too.
        let pipeline = Self.seeds.dropLast().reduce([], +)
        let valid = verifySplitInvariance(pipeline)
        #expect(valid.error == nil)
        #expect(valid.requests.count == 5)
        for testCase in MalformedCase.all where testCase.limits == HTTPLimits() {
            let outcome = verifySplitInvariance(pipeline + testCase.input)
            #expect(outcome.requests.count == 5)
            #expect(outcome.error?.status == testCase.status, "\(testCase.name): \(outcome)")
        }
    }

    @Test func expectContinueDependsOnlyOnWhetherTheBodyHadStarted() {
        let head = bytes("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        #expect(parse(head + bytes("abc"), chunking: .whole).events.count == 1)
        for chunking in verifierChunkings {
            let outcome = parse(head + bytes("abc"), chunking: chunking)
            let continues = outcome.events.filter { $0 == .expectContinue }.count
            #expect(continues <= 1)
            #expect(outcome.requests.count == 1)
        }
    }
}
