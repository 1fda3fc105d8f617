import Foundation
import HTTP1
import Testing
import TestSupport

@Suite("HTTPRequestParserFuzz")
struct HTTPRequestParserFuzzTests {
    /// Seeds, past findings and the committed corpus (scripts/fuzz http1 grows it).
    @Test func replaysRegressionsAndCorpus() throws {
        let counts = try FuzzReplay.replay("http1", bundle: .module, run: HTTPRequestParserFuzz.run)
        #expect(counts.regressions >= 5, "Regressions/ is missing or nearly empty")
        #expect(counts.corpus >= 20, "FuzzTesting/Corpus/http1 is missing or nearly empty")
    }

    @Test(arguments: [UInt8(0), 1, 2, 7, 200, 255])
    func runAcceptsEveryChunkingMode(_ mode: UInt8) {
        let request = Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        HTTPRequestParserFuzz.run([mode] + request + request)
        HTTPRequestParserFuzz.run([mode])
        HTTPRequestParserFuzz.run([])
    }
}
