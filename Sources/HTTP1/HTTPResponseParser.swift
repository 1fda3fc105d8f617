/// What a client keeps of one HTTP/1.1 response (the load generator, the front proxy).
public struct HTTPResponseSummary: Sendable, Equatable {
    /// The status code (100–999 syntactically; interim 1xx responses are skipped, never returned).
    public var status: Int
    /// Whether the connection may carry another request (HTTP/1.1 without `Connection: close`,
    /// HTTP/1.0 with `Connection: keep-alive`, and never after a body delimited by the close).
    public var keepAlive: Bool
    /// The body's length in bytes (after removing chunked framing).
    public var bodyBytes: Int
    /// The body's first bytes (up to the parser's `captureLimit`), kept only for non-2xx
    /// responses or when the parser captures every body: what an error report prints.
    public var bodyPrefix: [UInt8]
    /// The headers the parser was asked to keep (`keepHeaders`), by lowercased name (the last
    /// value of a repeated one).
    public var keptHeaders: [String: String]

    public init(status: Int, keepAlive: Bool, bodyBytes: Int, bodyPrefix: [UInt8] = [], keptHeaders: [String: String] = [:]) {
        self.status = status
        self.keepAlive = keepAlive
        self.bodyBytes = bodyBytes
        self.bodyPrefix = bodyPrefix
        self.keptHeaders = keptHeaders
    }

    /// 200–299.
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// A response that is not HTTP/1.1 as a client may accept it; the connection must be closed.
public struct HTTPResponseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "malformed HTTP response: \(message)" }
}

/// An incremental HTTP/1.1 response parser for a client: status line, headers, and bodies
/// delimited by Content-Length, chunked transfer coding or the connection's close.
///
/// Guarantees:
/// - The same input gives the same responses however it is split across `parse` calls.
/// - Memory is bounded: the head is limited to `Limits.headBytes`, a chunk-size or trailer line
///   to `Limits.lineBytes`, trailers to `Limits.headBytes`; bodies are counted, not stored
///   (only a prefix of at most `captureLimit` bytes is copied, and only when asked for).
/// - Malformed input throws `HTTPResponseError` and never traps; after a throw every later call
///   throws too.
public struct HTTPResponseParser: Sendable {
    /// Hard limits on what is buffered.
    public struct Limits: Sendable {
        /// Status line plus headers (and, separately, all trailers).
        public var headBytes = 64 * 1024
        /// One chunk-size line or one trailer line.
        public var lineBytes = 4 * 1024
        public init() {}
    }

