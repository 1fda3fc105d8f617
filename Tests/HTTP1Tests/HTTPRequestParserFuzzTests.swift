import Foundation
import HTTP1
import Testing

@Suite("HTTPRequestParserFuzz")
struct HTTPRequestParserFuzzTests {
    /// Every file in Regressions/ (the fuzz corpus and past findings), by name.
    static let regressionFiles: [String] = {
        guard let directory = Bundle.module.url(forResource: "Regressions", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [] }
        return names.sorted()
    }()

    @Test func corpusIsPresent() {
        #expect(Self.regressionFiles.count >= 5)
    }

    @Test(arguments: regressionFiles)
    func replay(_ name: String) throws {
        let directory = try #require(Bundle.module.url(forResource: "Regressions", withExtension: nil))
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        HTTPRequestParserFuzz.run(Array(data))
    }

    @Test(arguments: [UInt8(0), 1, 2, 7, 200, 255])
    func runAcceptsEveryChunkingMode(_ mode: UInt8) {
        let request = Array("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        HTTPRequestParserFuzz.run([mode] + request + request)
        HTTPRequestParserFuzz.run([mode])
        HTTPRequestParserFuzz.run([])
    }
}
