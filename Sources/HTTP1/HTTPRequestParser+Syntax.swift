extension HTTPRequestParser {
    /// How the body of a request is delimited (RFC 9112 §6.3, for requests).
    enum BodyFraming: Equatable {
        /// Neither Content-Length nor Transfer-Encoding, or Content-Length 0.
        case none
        /// A Content-Length body of this many bytes (> 0, <= maxBodyBytes).
        case contentLength(Int)
        /// A chunked body.
        case chunked
    }

    /// What the header section says about the message beyond its fields.
    struct Framing {
        var body: BodyFraming
        var keepAlive: Bool
        var expectsContinue: Bool
    }

    /// Parses `method SP request-target SP HTTP-version` into `pending`.
    mutating func parseRequestLine(_ line: Range<Int>) throws(HTTPParseError) {
        guard let methodEnd = buffer[line].firstIndex(of: ASCII.space) else {
            throw .malformedRequestLine
        }
        let method = line.lowerBound..<methodEnd
        guard !method.isEmpty else { throw .malformedRequestLine }
        for index in method where !ASCII.isTokenCharacter(buffer[index]) {
            throw .invalidMethod
        }
        let targetStart = methodEnd + 1
        guard let targetEnd = buffer[targetStart..<line.upperBound].firstIndex(of: ASCII.space)
        else {
            throw .malformedRequestLine
        }
        let target = targetStart..<targetEnd
        guard !target.isEmpty else { throw .malformedRequestLine }
        for index in target where !ASCII.isTargetByte(buffer[index]) {
            throw .invalidTarget
        }
        pending.versionMinor = try parseVersion(buffer[(targetEnd + 1)..<line.upperBound])
        pending.method = String(decoding: buffer[method], as: UTF8.self)
        pending.target = String(decoding: buffer[target], as: UTF8.self)
    }

    /// `HTTP/1.0` → 0, `HTTP/1.1` → 1; other well-formed versions (HTTP/2 preface included)
    /// are 505, anything else is 400.
    private func parseVersion(_ version: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        guard version.count == 8, version.starts(with: "HTTP/".utf8) else {
            throw .malformedVersion
        }
        let major = version[version.startIndex + 5]
        let dot = version[version.startIndex + 6]
        let minor = version[version.startIndex + 7]
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard digits.contains(major), dot == UInt8(ascii: "."), digits.contains(minor) else {
            throw .malformedVersion
        }
        guard major == UInt8(ascii: "1"), minor <= UInt8(ascii: "1") else {
            throw .unsupportedVersion
        }
        return Int(minor - UInt8(ascii: "0"))
    }

    /// Parses `field-name ":" OWS field-value OWS` and returns the name and the trimmed value.
    func parseFieldLine(
        _ line: Range<Int>
    ) throws(HTTPParseError) -> (name: Range<Int>, value: Range<Int>) {
        precondition(!line.isEmpty, "the empty line ends the section; it is not a field")
        if ASCII.isWhitespace(buffer[line.lowerBound]) { throw .obsoleteLineFolding }
        var colon = line.lowerBound
        while colon < line.upperBound && ASCII.isTokenCharacter(buffer[colon]) { colon += 1 }
        // Whitespace before the colon, a missing colon, or an empty name.
        guard colon < line.upperBound, buffer[colon] == ASCII.colon, colon > line.lowerBound else {
            throw .invalidFieldName
        }
        var valueStart = colon + 1
        var valueEnd = line.upperBound
        while valueStart < valueEnd && ASCII.isWhitespace(buffer[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && ASCII.isWhitespace(buffer[valueEnd - 1]) { valueEnd -= 1 }
        for index in valueStart..<valueEnd where !ASCII.isFieldValueByte(buffer[index]) {
            throw .invalidFieldValue
        }
        return (line.lowerBound..<colon, valueStart..<valueEnd)
    }

    /// Parses `chunk-size [ chunk-ext ]` (extensions are checked for control characters,
    /// then ignored) and returns the size.
    func parseChunkSizeLine(_ line: Range<Int>) throws(HTTPParseError) -> Int {
        var index = line.lowerBound
        var size: UInt64 = 0
        var significantDigits = 0
        while index < line.upperBound, let digit = ASCII.hexValue(buffer[index]) {
            if size != 0 || digit != 0 { significantDigits += 1 }
            guard significantDigits <= Self.maxChunkSizeHexDigits else { throw .chunkSizeOverflow }
            size = size << 4 | digit
            index += 1
        }
        guard index > line.lowerBound else { throw .invalidChunkSize }
        // BWS before the extensions (RFC 9112 §7.1.1).
        while index < line.upperBound && ASCII.isWhitespace(buffer[index]) { index += 1 }
        if index < line.upperBound {
            guard buffer[index] == ASCII.semicolon else { throw .invalidChunkSize }
            for extensionIndex in index..<line.upperBound
            where !ASCII.isFieldValueByte(buffer[extensionIndex]) {
                throw .invalidChunkSize
            }
        }
        return Int(size)
    }

    /// The rules that need the complete header section, checked in a fixed order: Host,
    /// Transfer-Encoding against Content-Length and version, the codings, Content-Length,
    /// then Expect.
    func validateHeaderSection() throws(HTTPParseError) -> Framing {
        var hostCount = 0
        var contentLengths: [String] = []
        var transferEncodings: [String] = []
        var expectations: [String] = []
        var connectionClose = false
        var connectionKeepAlive = false
        for field in pending.headers {
            let name = field.name.utf8
            switch name.count {
            case 4 where ASCII.equalsLowercase(name, "host".utf8):
                hostCount += 1
            case 6 where ASCII.equalsLowercase(name, "expect".utf8):
                expectations.append(field.value)
            case 10 where ASCII.equalsLowercase(name, "connection".utf8):
                for option in ASCII.listElements(field.value) {
                    if ASCII.equalsLowercase(option, "close".utf8) { connectionClose = true }
                    if ASCII.equalsLowercase(option, "keep-alive".utf8) {
                        connectionKeepAlive = true
                    }
                }
            case 14 where ASCII.equalsLowercase(name, "content-length".utf8):
                contentLengths.append(field.value)
            case 17 where ASCII.equalsLowercase(name, "transfer-encoding".utf8):
                transferEncodings.append(field.value)
            default:
                break
            }
        }

        let http11 = pending.versionMinor == 1
        if http11 && hostCount == 0 { throw .missingHost }
        if hostCount > 1 { throw .multipleHost }

        var body = BodyFraming.none
        if !transferEncodings.isEmpty {
            // A message with both is a request-smuggling attempt (RFC 9112 §6.1).
            if !contentLengths.isEmpty { throw .contentLengthWithTransferEncoding }
            if !http11 { throw .transferEncodingInHTTP10 }
            try validateTransferCodings(transferEncodings)
            body = .chunked
        } else if !contentLengths.isEmpty {
            let length = try parseContentLength(contentLengths)
            if length > 0 { body = .contentLength(length) }
        }

        var expectsContinue = false
        for value in expectations {
            for expectation in ASCII.listElements(value) {
                guard ASCII.equalsLowercase(expectation, "100-continue".utf8) else {
                    throw .expectationFailed
                }
                expectsContinue = true
            }
        }

        let keepAlive = http11 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        return Framing(
            body: body,
            keepAlive: keepAlive,
            expectsContinue: expectsContinue && body != .none
        )
    }

    /// Accepts exactly one `chunked`, as the final and only coding.
    private func validateTransferCodings(_ values: [String]) throws(HTTPParseError) {
        var codings: [Substring.UTF8View] = []
        for value in values { codings.append(contentsOf: ASCII.listElements(value)) }
        guard let last = codings.last else { throw .emptyTransferEncoding }
        let chunkedCount = codings.count { ASCII.equalsLowercase($0, "chunked".utf8) }
        guard ASCII.equalsLowercase(last, "chunked".utf8) else {
            throw chunkedCount > 0 ? .chunkedNotFinal : .unsupportedTransferCoding
        }
        if chunkedCount > 1 { throw .chunkedNotFinal }
        if codings.count > 1 { throw .unsupportedTransferCoding }
    }

    /// Every element of every Content-Length field must be the same run of digits (leading
    /// zeros aside); the value must not exceed `maxBodyBytes`.
    private func parseContentLength(_ values: [String]) throws(HTTPParseError) -> Int {
        var canonical: Substring.UTF8View?
        for value in values {
            let elements = value.utf8.split(separator: ASCII.comma, omittingEmptySubsequences: false)
            for element in elements {
                let digits = ASCII.trimWhitespace(element)
                guard !digits.isEmpty,
                    digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                else {
                    throw .invalidContentLength
                }
                var significant = digits.drop { $0 == UInt8(ascii: "0") }
                if significant.isEmpty { significant = digits.suffix(1) }
                if let canonical {
                    guard canonical.elementsEqual(significant) else {
                        throw .conflictingContentLength
                    }
                } else {
                    canonical = significant
                }
            }
        }
        guard let canonical else { throw .invalidContentLength }
        // More digits than maxBodyBytes has cannot fit, and must not be converted (overflow).
        guard canonical.count <= String(limits.maxBodyBytes).utf8.count else {
            throw .contentTooLarge
        }
        var length = 0
        for digit in canonical {
            let (tens, overflow) = length.multipliedReportingOverflow(by: 10)
            let (sum, carry) = tens.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow && !carry else { throw .contentTooLarge }
            length = sum
        }
        guard length <= limits.maxBodyBytes else { throw .contentTooLarge }
        return length
    }
}
