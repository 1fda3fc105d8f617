import Foundation
import HTTP1
import Testing
import TestSupport

@Suite("HTTPRequestParserFuzz")
struct HTTPRequestParserFuzzTests {
    /// Every file in Regressions/ (the fuzz corpus and past findings), by name.
    static let regressionFiles = Regressions.names(in: .module)

    @Test func corpusIsPresent() {
        #expect(Self.regressionFiles.count >= 5)
    }

    @Test(arguments: regressionFiles)
    func replay(_ name: String) throws {
        HTTPRequestParserFuzz.run(try Regressions.bytes(name, in: .module))
    }

    @Test(arguments: [UInt8(0), 1, 2, 7, 200, 255])
    func runAcceptsEveryChunkingMode(_ mode: UInt8) {
        let request = Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        HTTPRequestParserFuzz.run([mode] + request + request)
        HTTPRequestParserFuzz.run([mode])
        HTTPRequestParserFuzz.run([])
    }
}
