import HTTP1
import Testing

@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {
    @Test func simpleGet() throws {
        let outcome = verifySplitInvariance(bytes("GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\n\r\n"))
        #expect(outcome.error == nil)
        let request = try #require(outcome.requests.first)
        #expect(outcome.events.count == 1)
        #expect(request.method == "GET")
        #expect(request.target == "/a?b=c")
        #expect(request.versionMinor == 1)
        #expect(request.headers.count == 2)
        #expect(request.headers["host"] == "example.com")
        #expect(request.headers["x-empty"] == "")
        #expect(request.body.isEmpty)
        #expect(request.keepAlive)
    }

    @Test func headerValuesAreTrimmedAndKeepNameCase() throws {
        let input = "GET / HTTP/1.1\r\nHost: h\r\nX-Amz-Target:  \t secretsmanager.GetSecretValue \t \r\n"
            + "x-multi: one\r\nX-Multi: two\r\n\r\n"
        let request = try #require(verifySplitInvariance(bytes(input)).requests.first)
        let fields = request.headers.map { "\($0.name)=\($0.value)" }
        #expect(fields == ["Host=h", "X-Amz-Target=secretsmanager.GetSecretValue", "x-multi=one", "X-Multi=two"])
        #expect(request.headers.values(for: "X-MULTI") == ["one", "two"])
        #expect(request.headers["x-multi"] == "one")
        #expect(request.headers["absent"] == nil)
    }

    @Test func postWithContentLength() throws {
        let outcome = verifySplitInvariance(
            bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\n\r\n{\"Name\":\"x\"}\n")
        )
        #expect(outcome.error == nil)
        let request = try #require(outcome.requests.first)
        #expect(request.method == "POST")
        #expect(request.body == bytes("{\"Name\":\"x\"}\n"))
    }

    @Test func repeatedIdenticalContentLengthIsAccepted() throws {
        let input = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 003\r\n"
            + "Content-Length: 3, 3\r\n\r\nabc"
        let request = try #require(verifySplitInvariance(bytes(input)).requests.first)
        #expect(request.body == bytes("abc"))
    }

    @Test func contentLengthZeroAndAbsentMeanEmptyBody() throws {
        let outcome = verifySplitInvariance(
            bytes("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nDELETE /y HTTP/1.1\r\nHost: h\r\n\r\n")
        )
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.target) == ["/x", "/y"])
        #expect(outcome.requests.allSatisfy { $0.body.isEmpty })
    }

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let input = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "1 ; quoted=\"a b\"\r\n \r\n"
            + "0000000000000000006\r\nworld!\r\n"
            + "0;last\r\nX-Trailer: t\r\nChecksum: 1\r\n\r\n"
        let outcome = verifySplitInvariance(bytes(input))
        #expect(outcome.error == nil)
        let request = try #require(outcome.requests.first)
        #expect(request.body == bytes("hello world!"))
        #expect(request.headers["x-trailer"] == nil, "trailers are discarded")
        #expect(request.headers["transfer-encoding"] == "chunked")
    }

    @Test func chunkedCodingNameIsCaseInsensitiveAndListsMayBeSplit() throws {
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
            + "A\r\n0123456789\r\n0\r\n\r\n"
        let request = try #require(verifySplitInvariance(bytes(input)).requests.first)
        #expect(request.body == bytes("0123456789"))
    }

    @Test func pipelinedRequestsInOneBuffer() throws {
        let input = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
            + "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
            + "GET /4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        var parser = HTTPRequestParser()
        parser.append(bytes(input))
        var targets: [String] = []
        while let event = try parser.next() {
            guard case .request(let request) = event else {
                Issue.record("unexpected \(event)")
                break
            }
            targets.append(request.target)
        }
        #expect(targets == ["/1", "/2", "/3", "/4"])
        #expect(parser.isIdle)
        #expect(parser.bufferedByteCount == 0)
        #expect(verifySplitInvariance(bytes(input)).requests.map(\.keepAlive) == [true, true, true, false])
    }

    @Test func leadingEmptyLinesAreSkipped() throws {
        let blank = String(repeating: "\r\n", count: HTTPRequestParser.maxLeadingEmptyLines)
        let input = blank + "GET / HTTP/1.1\r\nHost: h\r\n\r\n" + blank + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
        let outcome = verifySplitInvariance(bytes(input))
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.target) == ["/", "/2"])
    }

    struct KeepAliveCase: Sendable, CustomTestStringConvertible {
        var version: String
        var connection: String?
        var keepAlive: Bool
        var testDescription: String { "\(version) Connection: \(connection ?? "absent") → \(keepAlive)" }
    }

    @Test(arguments: [
        KeepAliveCase(version: "1.1", connection: nil, keepAlive: true),
        KeepAliveCase(version: "1.1", connection: "keep-alive", keepAlive: true),
        KeepAliveCase(version: "1.1", connection: "close", keepAlive: false),
        KeepAliveCase(version: "1.1", connection: "Upgrade, CLOSE", keepAlive: false),
        KeepAliveCase(version: "1.0", connection: nil, keepAlive: false),
        KeepAliveCase(version: "1.0", connection: "Keep-Alive", keepAlive: true),
        KeepAliveCase(version: "1.0", connection: "keep-alive, close", keepAlive: false),
        KeepAliveCase(version: "1.0", connection: "close", keepAlive: false),
    ])
    func keepAlive(_ testCase: KeepAliveCase) throws {
        var input = "GET / HTTP/\(testCase.version)\r\nHost: h\r\n"
        if let connection = testCase.connection { input += "Connection: \(connection)\r\n" }
        input += "\r\n"
        let request = try #require(verifySplitInvariance(bytes(input)).requests.first)
        #expect(request.keepAlive == testCase.keepAlive)
        #expect(request.versionMinor == (testCase.version == "1.0" ? 0 : 1))
    }

    @Test func http10WithoutHostIsAccepted() throws {
        let request = try #require(verifySplitInvariance(bytes("GET / HTTP/1.0\r\n\r\n")).requests.first)
        #expect(request.versionMinor == 0)
        #expect(request.headers.count == 0)
    }

    @Test func expectContinueIsEmittedOnceBeforeTheBody() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT /s HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n"))
        #expect(try parser.next() == .expectContinue)
        #expect(try parser.next() == nil, "only once")
        #expect(try parser.next() == nil)
        #expect(!parser.isReadingHeaders)
        parser.append(bytes("da"))
        #expect(try parser.next() == nil)
        parser.append(bytes("ta"))
        let event = try #require(try parser.next())
        guard case .request(let request) = event else {
            Issue.record("expected a request, got \(event)")
            return
        }
        #expect(request.body == bytes("data"))
        #expect(try parser.next() == nil)
    }

    @Test func expectContinueForChunkedBody() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("PUT /s HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(try parser.next() == .expectContinue)
        parser.append(bytes("1\r\nx\r\n0\r\n\r\n"))
        #expect(try parser.next() == .request(HTTPRequest(
            method: "PUT", target: "/s",
            headers: HTTPHeaders([("Host", "h"), ("Expect", "100-continue"), ("Transfer-Encoding", "chunked")]),
            body: bytes("x")
        )))
    }

    @Test func expectContinueIsNotEmittedWhenTheBodyAlreadyArrived() throws {
        let input = "PUT /s HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"
        var parser = HTTPRequestParser()
        parser.append(bytes(input))
        let event = try #require(try parser.next())
        guard case .request(let request) = event else {
            Issue.record("expected the request, got \(event)")
            return
        }
        #expect(request.body == bytes("x"))
        // Byte by byte, the client would be waiting: the event comes exactly once.
        let split = parse(bytes(input), chunking: .byteByByte)
        #expect(split.events.filter { $0 == .expectContinue }.count == 1)
        #expect(split.events.last == event)
    }

    @Test func expectContinueIsNotEmittedWithoutBodyOrForHTTP10() throws {
        for input in [
            "PUT /s HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
            "PUT /s HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
            "PUT /s HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
        ] {
            let outcome = parse(bytes(input), chunking: .byteByByte)
            #expect(outcome.error == nil)
            #expect(outcome.events.count == 1, "\(outcome)")
            #expect(outcome.requests.count == 1)
        }
    }

    @Test func idleAndReadingHeadersTrackTheRequestPhase() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isIdle && !parser.isReadingHeaders)
        parser.append(bytes("GE"))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle && parser.isReadingHeaders)
        parser.append(bytes("T / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n"))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle && !parser.isReadingHeaders, "reading the body")
        parser.append(bytes("ok"))
        #expect(try parser.next() != nil)
        #expect(parser.isIdle && !parser.isReadingHeaders)
        parser.append(bytes("\r"))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle && parser.isReadingHeaders)
    }

    @Test func bodyBytesLeaveTheInputBuffer() throws {
        var parser = HTTPRequestParser()
        parser.append(bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"))
        #expect(try parser.next() == nil)
        for _ in 0..<99 {
            parser.append([UInt8](repeating: 0x41, count: 1000))
            #expect(try parser.next() == nil)
            #expect(parser.bufferedByteCount == 0)
        }
        parser.append([UInt8](repeating: 0x41, count: 1000))
        let event = try #require(try parser.next())
        guard case .request(let request) = event else {
            Issue.record("expected a request")
            return
        }
        #expect(request.body.count == 100_000)
    }

    @Test func limitsAreInclusive() throws {
        // A request exactly at every limit is accepted.
        let limits = HTTPLimits(maxHeaderBytes: 64, maxRequestLineBytes: 20, maxHeaderCount: 2, maxBodyBytes: 5)
        let requestLine = "GET /" + String(repeating: "a", count: 6) + " HTTP/1.1"  // 20 bytes
        #expect(requestLine.utf8.count == 20)
        var head = requestLine + "\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
        let padding = 64 - head.utf8.count
        head = requestLine + "\r\nHost: h" + String(repeating: "h", count: padding) + "\r\nContent-Length: 5\r\n\r\n"
        #expect(head.utf8.count == 64)
        let outcome = verifySplitInvariance(bytes(head + "12345"), limits: limits)
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.body == bytes("12345"))
    }
}
