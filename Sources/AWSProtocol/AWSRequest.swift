/// One HTTP request as the HTTP layer received it, before any AWS interpretation.
public struct AWSRequest: Sendable {
    /// The request method, e.g. `POST`.
    public var method: String
    /// The raw request-target path, without the query (still percent-encoded as sent).
    public var path: String
    /// The raw query string, without the leading `?` (empty when there is none).
    public var query: String
    /// Header fields as received, in order; names keep their original case.
    public var headers: [(name: String, value: String)]
    /// The request body.
    public var body: [UInt8]
    /// The peer's address, for audit records.
    public var sourceIP: String

    public init(
        method: String,
        path: String,
        query: String = "",
        headers: [(name: String, value: String)],
        body: [UInt8] = [],
        sourceIP: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.sourceIP = sourceIP
    }

    /// Every value of the header `name` (case-insensitive), in the order received.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// The first value of the header `name` (case-insensitive), or nil when absent.
    public func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    /// Header names compared ASCII-case-insensitively, without building lower-cased copies
    /// (this runs several times per request).
    package static func sameName(_ a: String, _ b: String) -> Bool { equalIgnoringASCIICase(a.utf8, b.utf8) }

    /// Whether two UTF-8 texts are equal with ASCII letters compared case-insensitively.
    package static func equalIgnoringASCIICase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            x == y || (x | 0x20 == y | 0x20 && (0x61...0x7A).contains(x | 0x20))
        }
    }
}

/// One HTTP response for the HTTP layer to write. `Content-Length` is the writer's business.
public struct AWSResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// Header fields in the order they should be written.
    public var headers: [(name: String, value: String)]
    /// The response body.
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the header `name` (case-insensitive), or nil when absent.
    public func header(_ name: String) -> String? {
        headers.first { AWSRequest.sameName($0.name, name) }?.value
    }
}
