import HTTP1
import Testing

/// One input the parser must reject, with the status it must reject it with.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var status: Int
    var limits = HTTPLimits()

    init(_ name: String, _ input: String, _ status: Int, limits: HTTPLimits = HTTPLimits()) {
        self.name = name
        self.input = Array(input.utf8)
        self.status = status
        self.limits = limits
    }

    init(_ name: String, bytes input: [UInt8], _ status: Int, limits: HTTPLimits = HTTPLimits()) {
        self.name = name
        self.input = input
        self.status = status
        self.limits = limits
    }

    var testDescription: String { "\(status): \(name)" }

    static let get = "GET / HTTP/1.1\r\nHost: h\r\n"
    static let post = "POST / HTTP/1.1\r\nHost: h\r\n"
    static let chunked = post + "Transfer-Encoding: chunked\r\n\r\n"
    static let small = HTTPLimits(maxHeaderBytes: 128, maxRequestLineBytes: 64, maxHeaderCount: 3, maxBodyBytes: 10)

    static let all: [MalformedCase] = requestLine + fields + framing + chunkedBody + limitCases

    static let requestLine: [MalformedCase] = [
        MalformedCase("no version (HTTP/0.9 style)", "GET /\r\n\r\n", 400),
        MalformedCase("no target", "GET\r\nHost: h\r\n\r\n", 400),
        MalformedCase("double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("double space before version", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("leading space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400),
        MalformedCase("tab as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("method not a token", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("control in target", "GET /\u{01} HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("DEL in target", "GET /\u{7F} HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("non-ASCII in target", "GET /é HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("lowercase protocol", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400),
        MalformedCase("version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
        MalformedCase("bare LF everywhere", "GET / HTTP/1.1\nHost: h\n\n", 400),
        MalformedCase("bare LF before request line", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase("CR inside request line", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        MalformedCase(
            "too many leading empty lines",
            String(repeating: "\r\n", count: HTTPRequestParser.maxLeadingEmptyLines + 1) + get + "\r\n", 400
        ),
        MalformedCase("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
        MalformedCase("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        MalformedCase("HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505),
        MalformedCase("HTTP/0.9", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505),
        MalformedCase("HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505),
    ]

    static let fields: [MalformedCase] = [
        MalformedCase("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        MalformedCase("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400),
        MalformedCase("no colon", get + "X-Thing value\r\n\r\n", 400),
        MalformedCase("empty name", get + ": value\r\n\r\n", 400),
        MalformedCase("name not a token", get + "X(a): value\r\n\r\n", 400),
        MalformedCase("obs-fold", get + "X-A: one\r\n two\r\n\r\n", 400),
        MalformedCase("obs-fold with tab", get + "X-A: one\r\n\ttwo\r\n\r\n", 400),
        MalformedCase("first field starts with space", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400),
        MalformedCase("NUL in value", get + "X-A: a\u{0}b\r\n\r\n", 400),
        MalformedCase("CR in value", get + "X-A: a\rb\r\n\r\n", 400),
        MalformedCase("bare CR line ending", get + "X-A: a\r\r\n\r\n", 400),
        MalformedCase("other control in value", get + "X-A: a\u{1B}b\r\n\r\n", 400),
        MalformedCase("bare LF in field", get + "X-A: a\n\r\n", 400),
        MalformedCase("bare LF ending the section", get + "\n", 400),
        MalformedCase("missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400),
        MalformedCase("two Host fields", get + "host: h2\r\n\r\n", 400),
        MalformedCase("two Host fields on HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        MalformedCase("unknown expectation", post + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417),
        MalformedCase("expectation list with unknown member", get + "Expect: 100-continue, x\r\n\r\n", 417),
        MalformedCase("unknown expectation on HTTP/1.0", "GET / HTTP/1.0\r\nExpect: x\r\n\r\n", 417),
    ]

    static let framing: [MalformedCase] = [
        MalformedCase("Content-Length not digits", post + "Content-Length: abc\r\n\r\n", 400),
        MalformedCase("Content-Length negative", post + "Content-Length: -1\r\n\r\n", 400),
        MalformedCase("Content-Length with plus", post + "Content-Length: +1\r\n\r\n", 400),
        MalformedCase("Content-Length hex", post + "Content-Length: 0x1\r\n\r\n", 400),
        MalformedCase("Content-Length empty", post + "Content-Length:\r\n\r\n", 400),
        MalformedCase("Content-Length inner space", post + "Content-Length: 1 2\r\n\r\n", 400),
        MalformedCase("Content-Length differing fields", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        MalformedCase("Content-Length differing list", post + "Content-Length: 5, 6\r\n\r\n", 400),
        MalformedCase("Content-Length list with empty element", post + "Content-Length: 5,\r\n\r\n", 400),
        MalformedCase(
            "Content-Length huge and differing",
            post + "Content-Length: 99999999999999999999999\r\nContent-Length: 99999999999999999999998\r\n\r\n", 400
        ),
        MalformedCase(
            "Transfer-Encoding and Content-Length",
            post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400
        ),
        MalformedCase(
            "Content-Length after Transfer-Encoding",
            post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400
        ),
        MalformedCase(
            "Transfer-Encoding on HTTP/1.0",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400
        ),
        MalformedCase("chunked not last", post + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
        MalformedCase("chunked not last across fields", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        MalformedCase("chunked twice", post + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
        MalformedCase("empty Transfer-Encoding", post + "Transfer-Encoding: \r\n\r\n", 400),
        MalformedCase("unknown coding", post + "Transfer-Encoding: gzip\r\n\r\n", 501),
        MalformedCase("unknown coding before chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
        MalformedCase("chunked with parameters", post + "Transfer-Encoding: chunked;q=1\r\n\r\n", 501),
        MalformedCase("misspelt chunked", post + "Transfer-Encoding: chunk\r\n\r\n", 501),
    ]

    static let chunkedBody: [MalformedCase] = [
        MalformedCase("chunk size not hex", chunked + "xyz\r\n", 400),
        MalformedCase("chunk size empty", chunked + "\r\nabc\r\n0\r\n\r\n", 400),
        MalformedCase("chunk size negative", chunked + "-1\r\n", 400),
        MalformedCase("chunk size with trailing garbage", chunked + "5 x\r\nhello\r\n0\r\n\r\n", 400),
        MalformedCase("chunk size overflow (16 digits)", chunked + "FFFFFFFFFFFFFFFF\r\n", 400),
        MalformedCase("chunk size overflow (17 digits)", chunked + "10000000000000000\r\n", 400),
        MalformedCase("chunk extension with control", chunked + "5;a=\u{1}\r\nhello\r\n0\r\n\r\n", 400),
        MalformedCase("chunk size line bare LF", chunked + "5\nhello\r\n0\r\n\r\n", 400),
        MalformedCase("chunk data too long", chunked + "5\r\nhelloX\r\n0\r\n\r\n", 400),
        MalformedCase("chunk data then bare LF", chunked + "5\r\nhello\n0\r\n\r\n", 400),
        MalformedCase("chunk data then CR and garbage", chunked + "5\r\nhello\rX\n0\r\n\r\n", 400),
        MalformedCase(
            "chunk size line too long",
            chunked + "1;" + String(repeating: "x", count: HTTPRequestParser.maxChunkSizeLineBytes) + "\r\n", 400
        ),
        MalformedCase("malformed trailer", chunked + "0\r\nBad Trailer\r\n\r\n", 400),
        MalformedCase("trailer obs-fold", chunked + "0\r\nA: b\r\n c\r\n\r\n", 400),
        MalformedCase("last chunk then bare LF", chunked + "0\r\n\n", 400),
    ]

    static let limitCases: [MalformedCase] = [
        MalformedCase("Content-Length over limit", post + "Content-Length: 1048577\r\n\r\n", 413),
        MalformedCase("Content-Length beyond Int", post + "Content-Length: 99999999999999999999999999\r\n\r\n", 413),
        MalformedCase("Content-Length over small limit", post + "Content-Length: 11\r\n\r\n", 413, limits: small),
        MalformedCase("chunked body over limit", chunked + "6\r\nabcdef\r\n5\r\nabcde\r\n0\r\n\r\n", 413, limits: small),
        MalformedCase("single chunk over limit", chunked + "FFFFFFFF\r\n", 413),
        MalformedCase("request line over limit", "GET /" + String(repeating: "a", count: 8 * 1024) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414),
        MalformedCase("request line over limit, unterminated", "GET /" + String(repeating: "a", count: 9000), 414),
        MalformedCase("request line over header budget", "GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\n\r\n", 414,
                      limits: HTTPLimits(maxHeaderBytes: 100, maxRequestLineBytes: 1000)),
        MalformedCase("header section over limit", get + String(repeating: "X-Pad: 0123456789abcdef\r\n", count: 700) + "\r\n", 431),
        MalformedCase("one huge field", get + "X-Big: " + String(repeating: "b", count: 17 * 1024) + "\r\n\r\n", 431),
        MalformedCase("huge field, unterminated", get + "X-Big: " + String(repeating: "b", count: 17 * 1024), 431),
        MalformedCase("too many fields", get + String(repeating: "X-A: 1\r\n", count: 128) + "\r\n", 431),
        MalformedCase("too many fields, small limits", get + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, limits: small),
        MalformedCase("too many trailers", chunked + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, limits: small),
        MalformedCase("trailer section over limit", chunked + "0\r\nX: " + String(repeating: "t", count: 200) + "\r\n\r\n", 431, limits: small),
    ]
}

extension HTTPRequestParserTests {
    @Test(arguments: MalformedCase.all)
    func rejects(_ testCase: MalformedCase) {
        let outcome = verifySplitInvariance(testCase.input, limits: testCase.limits)
        #expect(outcome.error?.status == testCase.status, "\(outcome)")
        #expect(outcome.requests.isEmpty, "nothing before the error in these inputs")
    }

    @Test func failureIsSticky() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("GET / HTTP/1.1\r\nHost : h\r\n\r\n"))
        let first = #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(first?.status == 400)
        #expect(parser.bufferedByteCount == 0, "buffer released")
        #expect(!parser.isIdle && !parser.isReadingHeaders)
        parser.append(bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(parser.bufferedByteCount == 0, "appends after a failure are dropped")
        let second = #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(second == first)
    }

    @Test func errorReasonNeverEchoesTheRequest() {
        for testCase in MalformedCase.all {
            guard let error = parse(testCase.input, limits: testCase.limits).error else { continue }
            #expect(!error.reason.contains("h2") && !error.reason.contains("xyz") && error.reason.utf8.count < 60)
            #expect(error.description.hasPrefix("\(error.status) "))
        }
    }

    @Test func oversizedHeaderIsRejectedBeforeItsEndArrives() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Big: "))
        var sent = 0
        var thrown: HTTPParseError?
        while thrown == nil && sent < 64 * 1024 {
            #expect(parser.bufferedByteCount < 16 * 1024)
            parser.append([UInt8](repeating: UInt8(ascii: "b"), count: 1000))
            sent += 1000
            do throws(HTTPParseError) { _ = try parser.next() } catch { thrown = error }
        }
        #expect(thrown?.status == 431)
        #expect(sent <= 17 * 1000, "rejected as soon as the budget was passed")
    }

    @Test func longRequestLineIsRejectedBeforeItsEndArrives() throws {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxRequestLineBytes: 100))
        parser.append(bytes("GET /" + String(repeating: "a", count: 95)))  // 100 bytes: may still end
        #expect(try parser.next() == nil)
        parser.append(bytes("\r"))  // 100 bytes and a CR: still a legal 100-byte line
        #expect(try parser.next() == nil)
        parser.append(bytes("a"))
        #expect(throws: HTTPParseError(status: 414, reason: "request line too long")) { try parser.next() }
    }

    @Test func contentLengthOverLimitIsRejectedBeforeTheBody() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxBodyBytes: 100))
        parser.append(bytes("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n"))
        #expect(throws: HTTPParseError(status: 413, reason: "content too large")) { try parser.next() }
    }

    @Test func chunkOverLimitIsRejectedAtItsSizeLine() {
        var parser = HTTPRequestParser(limits: HTTPLimits(maxBodyBytes: 100))
        parser.append(bytes("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n"))
        #expect(throws: Never.self) { try parser.next() }  // exactly 100: fine
        parser.append([UInt8](repeating: 0x41, count: 100) + bytes("\r\n1\r\n"))
        #expect(throws: HTTPParseError(status: 413, reason: "content too large")) { try parser.next() }
    }

    @Test func requestsBeforeAnErrorAreDelivered() {
        let input = bytes("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/9.9\r\n\r\n")
        let outcome = verifySplitInvariance(input)
        #expect(outcome.requests.map(\.target) == ["/ok"])
        #expect(outcome.error?.status == 505)
    }
}
