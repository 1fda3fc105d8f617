/// Decoders for the typed values of conditions: numbers, dates, booleans and base64. Policy
/// literals are decoded once at parse time (and rejected there when malformed); request values
/// are decoded per evaluation with these same small, allocation-free readers (no Foundation
/// formatters, no regular expressions).
enum ConditionLiterals {
    // MARK: Numbers

    /// A decimal number in JSON's grammar (optional `-`, digits, optional fraction and
    /// exponent; a leading `+` is accepted too), as a finite Double. `inf`, `nan`, hex and
    /// blank text are not numbers.
    static func number<S: StringProtocol>(_ text: S) -> Double? {
        var sawDigit = false
        var index = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): break
            default: return nil
            }
            index += 1
        }
        guard sawDigit, index <= 64, let value = Double(String(text)), value.isFinite else { return nil }
        return value
    }

    // MARK: Booleans

    /// `true` / `false`, case-insensitively.
    static func bool<S: StringProtocol>(_ text: S) -> Bool? {
        if equalsIgnoringCase(String(text), "true") { return true }
        if equalsIgnoringCase(String(text), "false") { return false }
        return nil
    }

    // MARK: Dates

    /// Milliseconds since the Unix epoch of an IAM date value: ISO 8601 `YYYY-MM-DD`, optionally
    /// followed by `THH:MM`, `:SS`, a fraction, and `Z` or `±HH:MM` / `±HHMM` (no zone means
    /// UTC); or epoch seconds (`1700000000`, `1700000000.5`).
    static func date<S: StringProtocol>(_ text: S) -> Int64? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 40 else { return nil }
        if bytes.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") }) { return epochSeconds(bytes) }
        return iso8601(bytes)
    }

    private static func epochSeconds(_ bytes: [UInt8]) -> Int64? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 12 else { return nil }
        var seconds: Int64 = 0
        for digit in whole { seconds = seconds * 10 + Int64(digit - UInt8(ascii: "0")) }
        var millis: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9 else { return nil }
            millis = fractionMillis(Array(fraction))
        }
        return seconds * 1000 + millis
    }

    private static func iso8601(_ b: [UInt8]) -> Int64? {
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var value = 0
            for _ in 0..<count {
                guard isDigit(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
                i += 1
            }
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2) else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        var hour = 0, minute = 0, second = 0
        var millis: Int64 = 0
        var offsetMinutes = 0
        if i < b.count {
            guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") else { return nil }
            i += 1
            guard let h = digits(2), expect(":"), let m = digits(2) else { return nil }
            hour = h
            minute = m
            if i < b.count, b[i] == UInt8(ascii: ":") {
                i += 1
                guard let s = digits(2) else { return nil }
                second = s
                if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
                    i += 1
                    let start = i
                    while i < b.count, isDigit(b[i]) { i += 1 }
                    guard i > start, i - start <= 9 else { return nil }
                    millis = fractionMillis(Array(b[start..<i]))
                }
            }
            guard hour <= 23, minute <= 59, second <= 60 else { return nil }
            if i < b.count {
                switch b[i] {
                case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                    i += 1
                case UInt8(ascii: "+"), UInt8(ascii: "-"):
                    let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let oh = digits(2) else { return nil }
                    _ = expect(":")
                    guard let om = digits(2), oh <= 23, om <= 59 else { return nil }
                    offsetMinutes = sign * (oh * 60 + om)
                default:
                    return nil
                }
            }
        }
        guard i == b.count else { return nil }
        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + millis
    }

    private static func fractionMillis(_ digits: [UInt8]) -> Int64 {
        var millis: Int64 = 0
        for position in 0..<3 {
            millis *= 10
            if position < digits.count { millis += Int64(digits[position] - UInt8(ascii: "0")) }
        }
        return millis
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    // MARK: Base64

    /// The bytes of standard base64 text (`=` padding optional; whitespace not allowed).
    static func base64(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            guard padding == 0 else { return nil }  // data after padding
            buffer = buffer << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        guard padding <= 2, bits < 6 else { return nil }
        return out
    }
}
