import HTTP1
import Platform
import Testing
import TLS
@testable import Links

/// `HTTPResponseReader` over real TLS streams on 127.0.0.1: a server thread writes a response
/// in pieces (a pause between them, so they tend to arrive in separate reads), then closes or
/// waits for the client to go.
@Suite struct HTTPResponseReaderTests {
    /// What one read gave: the response or the error, and every byte handed to `onBytes`.
    struct Outcome {
        var result: Result<HTTPResponseReader.Read, HTTPResponseReadError>
        var handedOn: [UInt8]
        var calls: Int
        var seconds: Double
    }

    /// Serves `pieces` to one client, then closes (`close`) or waits until the client goes;
    /// reads one response from it with `reader`.
    func read(
        _ pieces: [String], close: Bool, reader: HTTPResponseReader = HTTPResponseReader(parser: HTTPResponseParser(captureSuccessBodies: true)),
        timeout: Double = 5, onBytes: ((ArraySlice<UInt8>) throws(LinkError) -> Void)? = nil
    ) throws -> Outcome {
        let pki = try TestClusterPKI()
        defer { pki.remove() }
        let files = try pki.issueNode(region: "us-east-1", nodeId: "us-east-1-a")
        let serverContext = try TLSContext.server(certificateChainFile: files.certificateFile, privateKeyFile: files.keyFile)
        let listener = try TestListener()
        let server = try listener.serveOne(context: serverContext) { (stream: TLSStream) throws(LinkError) in
            for (i, piece) in pieces.enumerated() {
                if i > 0 { OSThread.sleep(seconds: 0.02) }
                try stream.write(Array(piece.utf8), timeout: 5)
            }
            if close {
                stream.close()
            } else {
                _ = try? stream.read(maxBytes: 16, timeout: 10)  // until the client goes
            }
        }
        defer { _ = server.wait() }
        let client = try TLSStream.connect(to: listener.address, context: try TLSContext.client(trustedCAFile: pki.caFile),
                                           expectedPeerIP: "127.0.0.1", timeout: 5)
        defer { client.close() }
        var reader = reader
        var handedOn: [UInt8] = []
        var calls = 0
        let started = MonotonicClock.seconds()
        let result = Result { () throws(HTTPResponseReadError) -> HTTPResponseReader.Read in
            try reader.read(from: client, deadline: started + timeout) { (bytes: ArraySlice<UInt8>) throws(LinkError) in
                calls += 1
                try onBytes?(bytes)
                handedOn += bytes
            }
        }
        return Outcome(result: result, handedOn: handedOn, calls: calls, seconds: MonotonicClock.seconds() - started)
    }

    func failure(_ outcome: Outcome) throws -> HTTPResponseReadError {
        guard case .failure(let error) = outcome.result else {
            Issue.record("a response was read: \(outcome.result)")
            throw HTTPResponseReadError(.link, "no failure")
        }
        return error
    }

    @Test func aResponseInPiecesIsReadWholeAndHandedOnUnchanged() throws {
        let pieces = ["HTTP/1.1 200 OK\r\nContent-Ty", "pe: application/json\r\nContent-Length: 11\r\n\r\n{\"a\"", ":\"bcd\"}"]
        let outcome = try read(pieces, close: false)
        let read = try outcome.result.get()
        #expect(read.response == HTTPResponseSummary(status: 200, keepAlive: true, bodyBytes: 11, bodyPrefix: Array(#"{"a":"bcd"}"#.utf8)))
        #expect(!read.excessBytes)
        #expect(outcome.handedOn == Array(pieces.joined().utf8))
    }

    @Test func aChunkedResponseIsReadToItsTrailersAndRelayedWithItsFraming() throws {
        let pieces = ["HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi", "ki\r\n5\r\npedia\r\n", "0\r\nTrailer: x\r\n", "\r\n"]
        let outcome = try read(pieces, close: false)
        let read = try outcome.result.get()
        #expect(read.response == HTTPResponseSummary(status: 201, keepAlive: true, bodyBytes: 9, bodyPrefix: Array("Wikipedia".utf8)))
        #expect(outcome.handedOn == Array(pieces.joined().utf8), "chunk framing included")
    }

