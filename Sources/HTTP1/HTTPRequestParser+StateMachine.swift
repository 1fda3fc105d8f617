extension HTTPRequestParser {
    /// Where the parser is in the byte stream. Payloads are plain integers: the request being
    /// assembled lives in ``PendingRequest`` so that mutating it never copies its arrays.
    enum State: Sendable, Equatable {
        /// Expecting a request line, after `emptyLinesSkipped` empty lines.
        /// → itself on an empty line; → `headerFields` on a valid request line; → `failed`.
        case requestLine(emptyLinesSkipped: Int)
        /// Reading header fields. → `contentBody`, `chunkSizeLine` or `requestLine` (request
        /// emitted) at the empty line; → `failed`.
        case headerFields
        /// Reading a Content-Length body with `remaining` bytes to go (> 0).
        /// → `requestLine` (request emitted) when complete.
        case contentBody(remaining: Int)
        /// Expecting a chunk size line. → `chunkData`, or `trailerFields` on the last chunk;
        /// → `failed`.
        case chunkSizeLine
        /// Reading a chunk's data with `remaining` bytes to go (> 0). → `chunkDataEnd`.
        case chunkData(remaining: Int)
        /// Expecting the CRLF after a chunk's data; `seenCR` once the CR has been consumed.
        /// → `chunkSizeLine`; → `failed`.
        case chunkDataEnd(seenCR: Bool)
        /// Reading trailer fields after the last chunk. → `requestLine` (request emitted) at
        /// the empty line; → `failed`.
        case trailerFields
        /// Terminal: every call to `next()` rethrows the error.
        case failed(HTTPParseError)
    }

    /// The parts of the request received so far, plus the running totals the limits apply to.
    struct PendingRequest: Sendable {
        var method = ""
        var target = ""
        var versionMinor = 1
        var headers = HTTPHeaders()
        var body: [UInt8] = []
        var keepAlive = true
        /// Bytes of the header (or, later, trailer) section consumed so far.
        var sectionBytes = 0
        /// Fields of the header (or, later, trailer) section parsed so far.
        var sectionFields = 0
    }

    /// Runs the state machine until it needs more bytes, has an event, or finds an error.
    /// Every iteration consumes bytes or moves to a state that will, so the loop ends.
    mutating func step() throws(HTTPParseError) -> HTTPParserEvent? {
        while true {
            switch state {
            case .failed(let error):
                throw error

            case .requestLine(let emptyLinesSkipped):
                guard
                    let line = try takeLine(
                        maxLength: limits.effectiveRequestLineBytes + 1,
                        tooLong: .uriTooLong
                    )
                else { return nil }
                let content = try stripCarriageReturn(line)
                if content.isEmpty {
                    guard emptyLinesSkipped < Self.maxLeadingEmptyLines else {
                        throw .tooManyEmptyLines
                    }
                    state = .requestLine(emptyLinesSkipped: emptyLinesSkipped + 1)
                    continue
                }
                try parseRequestLine(content)
                pending.sectionBytes = line.count + 1
                state = .headerFields

            case .headerFields:
                guard
                    let line = try takeLine(
                        maxLength: limits.maxHeaderBytes - pending.sectionBytes - 1,
                        tooLong: .headerSectionTooLarge
                    )
                else { return nil }
                pending.sectionBytes += line.count + 1
                let content = try stripCarriageReturn(line)
                if content.isEmpty {
                    if let event = try headerSectionComplete() { return event }
                    continue
                }
                pending.sectionFields += 1
                guard pending.sectionFields <= limits.maxHeaderCount else {
                    throw .tooManyHeaderFields
                }
                let field = try parseFieldLine(content)
                pending.headers.append(
                    name: String(decoding: buffer[field.name], as: UTF8.self),
                    value: String(decoding: buffer[field.value], as: UTF8.self)
                )

            case .contentBody(let remaining):
                let count = min(remaining, bufferedByteCount)
                guard count > 0 else { return nil }
                pending.body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
                readIndex += count
                if count == remaining { return completeRequest() }
                state = .contentBody(remaining: remaining - count)

            case .chunkSizeLine:
                guard
                    let line = try takeLine(
                        maxLength: Self.maxChunkSizeLineBytes,
                        tooLong: .chunkSizeLineTooLong
                    )
                else { return nil }
                let size = try parseChunkSizeLine(try stripCarriageReturn(line))
                if size == 0 {
                    pending.sectionBytes = 0
                    pending.sectionFields = 0
                    state = .trailerFields
                } else {
                    guard size <= limits.maxBodyBytes - pending.body.count else {
                        throw .contentTooLarge
                    }
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                let count = min(remaining, bufferedByteCount)
                guard count > 0 else { return nil }
                pending.body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
                readIndex += count
                state = count == remaining
                    ? .chunkDataEnd(seenCR: false) : .chunkData(remaining: remaining - count)

            case .chunkDataEnd(let seenCR):
                guard bufferedByteCount > 0 else { return nil }
                let byte = buffer[readIndex]
                guard byte == (seenCR ? ASCII.lf : ASCII.cr) else { throw .missingChunkDataCRLF }
                readIndex += 1
                state = seenCR ? .chunkSizeLine : .chunkDataEnd(seenCR: true)

            case .trailerFields:
                guard
                    let line = try takeLine(
                        maxLength: limits.maxHeaderBytes - pending.sectionBytes - 1,
                        tooLong: .trailerSectionTooLarge
                    )
                else { return nil }
                pending.sectionBytes += line.count + 1
                let content = try stripCarriageReturn(line)
                if content.isEmpty { return completeRequest() }
                pending.sectionFields += 1
                guard pending.sectionFields <= limits.maxHeaderCount else {
                    throw .tooManyTrailerFields
                }
                // Validated like a header field, then discarded: nothing here reads trailers.
                _ = try parseFieldLine(content)
            }
        }
    }

    /// Applies the rules that need the whole header section, chooses the body framing, and
    /// returns the event due now, if any.
    private mutating func headerSectionComplete() throws(HTTPParseError) -> HTTPParserEvent? {
        let framing = try validateHeaderSection()
        pending.keepAlive = framing.keepAlive
        switch framing.body {
        case .none:
            return completeRequest()
        case .contentLength(let length):
            pending.body.reserveCapacity(min(length, Self.maxReservedBodyCapacity))
            state = .contentBody(remaining: length)
        case .chunked:
            state = .chunkSizeLine
        }
        if framing.expectsContinue && pending.versionMinor == 1 && bufferedByteCount == 0 {
            return .expectContinue
        }
        return nil
    }

    /// Hands the finished request out and gets ready for the next one.
    private mutating func completeRequest() -> HTTPParserEvent {
        var finished = PendingRequest()
        swap(&finished, &pending)
        state = .requestLine(emptyLinesSkipped: 0)
        return .request(
            HTTPRequest(
                method: finished.method,
                target: finished.target,
                versionMinor: finished.versionMinor,
                headers: finished.headers,
                body: finished.body,
                keepAlive: finished.keepAlive
            )
        )
    }
}
