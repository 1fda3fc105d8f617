package import HTTP1
import Platform

/// Reads one HTTP/1.1 response from a blocking `TLSStream`: what the front proxy relays from a
/// node and what `strongroom status` reads from one.
///
/// Guarantees:
/// - It returns when the parser completes a response, or when the peer's close completes one
///   (a body delimited by the close); bytes after the response are not read on purpose, but
///   when some arrived with its end, `Read.excessBytes` says so (the connection is then out of
///   step and must not carry another request).
/// - Every byte of the response goes to `onBytes` as it arrives, in order and unchanged, cut
///   where reads and the response's end cut it; nothing past the response's end is handed on.
/// - It never waits past `deadline`, and with a `byteLimit` it never reads more than one read
///   beyond that many bytes.
package struct HTTPResponseReader: Sendable {
    /// Plaintext bytes asked for per read.
    package static let readBytes = 64 * 1024

    /// Frames the response; its capture settings say what the caller keeps of the body.
    package var parser: HTTPResponseParser
    /// The most bytes (head and body, as received) a response may take; nil for no limit (a
    /// caller that relays the bytes as they arrive holds none of them).
    package let byteLimit: Int?

    /// What `read` returns.
    package struct Read: Sendable {
        /// The response, with the body prefix the parser captured.
        package var response: HTTPResponseSummary
        /// Bytes came after the response's end in the same read: they were not asked for.
        package var excessBytes: Bool
    }

    package init(parser: HTTPResponseParser, byteLimit: Int? = nil) {
        precondition(byteLimit.map { $0 >= 0 } ?? true, "a negative byte limit")
        self.parser = parser
        self.byteLimit = byteLimit
    }

    /// Reads from `stream` until one response is complete.
    ///
    /// - Parameters:
    ///   - deadline: on `MonotonicClock.seconds()`; every read waits at most until then.
    ///   - onBytes: receives the response's bytes as they arrive; when it throws, reading stops.
    /// - Returns: the response, and whether bytes followed it.
    /// - Throws: `HTTPResponseReadError` (its `kind` says which failure it is).
    package mutating func read(
        from stream: TLSStream, deadline: Double, onBytes: (ArraySlice<UInt8>) throws(LinkError) -> Void = { _ in }
    ) throws(HTTPResponseReadError) -> Read {
        var received = 0
        while true {
            let bytes: [UInt8]
            do {
                bytes = try stream.read(maxBytes: Self.readBytes, timeout: max(0, deadline - MonotonicClock.seconds()))
            } catch {
                throw HTTPResponseReadError(error.kind == .timedOut ? .timedOut : .link, error.message)
            }
            if bytes.isEmpty {
                let last: HTTPResponseSummary?
                do {
                    last = try parser.finish()
                } catch {
                    throw HTTPResponseReadError(.closedMidResponse, error.description)
                }
                guard let last else {
                    throw HTTPResponseReadError(.closedWithoutAnswer, "\(stream.peerDescription) closed the connection without answering")
                }
                return Read(response: last, excessBytes: false)
            }
            received += bytes.count
            if let byteLimit, received > byteLimit {
                throw HTTPResponseReadError(.tooLong, "the response is longer than \(byteLimit) bytes")
            }
            let consumed: Int
            let response: HTTPResponseSummary?
            do {
                // Interim (1xx) responses are skipped inside the parser: one call takes every
                // byte, or the bytes up to the end of the final response.
                (consumed, response) = try parser.parse(bytes[...])
            } catch {
                throw HTTPResponseReadError(.malformed, error.description)
            }
            do {
                try onBytes(bytes[0..<consumed])
            } catch {
                throw HTTPResponseReadError(.delivery, error.message)
            }
            if let response { return Read(response: response, excessBytes: consumed < bytes.count) }
        }
    }
}

/// Why `HTTPResponseReader.read` returned no response: the kind to branch on, and one line that
/// says what happened (never payload bytes).
package struct HTTPResponseReadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Which failure this is.
    package enum Kind: Sendable, Hashable {
        /// The deadline passed before the response was complete.
        case timedOut
        /// Reading the stream failed (`message` is the `LinkError`'s).
        case link
        /// The peer closed the stream before any byte of a final response (interim responses
        /// may have come).
        case closedWithoutAnswer
        /// The peer closed the stream in the middle of a response.
        case closedMidResponse
        /// The bytes are not an HTTP/1.1 response as a client may accept it.
        case malformed
        /// More than the reader's `byteLimit` arrived before the response ended.
        case tooLong
        /// `onBytes` threw (`message` is its `LinkError`'s): the bytes could not be passed on.
        case delivery
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
