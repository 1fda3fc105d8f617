/// Byte classes of RFC 9110 §5.6 and helpers that work on UTF-8 views without allocating.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let comma: UInt8 = 0x2C

    /// `tchar` of RFC 9110 §5.6.2: the characters of a token (methods, field names, codings).
    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"),
            UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A byte allowed inside a field value: HTAB, visible ASCII, space, and obs-text (0x80-0xFF).
    /// Every other control character, NUL and CR included, is rejected.
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// A byte allowed in a request-target: visible ASCII only (no space, no controls, no
    /// non-ASCII, which RFC 3986 requires to be percent-encoded).
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt64(byte &- UInt8(ascii: "A") &+ 10)
        default: return nil
        }
    }

    /// ASCII case-insensitive equality; `b` is expected to be lowercase already.
    static func equalsLowercase(_ a: some Collection<UInt8>, _ lowercase: some Collection<UInt8>) -> Bool {
        guard a.count == lowercase.count else { return false }
        return zip(a, lowercase).allSatisfy { lowercased($0) == $1 }
    }

    /// ASCII case-insensitive equality of two strings.
    static func caseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
        let a = a.utf8
        let b = b.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { lowercased($0) == lowercased($1) }
    }

    /// The elements of a comma-separated list (RFC 9110 §5.6.1) with optional whitespace
    /// trimmed and empty elements dropped, as UTF-8 slices of `value`.
    static func listElements(_ value: String) -> [Substring.UTF8View] {
        var elements: [Substring.UTF8View] = []
        for element in value.utf8.split(separator: comma, omittingEmptySubsequences: false) {
            let trimmed = trimWhitespace(element)
            if !trimmed.isEmpty {
                elements.append(trimmed)
            }
        }
        return elements
    }

    static func trimWhitespace(_ slice: Substring.UTF8View) -> Substring.UTF8View {
        var slice = slice
        while let first = slice.first, isWhitespace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isWhitespace(last) { slice = slice.dropLast() }
        return slice
    }
}
