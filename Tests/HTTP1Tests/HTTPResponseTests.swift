import HTTP1
import Testing

@Suite("HTTPResponse")
struct HTTPResponseTests {
    func text(_ response: HTTPResponse, keepAlive: Bool) -> String {
        String(decoding: response.serialized(keepAlive: keepAlive), as: UTF8.self)
    }

    @Test func serializesStatusHeadersLengthAndBody() {
        let response = HTTPResponse(
            status: 200,
            headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", "r-1")],
            body: Array("{}".utf8)
        )
        #expect(text(response, keepAlive: true) ==
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: r-1\r\nContent-Length: 2\r\n\r\n{}")
        #expect(text(response, keepAlive: false) ==
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: r-1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    }

    @Test func emptyBodyStillHasContentLength() {
        #expect(text(HTTPResponse(status: 404), keepAlive: true) == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        #expect(text(HTTPResponse(status: 599), keepAlive: true) == "HTTP/1.1 599 Unknown\r\nContent-Length: 0\r\n\r\n")
    }

    @Test(arguments: [0, 1, 9, 10, 99, 100, 12345, 1_048_576])
    func contentLengthDigits(_ count: Int) {
        let serialized = HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: count)).serialized(keepAlive: true)
        let head = "HTTP/1.1 200 OK\r\nContent-Length: \(count)\r\n\r\n"
        #expect(Array(serialized.prefix(head.utf8.count)) == Array(head.utf8))
        #expect(serialized.count == head.utf8.count + count)
    }

    @Test func noContentStatusesHaveNoLength() {
        #expect(text(HTTPResponse(status: 100), keepAlive: true) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(HTTPResponse(status: 100).serialized(keepAlive: false) == HTTPResponse.continueBytes)
        #expect(text(HTTPResponse(status: 204), keepAlive: false) == "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        #expect(text(HTTPResponse(status: 304), keepAlive: true) == "HTTP/1.1 304 Not Modified\r\n\r\n")
    }

    @Test func framingFieldsFromTheCallerAreDropped() {
        let response = HTTPResponse(
            status: 200,
            headers: [("content-length", "999"), ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"), ("X", "y")],
            body: [1]
        )
        #expect(Array(response.serialized(keepAlive: true)) == Array("HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 1\r\n\r\n".utf8) + [1])
    }

    @Test func controlCharactersInValuesCannotSplitTheResponse() {
        let response = HTTPResponse(status: 400, headers: [("X-Reason", "a\r\nSet-Cookie: x\u{0}\tb")])
        #expect(text(response, keepAlive: true) == "HTTP/1.1 400 Bad Request\r\nX-Reason: a  Set-Cookie: x \tb\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func equalityComparesFieldsInOrder() {
        let a = HTTPResponse(status: 200, headers: [("A", "1"), ("B", "2")], body: [1])
        #expect(a == HTTPResponse(status: 200, headers: [("A", "1"), ("B", "2")], body: [1]))
        #expect(a != HTTPResponse(status: 200, headers: [("B", "2"), ("A", "1")], body: [1]))
        #expect(a != HTTPResponse(status: 201, headers: [("A", "1"), ("B", "2")], body: [1]))
        #expect(a != HTTPResponse(status: 200, headers: [("A", "1"), ("B", "2")], body: [2]))
        #expect(a != HTTPResponse(status: 200, headers: [("A", "1")], body: [1]))
    }

    @Test(arguments: [400, 413, 414, 417, 431, 501, 505])
    func everyParserStatusHasAReasonPhrase(_ status: Int) {
        #expect(HTTPResponse.reasonPhrase(for: status) != "Unknown")
    }

    @Test func aParsedResponseRoundTripsThroughTheRequestParserGrammar() throws {
        // A response head obeys the same field grammar: reuse the parser on a fake request
        // carrying the serialized fields to check every line is CRLF-terminated and well formed.
        let serialized = HTTPResponse(status: 200, headers: [("Host", "h"), ("X-A", "b")], body: Array("xyz".utf8))
            .serialized(keepAlive: false)
        let head = String(decoding: serialized, as: UTF8.self).split(separator: "\r\n", maxSplits: 1)[1]
        var parser = HTTPRequestParser()
        parser.append(Array(("GET / HTTP/1.1\r\n" + head).utf8))
        let event = try #require(try parser.next())
        guard case .request(let request) = event else {
            Issue.record("expected a request")
            return
        }
        #expect(request.headers["content-length"] == "3")
        #expect(request.headers["connection"] == "close")
        #expect(request.body == Array("xyz".utf8))
        #expect(!request.keepAlive)
    }
}
