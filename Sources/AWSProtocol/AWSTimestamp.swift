import HTTP1
public import Foundation

/// The two timestamp spellings SigV4 uses, converted without `DateFormatter` (no locale, no
/// time zone database, no allocation of formatters) and without reading any clock.
public enum AWSTimestamp {
    /// ISO 8601 basic format in UTC, as in `X-Amz-Date`: `20150830T123600Z`.
    public static func basic(_ date: Date) -> String {
        format(Int64(date.timeIntervalSince1970.rounded(.down)), dateSeparator: "", timeSeparator: "")
    }

    /// ISO 8601 extended format in UTC, as CloudTrail's `eventTime` and `aws:CurrentTime`:
    /// `2015-08-30T12:36:00Z`, for epoch seconds.
    public static func extended(seconds: Int64) -> String {
        format(seconds, dateSeparator: "-", timeSeparator: ":")
    }

    /// ``extended(seconds:)`` of a date (fractions of a second dropped).
    public static func extended(_ date: Date) -> String {
        extended(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// Written into one small buffer (this runs several times per request: the string
    /// concatenation it replaced was 6% of a GetSecretValue's instructions). Years outside
    /// 0...9999 keep the old, padded-and-concatenated spelling.
    private static func format(_ seconds: Int64, dateSeparator: String, timeSeparator: String) -> String {
        let days = floorDiv(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = HTTPDate.civil(fromDays: days)
        guard (0...9999).contains(y), dateSeparator.utf8.count <= 1, timeSeparator.utf8.count <= 1 else {
            return pad(y, 4) + dateSeparator + pad(m, 2) + dateSeparator + pad(d, 2) + "T"
                + pad(secondOfDay / 3600, 2) + timeSeparator + pad(secondOfDay / 60 % 60, 2) + timeSeparator
                + pad(secondOfDay % 60, 2) + "Z"
        }
        let dateMark = dateSeparator.utf8.first
        let timeMark = timeSeparator.utf8.first
        let length = 16 + (dateMark == nil ? 0 : 2) + (timeMark == nil ? 0 : 2)
        return String(unsafeUninitializedCapacity: length) { buffer in
            var index = 0
            func digits(_ value: Int64, _ count: Int) {
                var value = value
                var position = index + count - 1
                while position >= index {
                    buffer[position] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
                    value /= 10
                    position -= 1
                }
                index += count
            }
            func mark(_ byte: UInt8?) {
                guard let byte else { return }
                buffer[index] = byte
                index += 1
            }
            digits(Int64(y), 4)
            mark(dateMark)
            digits(Int64(m), 2)
            mark(dateMark)
            digits(Int64(d), 2)
            mark(UInt8(ascii: "T"))
            digits(secondOfDay / 3600, 2)
            mark(timeMark)
            digits(secondOfDay / 60 % 60, 2)
            mark(timeMark)
            digits(secondOfDay % 60, 2)
            mark(UInt8(ascii: "Z"))
            return index
        }
    }

    /// The `YYYYMMDD` day of a date, as used in a credential scope.
    public static func day(_ date: Date) -> String { String(basic(date).prefix(8)) }

    /// Parses `YYYYMMDDTHHMMSSZ`; nil for anything else, including impossible dates.
    public static func parseBasic(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        guard let y = number(b[0..<4]), let mo = number(b[4..<6]), let d = number(b[6..<8]),
              let h = number(b[9..<11]), let mi = number(b[11..<13]), let s = number(b[13..<15])
        else { return nil }
        return make(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
    }

    /// Parses an RFC 7231 IMF-fixdate, the form of the HTTP `Date` header:
    /// `Sun, 30 Aug 2015 12:36:00 GMT`. nil for anything else.
    public static func parseHTTPDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT" else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])),
              let d = number(Array(parts[1].utf8)[...]), let y = number(Array(parts[3].utf8)[...])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let h = number(Array(clock[0].utf8)[...]), let mi = number(Array(clock[1].utf8)[...]),
              let s = number(Array(clock[2].utf8)[...])
        else { return nil }
        return make(year: y, month: Int64(monthIndex + 1), day: d, hour: h, minute: mi, second: s)
    }

    private static func make(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) -> Date? {
        guard (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second),
              day >= 1, day <= daysInMonth(year: year, month: month)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value: Int64 = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(c - UInt8(ascii: "0"))
        }
        return value
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    private static func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

}
