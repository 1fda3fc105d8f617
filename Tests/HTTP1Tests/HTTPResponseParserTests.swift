@testable import HTTP1
import Testing
import TestSupport

@Suite struct HTTPResponseParserTests {
    /// Feeds `stream` cut at `cuts` and collects every response, then the end of input.
    func parseAll(_ stream: [UInt8], cuts: [Int] = [], captureAll: Bool = true, close: Bool = false) throws(HTTPResponseError) -> [HTTPResponseSummary] {
        var parser = HTTPResponseParser(captureSuccessBodies: captureAll)
        var responses: [HTTPResponseSummary] = []
        var start = 0
        for end in cuts + [stream.count] where end >= start {
            var piece = stream[start..<end]
            while !piece.isEmpty {
                let (consumed, response) = try parser.parse(piece)
                if let response { responses.append(response) }
                piece = piece.dropFirst(consumed)
            }
            start = end
        }
        if close, let last = try parser.finish() { responses.append(last) }
        return responses
    }

    static let contentLength = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}".utf8)
    static let chunked = Array("HTTP/1.1 201 Created\r\ntransfer-encoding: gzip, Chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n".utf8)
    static let interimThenNoContent = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n".utf8)
    static let http10KeepAlive = Array("HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 2\n\nhi".utf8)
    static let failure = Array("HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 5\r\n\r\noops!".utf8)
    static let stream = contentLength + chunked + interimThenNoContent + http10KeepAlive + failure

    static let expected = [
        HTTPResponseSummary(status: 200, keepAlive: true, bodyBytes: 11, bodyPrefix: Array(#"{"a":"bcd"}"#.utf8)),
        HTTPResponseSummary(status: 201, keepAlive: true, bodyBytes: 23, bodyPrefix: Array("Wikipedia in\r\n\r\nchunks.".utf8)),
        HTTPResponseSummary(status: 204, keepAlive: true, bodyBytes: 0),
        HTTPResponseSummary(status: 200, keepAlive: true, bodyBytes: 2, bodyPrefix: Array("hi".utf8)),
        HTTPResponseSummary(status: 500, keepAlive: false, bodyBytes: 5, bodyPrefix: Array("oops!".utf8)),
    ]

    @Test func parsesContentLengthChunkedInterimAndHTTP10() throws {
        #expect(try parseAll(Self.stream) == Self.expected)
    }

    @Test func theSameResponsesHoweverTheInputIsSplit() throws {
        #expect(try parseAll(Self.stream, cuts: Array(0..<Self.stream.count)) == Self.expected, "one byte at a time")
        for cut in 0...Self.stream.count {
            #expect(try parseAll(Self.stream, cuts: [cut]) == Self.expected, "cut at \(cut)")
        }
        var random = TestSupport.SplitMix64(seed: 7)
        for _ in 0..<200 {
            let cuts = (0..<5).map { _ in Int.random(in: 0...Self.stream.count, using: &random) }.sorted()
            #expect(try parseAll(Self.stream, cuts: cuts) == Self.expected, "cuts \(cuts)")
        }
    }

    /// Only the headers asked for are kept, by lowercased name, whatever their case on the wire;
    /// an interim response's headers are not the final one's.
    @Test func keptHeadersAreTheOnesAskedFor() throws {
        let bytes = Array(("HTTP/1.1 100 Continue\r\nX-Amzn-RequestId: interim\r\n\r\n"
            + "HTTP/1.1 400 Bad Request\r\nx-amzn-requestid: 1a2b\r\nContent-Type: application/x-amz-json-1.1\r\n"
            + "X-Other: no\r\nContent-Length: 2\r\n\r\n{}"
            + "HTTP/1.1 100 Continue\r\nX-Amzn-RequestId: interim\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n").utf8)
        var parser = HTTPResponseParser(keepHeaders: ["x-amzn-RequestId"])
        var rest = bytes[...]
        var responses: [HTTPResponseSummary] = []
        while !rest.isEmpty {
            let (consumed, response) = try parser.parse(rest)
            if let response { responses.append(response) }
            rest = rest.dropFirst(consumed)
        }
        #expect(responses.count == 2 && responses[0].keptHeaders == ["x-amzn-requestid": "1a2b"] && responses[1].keptHeaders.isEmpty)
        #expect(try parseAll(Self.stream).allSatisfy { $0.keptHeaders.isEmpty })
    }

    @Test func successBodiesAreCountedNotCopiedUnlessAsked() throws {
        let responses = try parseAll(Self.stream, captureAll: false)
        #expect(responses.map(\.bodyBytes) == Self.expected.map(\.bodyBytes))
        #expect(responses.prefix(4).allSatisfy { $0.bodyPrefix.isEmpty })
        #expect(responses[4].bodyPrefix == Array("oops!".utf8), "error bodies are kept to print")
        var small = HTTPResponseParser(captureLimit: 3)
        let (_, response) = try small.parse(Self.failure[...])
        #expect(response?.bodyPrefix == Array("oop".utf8) && response?.bodyBytes == 5)
    }

    @Test func aBodyWithoutLengthEndsWithTheConnection() throws {
        let stream = Array("HTTP/1.1 200 OK\r\n\r\nuntil the end".utf8)
        let responses = try parseAll(stream, cuts: [5, 20], close: true)
        #expect(responses == [HTTPResponseSummary(status: 200, keepAlive: false, bodyBytes: 13, bodyPrefix: Array("until the end".utf8))])
        var parser = HTTPResponseParser()
        #expect(try parser.finish() == nil, "a close between responses is not an error")
        _ = try parser.parse(Self.contentLength[..<40])
        #expect(throws: HTTPResponseError.self) { try parser.finish() }
    }

    @Test(arguments: [
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "\r\n",
        "HTTP/1.1 200 OK\r\n folded: header\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ])
    func malformedResponsesThrow(text: String) {
        var parser = HTTPResponseParser()
        let bytes = Array(text.utf8)
        #expect(throws: HTTPResponseError.self) {
            var rest = bytes[...]
            while !rest.isEmpty {
                let (consumed, _) = try parser.parse(rest)
                rest = rest.dropFirst(consumed)
            }
        }
        #expect(throws: HTTPResponseError.self, "a failed parser stays failed") { try parser.parse(Self.contentLength[...]) }
    }

    @Test func limitsBoundWhatIsBuffered() {
        var limits = HTTPResponseParser.Limits()
        limits.headBytes = 100
        limits.lineBytes = 16
        var parser = HTTPResponseParser(limits: limits)
        let longHead = Array(("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 200)).utf8)
        #expect(throws: HTTPResponseError("head longer than 100 bytes")) { try parser.parse(longHead[...]) }
        var chunks = HTTPResponseParser(limits: limits)
        let longLine = Array(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 30)).utf8)
        #expect(throws: HTTPResponseError("chunk-size line longer than 16 bytes")) { try chunks.parse(longLine[...]) }
    }

    /// Random mutations of valid responses: the parser may accept or refuse, but never traps.
    @Test func mutatedInputNeverTraps() {
        var random = TestSupport.SplitMix64(seed: 42)
        for _ in 0..<3_000 {
            var bytes = Self.stream
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let i = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: i)
                }
            }
            let cut = Int.random(in: 0...bytes.count, using: &random)
            _ = try? parseAll(bytes, cuts: [cut], close: true)
        }
    }
}
