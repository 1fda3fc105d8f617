import HTTP1
import Testing

@Suite("HTTPHeaders and HTTPLimits")
struct HTTPHeadersTests {
    @Test func lookupIsCaseInsensitiveAndOrdered() {
        var headers = HTTPHeaders([("Content-Type", "a"), ("X-Amz-Date", "d")])
        headers.append(name: "content-type", value: "b")
        #expect(headers.count == 3)
        #expect(headers["CONTENT-TYPE"] == "a")
        #expect(headers.values(for: "Content-type") == ["a", "b"])
        #expect(headers.values(for: "Content-Typ").isEmpty)
        #expect(headers["Content-Type2"] == nil)
        #expect(headers.map(\.name) == ["Content-Type", "X-Amz-Date", "content-type"])
    }

    @Test func equalityIsExactAndOrdered() {
        let a = HTTPHeaders([("A", "1"), ("B", "2")])
        #expect(a == HTTPHeaders([("A", "1"), ("B", "2")]))
        #expect(a != HTTPHeaders([("a", "1"), ("B", "2")]))
        #expect(a != HTTPHeaders([("B", "2"), ("A", "1")]))
        #expect(a != HTTPHeaders([("A", "1")]))
        #expect(HTTPHeaders() == HTTPHeaders([]))
    }

    @Test func defaultLimits() {
        let limits = HTTPLimits()
        #expect(limits.maxHeaderBytes == 16 * 1024)
        #expect(limits.maxRequestLineBytes == 8 * 1024)
        #expect(limits.maxHeaderCount == 128)
        #expect(limits.maxBodyBytes == 1024 * 1024)
    }

    @Test func obsTextInValuesIsKeptAsUTF8() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("GET / HTTP/1.1\r\nHost: h\r\nX-Name: café\r\nX-Raw: a".utf8) + [0xFF] + Array("b\r\n\r\n".utf8))
        let event = try #require(try parser.next())
        guard case .request(let request) = event else {
            Issue.record("expected a request")
            return
        }
        #expect(request.headers["x-name"] == "café")
        #expect(request.headers["x-raw"] == "a\u{FFFD}b")
    }
}

extension HTTPHeadersTests {
    @Test func limitsNearIntMaxDoNotOverflow() throws {
        let huge = HTTPLimits(maxHeaderBytes: .max, maxRequestLineBytes: .max, maxHeaderCount: .max, maxBodyBytes: .max)
        let ok = verifySplitInvariance(bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"), limits: huge)
        #expect(ok.requests.first?.body == bytes("ok"))
        let tooBig = verifySplitInvariance(
            bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n"), limits: huge
        )
        #expect(tooBig.error?.status == 413)
        let chunk = verifySplitInvariance(
            bytes("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFF\r\n"), limits: huge
        )
        #expect(chunk.error == nil && chunk.requests.isEmpty, "a 2^60 chunk is within Int.max: waits for data")
    }
}
