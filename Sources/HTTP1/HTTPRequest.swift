/// One complete HTTP/1.x request, as produced by ``HTTPRequestParser``.
public struct HTTPRequest: Sendable, Equatable {
    /// The method token, exactly as received (methods are case-sensitive).
    public var method: String
    /// The raw request-target, e.g. `/` or `/a?b=c`; not percent-decoded.
    public var target: String

    /// The target split at its first `?`: the path, and the query without the `?` ("" when none).
    public var pathAndQuery: (path: String, query: String) {
        guard let mark = target.firstIndex(of: "?") else { return (target, "") }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var versionMinor: Int
    /// The header fields in the order received (trailer fields are not included).
    public var headers: HTTPHeaders
    /// The body, de-chunked; empty when the request has neither Content-Length nor
    /// Transfer-Encoding.
    public var body: [UInt8]
    /// Whether the connection may carry another request after this one (RFC 9112 §9.3):
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` and
    /// without `close`.
    public var keepAlive: Bool

    /// Creates a request.
    public init(
        method: String,
        target: String,
        versionMinor: Int = 1,
        headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [],
        keepAlive: Bool = true
    ) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }
}

/// What ``HTTPRequestParser/next()`` produced.
public enum HTTPParserEvent: Sendable, Equatable {
    /// The headers of an HTTP/1.1 request with `Expect: 100-continue` and a non-empty body
    /// ended, and no byte of that body has arrived yet: the server should write
    /// `HTTP/1.1 100 Continue\r\n\r\n` (``HTTPResponse/continueBytes``) and keep reading.
    /// Emitted at most once per request, always before that request's ``request(_:)``.
    ///
    /// This is the one event that depends on how the input was split: when the body arrived
    /// together with the headers, the client no longer waits and no event is emitted.
    case expectContinue
    /// A complete request.
    case request(HTTPRequest)
}
