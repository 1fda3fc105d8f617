/// An HTTP/1.1 response to serialize.
///
/// The serializer owns message framing: it always writes `Content-Length` itself (except for
/// 1xx, 204 and 304, which have no content) and `Connection: close` when asked to; fields
/// named `Content-Length`, `Transfer-Encoding` or `Connection` in ``headers`` are therefore
/// dropped rather than risk two framings in one response.
public struct HTTPResponse: Sendable, Equatable {
    /// The status code, 100 through 999.
    public var status: Int
    /// Header fields, in order. Names must be tokens; control characters in values (CR, LF,
    /// NUL, ...) are replaced by spaces when serialized, so a value can never split the
    /// response.
    public var headers: [(name: String, value: String)]
    /// The content.
    public var body: [UInt8]

    /// The interim response a server writes after ``HTTPParserEvent/expectContinue``:
    /// `HTTP/1.1 100 Continue\r\n\r\n`.
    public static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Two responses are equal when status, fields (in order) and body are equal.
    public static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
            && lhs.body == rhs.body
    }

    /// The wire form: status line, ``headers``, `Content-Length`, `Connection: close` when
    /// `keepAlive` is false, the empty line, then ``body``.
    ///
    /// - Precondition: `status` is in 100...999, every header name is a token, and the body
    ///   is empty for 1xx, 204 and 304.
    public func serialized(keepAlive: Bool) -> [UInt8] {
        precondition((100...999).contains(status), "HTTP status out of range: \(status)")
        let hasContent = !((100...199).contains(status) || status == 204 || status == 304)
        precondition(hasContent || body.isEmpty, "status \(status) cannot carry a body")
        let interim = (100...199).contains(status)

        var estimate = 64 + body.count
        for field in headers { estimate += field.name.utf8.count + field.value.utf8.count + 4 }
        var out: [UInt8] = []
        out.reserveCapacity(estimate)

        out.append(contentsOf: "HTTP/1.1 ".utf8)
        Self.appendDecimal(status, to: &out)
        out.append(ASCII.space)
        out.append(contentsOf: Self.reasonPhrase(for: status).utf8)
        out.append(contentsOf: Self.crlf)
        for field in headers where !Self.isFramingField(field.name) {
            precondition(
                !field.name.isEmpty && field.name.utf8.allSatisfy(ASCII.isTokenCharacter),
                "invalid response header name"
            )
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            for byte in field.value.utf8 {
                out.append(ASCII.isFieldValueByte(byte) ? byte : ASCII.space)
            }
            out.append(contentsOf: Self.crlf)
        }
        if hasContent {
            out.append(contentsOf: "Content-Length: ".utf8)
            Self.appendDecimal(body.count, to: &out)
            out.append(contentsOf: Self.crlf)
        }
        if !keepAlive && !interim {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        }
        out.append(contentsOf: Self.crlf)
        out.append(contentsOf: body)
        return out
    }

    /// The reason phrase for `status` (RFC 9110 §15), or `"Unknown"` for an unregistered code.
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }

    private static let crlf: [UInt8] = [ASCII.cr, ASCII.lf]

    private static func isFramingField(_ name: String) -> Bool {
        let name = name.utf8
        return ASCII.equalsLowercase(name, "content-length".utf8)
            || ASCII.equalsLowercase(name, "transfer-encoding".utf8)
            || ASCII.equalsLowercase(name, "connection".utf8)
    }

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        precondition(value >= 0)
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        } while divisor > 0
    }
}
