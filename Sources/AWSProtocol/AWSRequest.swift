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
    /// (this runs a dozen times per request). On the strings' own contiguous bytes: the generic
    /// version below, called from other modules unspecialized, spent about 6% of a node's CPU
    /// per GetSecretValue looking up generic metadata (perf, issue 22).
    package static func sameName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a
        var b = b
        return a.withUTF8 { x in b.withUTF8 { y in equalIgnoringASCIICase(x, y) } }
    }

    /// Whether two UTF-8 byte buffers are equal with ASCII letters compared case-insensitively.
    package static func equalIgnoringASCIICase(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        guard x.count == y.count else { return false }
        for index in 0..<x.count {
            let p = x[index]
            let q = y[index]
            if p == q { continue }
            let lower = p | 0x20
            guard lower == q | 0x20, lower >= 0x61, lower <= 0x7A else { return false }
        }
        return true
    }

    /// Whether two UTF-8 texts are equal with ASCII letters compared case-insensitively.
    @inlinable
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
