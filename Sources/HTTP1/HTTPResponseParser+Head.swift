extension HTTPResponseParser {
    /// Interprets the complete head in `buffer` (status line, headers, the empty line).
    /// Returns the response when it has no body; otherwise sets the body state and returns nil
    /// (also for an interim 1xx response, which is skipped).
    mutating func finishHead() throws(HTTPResponseError) -> HTTPResponseSummary? {
        guard let statusRange = lineRanges.first else { return try fail("empty status line") }
        let (status, isHTTP11) = try parseStatusLine(buffer[statusRange])
        var contentLength: Int?
        var chunked = false
        var otherTransferCoding = false
        var close = false
        var keepAliveToken = false
        for range in lineRanges.dropFirst() {
            let line = buffer[range]
            guard let first = line.first, first != ASCII.space, first != ASCII.tab else {
                return try fail("obsolete line folding or empty header line")
            }
            guard let colon = line.firstIndex(of: ASCII.colon), colon > line.startIndex,
                  line[..<colon].allSatisfy(ASCII.isTokenCharacter) else {
                return try fail("header line without a valid name")
            }
            let name = line[..<colon]
            let value = trimmed(line[(colon + 1)...])
            if equalsIgnoringCase(name, "content-length") {
                guard !value.isEmpty, value.count <= 15, value.allSatisfy({ $0 &- 48 < 10 }) else {
                    return try fail("invalid Content-Length")
                }
                let length = value.reduce(0) { $0 * 10 + Int($1 - 48) }
                if let contentLength, contentLength != length { return try fail("conflicting Content-Length values") }
                contentLength = length
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                // Only the last coding decides how the body ends (RFC 9112 §6.1).
                var last: ArraySlice<UInt8>?
                forEachToken(value) { last = $0 }
                chunked = last.map { equalsIgnoringCase($0, "chunked") } ?? false
                otherTransferCoding = !chunked
            } else if equalsIgnoringCase(name, "connection") {
                forEachToken(value) { token in
                    if equalsIgnoringCase(token, "close") { close = true }
                    if equalsIgnoringCase(token, "keep-alive") { keepAliveToken = true }
                }
            }
            if !keepHeaders.isEmpty {
                let lowered = String(decoding: name.map(ASCII.lowercased), as: UTF8.self)
                if keepHeaders.contains(lowered) { current.keptHeaders[lowered] = String(decoding: value, as: UTF8.self) }
            }
        }
        if (100..<200).contains(status) {
            guard status != 101 else { return try fail("unexpected 101 Switching Protocols") }
            current.keptHeaders = [:]  // the interim response's, not the final one's
            resetBuffer()
            return nil
        }
        current.status = status
        current.keepAlive = !close && (isHTTP11 || keepAliveToken)
        capturing = captureLimit > 0 && (captureSuccessBodies || !current.isSuccess)
        resetBuffer()
        if status == 204 || status == 304 {
            return finishBodyless()
        }
        if chunked {
            state = .chunkSize
        } else if otherTransferCoding {
            current.keepAlive = false
            state = .untilClose
        } else if let contentLength {
            if contentLength == 0 { return finishBodyless() }
            state = .fixedBody(remaining: contentLength)
        } else {
            current.keepAlive = false
            state = .untilClose
        }
        return nil
    }

    /// The size of a chunk from its line (hex digits, then optional `;extensions`).
    func chunkSize(_ line: ArraySlice<UInt8>) throws(HTTPResponseError) -> Int {
        var size = 0
        var digits = 0
        for b in line {
            let value: Int
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(b - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(b - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(b - 55)
            case ASCII.semicolon, ASCII.space, ASCII.tab:
                guard digits > 0 else { return try failing("chunk size missing") }
                return size
            default:
                return try failing("invalid chunk size")
            }
            digits += 1
            // 15 hex digits: far beyond any real body, and no overflow.
            guard digits <= 15 else { return try failing("chunk size too large") }
            size = size << 4 | value
        }
        guard digits > 0 else { return try failing("chunk size missing") }
        return size
    }

    // MARK: - Helpers

    private func failing<T>(_ message: String) throws(HTTPResponseError) -> T { throw HTTPResponseError(message) }

    private mutating func finishBodyless() -> HTTPResponseSummary {
        let done = current
        current = HTTPResponseSummary(status: 0, keepAlive: true, bodyBytes: 0)
        capturing = false
        state = .head
        return done
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]` → (status, whether HTTP/1.1).
    private mutating func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPResponseError) -> (Int, Bool) {
        let b = line.startIndex
        let digits = line.dropFirst(9).prefix(3)
        guard line.count >= 12, line.prefix(7).elementsEqual("HTTP/1.".utf8),
              line[b + 7] == UInt8(ascii: "0") || line[b + 7] == UInt8(ascii: "1"),
              line[b + 8] == ASCII.space,
              digits.allSatisfy({ $0 &- 48 < 10 }),
              line.count == 12 || line[b + 12] == ASCII.space
        else { return try fail("invalid status line") }
        let status = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        guard status >= 100 else { return try fail("invalid status code") }
        return (status, line[b + 7] == UInt8(ascii: "1"))
    }

    private func trimmed(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var v = value
        while let f = v.first, f == ASCII.space || f == ASCII.tab { v = v.dropFirst() }
        while let l = v.last, l == ASCII.space || l == ASCII.tab { v = v.dropLast() }
        return v
    }

    /// Calls `body` with each comma-separated list element, trimmed, empty ones skipped.
    private func forEachToken(_ value: ArraySlice<UInt8>, _ body: (ArraySlice<UInt8>) -> Void) {
        var start = value.startIndex
        while start <= value.endIndex {
            let end = value[start...].firstIndex(of: ASCII.comma) ?? value.endIndex
            let token = trimmed(value[start..<end])
            if !token.isEmpty { body(token) }
            start = end + 1
        }
    }

    private func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return zip(bytes, expected).allSatisfy { ASCII.lowercased($0) == $1 }
    }
}