    /// How the body of the response being parsed is delimited.
    /// Legal transitions: head → (head | fixedBody | chunkSize | untilClose); fixedBody → head;
    /// chunkSize → (chunkData | trailers); chunkData → chunkDataEnd → chunkSize; trailers → head;
    /// any → failed (terminal).
    enum State: Sendable, Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case failed
    }

    let limits: Limits
    /// Body bytes kept for a response worth printing.
    let captureLimit: Int
    /// Keep a body prefix of 2xx responses too (tests, and workloads that read answers).
    let captureSuccessBodies: Bool
    /// Lowercased names of the headers a response's summary keeps (a few: a relay's request id).
    let keepHeaders: [String]

    var state: State = .head
    /// The head (or the current chunk-size / trailer line) received so far.
    var buffer: [UInt8] = []
    /// Where the line being received starts in `buffer`.
    var lineStart = 0
    /// The head's lines received so far (content without line endings), status line first.
    var lineRanges: [Range<Int>] = []
    /// Trailer bytes seen for the current response.
    var trailerBytes = 0
    var current = HTTPResponseSummary(status: 0, keepAlive: true, bodyBytes: 0)
    var capturing = false

    public init(limits: Limits = Limits(), captureLimit: Int = 4096, captureSuccessBodies: Bool = false, keepHeaders: [String] = []) {
        precondition(captureLimit >= 0, "negative capture limit")
        self.keepHeaders = keepHeaders.map { $0.lowercased() }
        self.limits = limits
        self.captureLimit = captureLimit
        self.captureSuccessBodies = captureSuccessBodies
    }

    /// Whether the parser is between responses with nothing buffered.
    public var isIdle: Bool { state == .head && buffer.isEmpty }

    /// Consumes bytes until one response is complete or the input is used up.
    ///
    /// - Returns: how many bytes of `bytes` were consumed, and the response if one completed.
    ///   Call again with the rest (`bytes[consumed...]`) when a response was returned and bytes
    ///   remain; otherwise every byte was consumed.
    /// - Throws: `HTTPResponseError` for malformed input or a limit exceeded.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(HTTPResponseError) -> (consumed: Int, response: HTTPResponseSummary?) {
        var i = 0
        while i < bytes.count {
            switch state {
            case .failed:
                throw HTTPResponseError("the response stream failed earlier")
            case .head:
                guard let length = try takeLine(bytes, from: &i, limit: limits.headBytes) else { continue }
                if length > 0 {
                    lineRanges.append(lineStart..<(lineStart + length))
                    lineStart = buffer.count
                    continue
                }
                // An empty line: the head is complete.
                if let done = try finishHead() { return (i, done) }
            case .fixedBody(let remaining):
                let n = Swift.min(remaining, bytes.count - i)
                takeBody(bytes, from: i, count: n)
                i += n
                if remaining == n { return (i, completeResponse()) }
                state = .fixedBody(remaining: remaining - n)
            case .chunkData(let remaining):
                let n = Swift.min(remaining, bytes.count - i)
                takeBody(bytes, from: i, count: n)
                i += n
                state = remaining == n ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .untilClose:
                takeBody(bytes, from: i, count: bytes.count - i)
                i = bytes.count
            case .chunkSize:
                guard let length = try takeLine(bytes, from: &i, limit: limits.lineBytes) else { continue }
                let size = try chunkSize(buffer[0..<length])
                resetBuffer()
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkDataEnd:
                guard let length = try takeLine(bytes, from: &i, limit: 2) else { continue }
                guard length == 0 else { return try fail("chunk data longer than its size") }
                resetBuffer()
                state = .chunkSize
            case .trailers:
                guard let length = try takeLine(bytes, from: &i, limit: limits.lineBytes) else { continue }
                trailerBytes += buffer.count
                guard trailerBytes <= limits.headBytes else { return try fail("trailers longer than \(limits.headBytes) bytes") }
                let empty = length == 0
                resetBuffer()
                if empty { return (i, completeResponse()) }
            }
        }
        return (bytes.count, nil)
    }

    /// Bytes from an array; same contract as the raw-buffer variant.
    public mutating func parse(_ bytes: ArraySlice<UInt8>) throws(HTTPResponseError) -> (consumed: Int, response: HTTPResponseSummary?) {
        // ArraySlice.withUnsafeBytes rethrows untyped errors: carry the typed one out by hand.
        var result: Result<(consumed: Int, response: HTTPResponseSummary?), HTTPResponseError> = .success((0, nil))
        bytes.withUnsafeBytes { raw in
            do throws(HTTPResponseError) { result = .success(try parse(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// The peer closed the connection: returns the response that the close completes (a body
    /// delimited by the close), nil when the close fell between responses.
    /// - Throws: when the close cut a response short.
    public mutating func finish() throws(HTTPResponseError) -> HTTPResponseSummary? {
        switch state {
        case .head where buffer.isEmpty: return nil
        case .untilClose: return completeResponse()
        case .failed: throw HTTPResponseError("the response stream failed earlier")
        default: return try fail("the connection closed in the middle of a response")
        }
    }

    // MARK: - Pieces

    /// Appends input up to and including the next LF to `buffer` and returns the length of the
    /// line's content (without CR LF or LF) once the LF arrived; nil when the input ran out first.
    /// Throws when the line would exceed `limit` buffered bytes.
    private mutating func takeLine(_ bytes: UnsafeRawBufferPointer, from i: inout Int, limit: Int) throws(HTTPResponseError) -> Int? {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[i...])
        let newline = rest.firstIndex(of: ASCII.lf)
        let take = newline.map { $0 + 1 } ?? rest.count
        guard buffer.count + take <= limit else {
            switch state {
            case .head: return try fail("head longer than \(limit) bytes")
            case .chunkDataEnd: return try fail("chunk data longer than its size")
            case .trailers: return try fail("trailer line longer than \(limit) bytes")
            default: return try fail("chunk-size line longer than \(limit) bytes")
            }
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
        i += take
        guard newline != nil else { return nil }
        var end = buffer.count - 1
        if end > lineStart && buffer[end - 1] == ASCII.cr { end -= 1 }
        return end - lineStart
    }

    private mutating func takeBody(_ bytes: UnsafeRawBufferPointer, from i: Int, count n: Int) {
        current.bodyBytes += n
        if capturing && current.bodyPrefix.count < captureLimit {
            let keep = Swift.min(n, captureLimit - current.bodyPrefix.count)
            current.bodyPrefix.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + keep)]))
        }
    }

    mutating func resetBuffer() {
        buffer.removeAll(keepingCapacity: true)
        lineRanges.removeAll(keepingCapacity: true)
        lineStart = 0
    }

    private mutating func completeResponse() -> HTTPResponseSummary {
        let done = current
        state = .head
        resetBuffer()
        trailerBytes = 0
        current = HTTPResponseSummary(status: 0, keepAlive: true, bodyBytes: 0)
        capturing = false
        return done
    }

    mutating func fail<T>(_ message: String) throws(HTTPResponseError) -> T {
        state = .failed
        buffer = []
        lineRanges = []
        throw HTTPResponseError(message)
    }
}
