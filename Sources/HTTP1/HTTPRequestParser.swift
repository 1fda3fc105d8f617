/// An incremental HTTP/1.1 request decoder with hard limits: bytes in, requests out.
///
/// The parser owns no socket and no clock. The server appends what it reads with
/// ``append(_:)`` and then calls ``next()`` until it returns `nil`:
///
/// ```swift
/// parser.append(bytesFromSocket)
/// while let event = try parser.next() { ... }
/// ```
///
/// The result does not depend on how the input was split into appends (the one exception is
/// documented on ``HTTPParserEvent/expectContinue``), and between a `nil` from `next()` and the
/// following `append` the parser buffers fewer than
/// `max(limits.maxHeaderBytes, maxChunkSizeLineBytes + 1)` unconsumed bytes; body bytes are moved
/// out of the input buffer as they arrive, so a request in progress holds at most
/// `limits.maxBodyBytes` more.
///
/// Choices where RFC 9112 leaves room:
/// - Every line must end with CRLF: a bare LF (or a CR not followed by LF) is rejected with 400,
///   in the request line, header and trailer fields and chunk lines alike.
/// - Up to ``maxLeadingEmptyLines`` empty lines before a request line are skipped (§2.2).
/// - `Expect: 100-continue` is ignored for HTTP/1.0 (RFC 9110 §10.1.1); any other expectation
///   is answered with 417, whatever the version.
/// - Codings before `chunked` (e.g. `gzip, chunked`) are answered with 501: none is decoded.
/// - `Content-Length` may be repeated, or be a list, if every element is the same number.
/// - Extra fixed limits: ``maxLeadingEmptyLines``, ``maxChunkSizeLineBytes``, and chunk sizes of
///   more than ``maxChunkSizeHexDigits`` significant hex digits (400).
/// - Once ``next()`` has thrown, the parser is failed for good: it drops its buffer, ignores
///   further appends and rethrows the same error.
public struct HTTPRequestParser: Sendable {
    /// Empty lines (CRLF) tolerated before a request line; one more is answered with 400.
    public static let maxLeadingEmptyLines = 8
    /// Longest chunk size line, extensions included, in bytes before its LF; longer is 400.
    public static let maxChunkSizeLineBytes = 4 * 1024
    /// Most significant hex digits in a chunk size (up to 2^60 - 1); more is 400.
    public static let maxChunkSizeHexDigits = 15
    /// Consumed bytes at the front of the buffer that trigger compaction when they are also at
    /// least half of it; below this, moving the tail costs more than it saves.
    static let compactionThreshold = 4 * 1024
    /// Capacity kept when the buffer empties; a larger one (left by a big append) is released.
    static let retainedBufferCapacity = 64 * 1024
    /// Most body capacity reserved from a declared Content-Length before the bytes arrive, so a
    /// client cannot make an idle connection pin `maxBodyBytes` of memory by announcing a body.
    static let maxReservedBodyCapacity = 64 * 1024

    let limits: HTTPLimits
    /// Received bytes; `buffer[readIndex...]` are not consumed yet.
    var buffer: [UInt8] = []
    var readIndex = 0
    /// How many bytes after `readIndex` are known to hold no LF, so that a line arriving in
    /// pieces is searched once, not once per append.
    var scannedCount = 0
    var state: State = .requestLine(emptyLinesSkipped: 0)
    /// The request being assembled; reset after each request.
    var pending = PendingRequest()

    /// Creates a parser that enforces `limits`.
    public init(limits: HTTPLimits = HTTPLimits()) {
        precondition(limits.isValid, "HTTPLimits out of range: \(limits)")
        self.limits = limits
    }

    /// Buffers `bytes`; parsing happens in ``next()``. Bytes appended after a parse error are
    /// discarded.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if case .failed = state { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Parses as far as the buffered bytes allow.
    ///
    /// - Returns: The next event, or `nil` when more bytes are needed. Several requests may be
    ///   buffered (pipelining): call again until `nil`.
    /// - Throws: ``HTTPParseError`` with the status to answer with. The parser then stays
    ///   failed and every later call throws the same error.
    public mutating func next() throws(HTTPParseError) -> HTTPParserEvent? {
        if case .failed(let error) = state { throw error }
        do throws(HTTPParseError) {
            return try step()
        } catch {
            fail(error)
            throw error
        }
    }

    /// True when no byte of a next request has been received: between requests (or before the
    /// first), when an idle timeout applies. False after a parse error.
    public var isIdle: Bool {
        if case .requestLine = state { return bufferedByteCount == 0 }
        return false
    }

    /// True while a request line or header section is partially received, when a header
    /// timeout applies. False while reading a body or its trailers, and after a parse error.
    public var isReadingHeaders: Bool {
        switch state {
        case .requestLine: return bufferedByteCount > 0
        case .headerFields: return true
        default: return false
        }
    }

    /// Bytes received and not consumed yet (body bytes are consumed as they arrive).
    public var bufferedByteCount: Int { buffer.count - readIndex }

    private mutating func fail(_ error: HTTPParseError) {
        state = .failed(error)
        buffer = []
        readIndex = 0
        scannedCount = 0
        pending = PendingRequest()
    }

    private mutating func compactIfWorthwhile() {
        if readIndex == buffer.count {
            if buffer.capacity > Self.retainedBufferCapacity {
                buffer = []
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
            readIndex = 0
        } else if readIndex >= Self.compactionThreshold && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// Finds the next LF and consumes the line through it.
    ///
    /// The limit is on the bytes before the LF (the CR included), and is enforced as soon as the
    /// buffered part of an unterminated line exceeds it, with the same error as for a complete
    /// line, so the outcome does not depend on how the line arrived.
    ///
    /// - Returns: The range of the line before its LF, or `nil` if no LF has arrived yet.
    mutating func takeLine(
        maxLength: Int,
        tooLong: HTTPParseError
    ) throws(HTTPParseError) -> Range<Int>? {
        let start = readIndex
        let end = buffer.count
        // Never look past the limit: a line that long is rejected whatever follows.
        // (Written so that a limit near Int.max cannot overflow.)
        let searchEnd = end - start > maxLength ? min(end, start + max(0, maxLength) + 1) : end
        let searchStart = start + scannedCount
        var lineFeed: Int?
        if searchStart < searchEnd {
            lineFeed = buffer.withUnsafeBufferPointer { bytes in
                var index = searchStart
                while index < searchEnd {
                    if bytes[index] == ASCII.lf { return index }
                    index += 1
                }
                return nil
            }
        }
        guard let lineFeed else {
            scannedCount = searchEnd - start
            if end - start > maxLength { throw tooLong }
            return nil
        }
        if lineFeed - start > maxLength { throw tooLong }
        readIndex = lineFeed + 1
        scannedCount = 0
        return start..<lineFeed
    }

    /// The line without its final CR; a line that does not end in CR ended with a bare LF.
    func stripCarriageReturn(_ line: Range<Int>) throws(HTTPParseError) -> Range<Int> {
        guard let last = line.last, buffer[last] == ASCII.cr else { throw .bareLineFeed }
        return line.lowerBound..<last
    }
}