    @Test func interimResponsesAreHandedOnAndSkipped() throws {
        let pieces = ["HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"]
        let outcome = try read(pieces, close: false)
        #expect(try outcome.result.get().response.status == 204)
        #expect(outcome.handedOn == Array(pieces.joined().utf8))
    }

    @Test func bytesAfterTheResponseAreNotHandedOnButReported() throws {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        let outcome = try read([response + "HTTP/1.1 200 OK\r\n"], close: false)
        let read = try outcome.result.get()
        #expect(read.excessBytes)
        #expect(read.response.keepAlive)
        #expect(outcome.handedOn == Array(response.utf8))
    }

    @Test func aBodyDelimitedByTheCloseEndsWithIt() throws {
        let pieces = ["HTTP/1.1 200 OK\r\n\r\nab", "c"]
        let outcome = try read(pieces, close: true)
        let read = try outcome.result.get()
        #expect(read.response == HTTPResponseSummary(status: 200, keepAlive: false, bodyBytes: 3, bodyPrefix: Array("abc".utf8)))
        #expect(!read.excessBytes)
        #expect(outcome.handedOn == Array(pieces.joined().utf8))
    }

    @Test func aCloseInTheMiddleOfTheBodyFailsAfterHandingOnWhatCame() throws {
        let pieces = ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "abcd"]
        let outcome = try read(pieces, close: true)
        let error = try failure(outcome)
        #expect(error.kind == .closedMidResponse)
        #expect(error.message == "malformed HTTP response: the connection closed in the middle of a response")
        #expect(outcome.handedOn == Array(pieces.joined().utf8))
    }

    @Test func aCloseBeforeAnyResponseIsClosedWithoutAnswer() throws {
        let error = try failure(try read([], close: true))
        #expect(error.kind == .closedWithoutAnswer)
        #expect(error.message.hasPrefix("127.0.0.1:") && error.message.hasSuffix(" closed the connection without answering"), "\(error)")

        let afterInterim = try read(["HTTP/1.1 100 Continue\r\n\r\n"], close: true)
        #expect(try failure(afterInterim).kind == .closedWithoutAnswer)
        #expect(afterInterim.handedOn == Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
    }

    @Test func theDeadlinePassingBeforeTheEndIsTimedOut() throws {
        let partial = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
        let outcome = try read([partial], close: false, timeout: 0.3)
        let error = try failure(outcome)
        #expect(error.kind == .timedOut, "\(error)")
        #expect(outcome.seconds >= 0.29 && outcome.seconds < 3, "waited \(outcome.seconds) s")
        #expect(outcome.handedOn == Array(partial.utf8), "what came before the deadline was handed on")
    }

    @Test func aResponseLongerThanTheLimitIsRefused() throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
        let body = String(repeating: "x", count: 2500)
        let reader = HTTPResponseReader(parser: HTTPResponseParser(captureSuccessBodies: true), byteLimit: 1000)
        let outcome = try read([head, body, body], close: false, reader: reader)
        let error = try failure(outcome)
        #expect(error.kind == .tooLong)
        #expect(error.message == "the response is longer than 1000 bytes")
        #expect(outcome.handedOn.count <= 1000)

        let exact = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        let fits = HTTPResponseReader(parser: HTTPResponseParser(), byteLimit: exact.utf8.count)
        #expect(try read([exact], close: false, reader: fits).result.get().response.bodyBytes == 3, "the limit itself is allowed")
    }

    @Test func bytesThatAreNotAResponseAreMalformed() throws {
        let outcome = try read(["HTTP/1.1 abc Nonsense\r\n\r\n"], close: false)
        let error = try failure(outcome)
        #expect(error.kind == .malformed)
        #expect(error.message.hasPrefix("malformed HTTP response: "), "\(error)")
        #expect(outcome.handedOn.isEmpty)
    }

    @Test func aReceiverThatFailsStopsTheRead() throws {
        let pieces = ["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "ab", "cd"]
        let outcome = try read(pieces, close: false) { (_: ArraySlice<UInt8>) throws(LinkError) in
            throw LinkError(.closed, "the client is gone")
        }
        let error = try failure(outcome)
        #expect(error.kind == .delivery)
        #expect(error.message == "the client is gone")
        #expect(outcome.calls == 1)
    }
}
