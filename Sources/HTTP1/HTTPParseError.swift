/// Why a request could not be parsed, with the HTTP status the server should answer with.
///
/// After a parse error the connection cannot be resynchronised: the server writes the
/// response for ``status`` (with `Connection: close`) and closes the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status to answer with: 400, 413, 414, 417, 431, 501 or 505.
    public var status: Int
    /// A short, human-readable explanation that is safe to send to the client: it never
    /// contains bytes of the request.
    public var reason: String

    /// Creates an error.
    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// `"<status> <reason>"`.
    public var description: String { "\(status) \(reason)" }
}

extension HTTPParseError {
    static func badRequest(_ reason: String) -> HTTPParseError {
        HTTPParseError(status: 400, reason: reason)
    }

    static let bareLineFeed = badRequest("line not terminated by CRLF")
    static let tooManyEmptyLines = badRequest("too many empty lines before the request line")
    static let malformedRequestLine = badRequest("malformed request line")
    static let invalidMethod = badRequest("invalid method")
    static let invalidTarget = badRequest("invalid request target")
    static let malformedVersion = badRequest("malformed HTTP version")
    static let obsoleteLineFolding = badRequest("obsolete line folding is not allowed")
    static let invalidFieldName = badRequest("invalid header field name")
    static let invalidFieldValue = badRequest("invalid character in header field value")
    static let missingHost = badRequest("missing Host header")
    static let multipleHost = badRequest("more than one Host header")
    static let contentLengthWithTransferEncoding =
        badRequest("both Transfer-Encoding and Content-Length")
    static let transferEncodingInHTTP10 = badRequest("Transfer-Encoding in an HTTP/1.0 request")
    static let emptyTransferEncoding = badRequest("empty Transfer-Encoding")
    static let chunkedNotFinal = badRequest("chunked is not the final transfer coding")
    static let invalidContentLength = badRequest("invalid Content-Length")
    static let conflictingContentLength = badRequest("conflicting Content-Length values")
    static let invalidChunkSize = badRequest("invalid chunk size line")
    static let chunkSizeOverflow = badRequest("chunk size too large")
    static let chunkSizeLineTooLong = badRequest("chunk size line too long")
    static let missingChunkDataCRLF = badRequest("chunk data not followed by CRLF")

    static let contentTooLarge = HTTPParseError(status: 413, reason: "content too large")
    static let uriTooLong = HTTPParseError(status: 414, reason: "request line too long")
    static let expectationFailed = HTTPParseError(status: 417, reason: "unsupported expectation")
    static let headerSectionTooLarge =
        HTTPParseError(status: 431, reason: "header section too large")
    static let tooManyHeaderFields =
        HTTPParseError(status: 431, reason: "too many header fields")
    static let trailerSectionTooLarge =
        HTTPParseError(status: 431, reason: "trailer section too large")
    static let tooManyTrailerFields =
        HTTPParseError(status: 431, reason: "too many trailer fields")
    static let unsupportedTransferCoding =
        HTTPParseError(status: 501, reason: "unsupported transfer coding")
    static let unsupportedVersion =
        HTTPParseError(status: 505, reason: "HTTP version not supported")
}
