/// An AWS cron expression (the EventBridge dialect Secrets Manager's `cron(...)` uses), parsed and
/// evaluated in UTC without Foundation.
///
/// Six fields, `minutes hours day-of-month month day-of-week year`: minutes 0–59, hours 0–23,
/// day-of-month 1–31, month 1–12 or `JAN`–`DEC`, day-of-week 1–7 or `SUN`–`SAT` (1 is Sunday),
/// year 1970–2199. Every field takes `,` `-` `*` `/` (`0/15`, `*/2`, `10-20/5`; a range runs
/// low to high, never wrapping). Exactly one of day-of-month and day-of-week is `?`.
/// Day-of-month also takes `L` (the last day of the month), `LW` (the last weekday of the month)
/// and `nW` (the weekday nearest day n within the same month: a Saturday moves to the Friday
/// before, except the 1st, which moves to Monday the 3rd; a Sunday moves to the Monday after,
/// except the last day, which moves to the Friday before). `nW` for a day the month does not
/// have never matches in that month, just as a plain `31` does not. Day-of-week also takes `L`
/// alone (7, Saturday), `nL` (the last weekday n of the month, `THUL` too) and `n#k` (the k-th
/// weekday n of the month, k 1–5; a fifth that the month lacks never matches there).
/// Names are case-insensitive. These special forms stand alone in their field.
///
/// Secrets Manager's own restrictions (minutes `0`, year `*`, at most every four hours) are
/// `RotationSchedule`'s business, not this type's.
public struct CronExpression: Sendable, Hashable {
    /// Day-of-month: `?`, a set of days, `L`, `LW` or `nW`.
    enum DayOfMonth: Sendable, Hashable {
        case any
        case days(UInt32)  // bit d for day d (1...31)
        case last
        case lastWeekday
        case nearestWeekday(Int)
    }

    /// Day-of-week (1 Sunday ... 7 Saturday): `?`, a set of weekdays, `nL` or `n#k`.
    enum DayOfWeek: Sendable, Hashable {
        case any
        case weekdays(UInt8)  // bit w for weekday w (1...7)
        case last(Int)
        case nth(Int, Int)
    }

    var minutes: UInt64  // bit m, 0...59
    var hours: UInt32  // bit h, 0...23
    var dayOfMonth: DayOfMonth
    var months: UInt16  // bit m, 1...12
    var dayOfWeek: DayOfWeek
    var years: YearSet

    /// The years 1970...2199 as a bit set.
    struct YearSet: Sendable, Hashable {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        static func == (a: YearSet, b: YearSet) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0); hasher.combine(words.1); hasher.combine(words.2); hasher.combine(words.3)
        }

        func contains(_ year: Int) -> Bool {
            guard year >= CronExpression.firstYear, year <= CronExpression.lastYear else { return false }
            let i = year - CronExpression.firstYear
            let word: UInt64
            switch i >> 6 {
            case 0: word = words.0
            case 1: word = words.1
            case 2: word = words.2
            default: word = words.3
            }
            return word & (1 << UInt64(i & 63)) != 0
        }

        mutating func insert(_ year: Int) {
            let i = year - CronExpression.firstYear
            let bit: UInt64 = 1 << UInt64(i & 63)
            switch i >> 6 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }

        /// The first year in the set at or after `year`, if any.
        func first(atOrAfter year: Int) -> Int? {
            var y = max(year, CronExpression.firstYear)
            while y <= CronExpression.lastYear {
                if contains(y) { return y }
                y += 1
            }
            return nil
        }
    }

    static let firstYear = 1970
    static let lastYear = 2199
    static let millisPerMinute: Int64 = 60_000
    static let millisPerDay: Int64 = 86_400_000

    // MARK: Parsing

    /// Parses the text inside `cron( ... )`: six fields separated by spaces.
    public static func parse(_ text: String) throws(SecretStoreError) -> CronExpression {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map { String($0).uppercased() }
        guard fields.count == 6 else {
            throw .invalidCron("a cron expression has six fields (minutes hours day-of-month month day-of-week year), not \(fields.count)")
        }
        let minutes = try listBits(fields[0], field: "minutes", range: 0...59, names: [])
        let hours = try listBits(fields[1], field: "hours", range: 0...23, names: [])
        let months = try listBits(fields[3], field: "month", range: 1...12, names: monthNames)
        let dom = try parseDayOfMonth(fields[2])
        let dow = try parseDayOfWeek(fields[4])
        switch (dom, dow) {
        case (.any, .any):
            throw .invalidCron("one of the day-of-month and day-of-week fields must be ?, not both")
        case (.any, _), (_, .any):
            break
        default:
            throw .invalidCron("you can't specify both the day-of-month and the day-of-week fields; one of them must be ?")
        }
        var years = YearSet()
        for year in try listValues(fields[5], field: "year", range: firstYear...lastYear, names: []) { years.insert(year) }
        return CronExpression(minutes: UInt64(truncatingIfNeeded: minutes), hours: UInt32(truncatingIfNeeded: hours),
                              dayOfMonth: dom, months: UInt16(truncatingIfNeeded: months), dayOfWeek: dow, years: years)
    }

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    private static func parseDayOfMonth(_ field: String) throws(SecretStoreError) -> DayOfMonth {
        if field == "?" { return .any }
        if field == "L" { return .last }
        if field == "LW" { return .lastWeekday }
        if field.hasSuffix("W") {
            let day = String(field.dropLast())
            guard let n = number(day), (1...31).contains(n) else {
                throw .invalidCron("W in the day-of-month field takes one day 1-31, as in 15W, not \(field)")
            }
            return .nearestWeekday(n)
        }
        if field.contains("L") || field.contains("W") {
            throw .invalidCron("L and W in the day-of-month field stand alone (L, LW, 15W), not \(field)")
        }
        if field.contains("#") { throw .invalidCron("# is allowed only in the day-of-week field") }
        return .days(UInt32(truncatingIfNeeded: try listBits(field, field: "day-of-month", range: 1...31, names: [])))
    }

    private static func parseDayOfWeek(_ field: String) throws(SecretStoreError) -> DayOfWeek {
        if field == "?" { return .any }
        if field == "L" { return .weekdays(1 << 7) }
        if field.contains("#") {
            let parts = field.split(separator: "#", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, let day = value(parts[0], names: weekdayNames, offset: 1), (1...7).contains(day),
                  let k = number(parts[1]), (1...5).contains(k) else {
                throw .invalidCron("# in the day-of-week field takes a weekday 1-7 and an occurrence 1-5, as in 3#2, not \(field)")
            }
            return .nth(day, k)
        }
        if field.hasSuffix("L") {
            guard let day = value(String(field.dropLast()), names: weekdayNames, offset: 1), (1...7).contains(day) else {
                throw .invalidCron("L in the day-of-week field stands alone or follows one weekday, as in 5L, not \(field)")
            }
            return .last(day)
        }
        if field.contains("W") && !weekdayNames.contains(where: { field.contains($0) }) {
            throw .invalidCron("W is allowed only in the day-of-month field")
        }
        return .weekdays(UInt8(truncatingIfNeeded: try listBits(field, field: "day-of-week", range: 1...7, names: weekdayNames)))
    }

    /// A decimal number of at most four digits.
    private static func number(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 4 else { return nil }
        var n = 0
        for c in text.utf8 {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = n * 10 + Int(c - 0x30)
        }
        return n
    }

    /// A number, or a name from `names` (the first being `offset`).
    private static func value(_ text: String, names: [String], offset: Int) -> Int? {
        if let n = number(text) { return n }
        if let i = names.firstIndex(of: text) { return i + offset }
        return nil
    }

    private static func listBits(
        _ field: String, field name: String, range: ClosedRange<Int>, names: [String]
    ) throws(SecretStoreError) -> UInt64 {
        var bits: UInt64 = 0
        for v in try listValues(field, field: name, range: range, names: names) { bits |= 1 << UInt64(v) }
        return bits
    }

    /// The values of a field made of `,`-separated items, each `*`, `v`, `a-b`, optionally `/step`.
    private static func listValues(
        _ field: String, field name: String, range: ClosedRange<Int>, names: [String]
    ) throws(SecretStoreError) -> [Int] {
        func bad(_ why: String) -> SecretStoreError { .invalidCron("invalid \(name) field \(field): \(why)") }
        if field == "?" { throw bad("? is allowed only in the day-of-month and day-of-week fields") }
        var result: [Int] = []
        for item in field.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let slash = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard slash.count <= 2 else { throw bad("more than one / in \(item)") }
            var step = 1
            if slash.count == 2 {
                guard let s = number(slash[1]), s >= 1, s <= range.count else {
                    throw bad("the increment of \(item) must be 1-\(range.count)")
                }
                step = s
            }
            let base = slash[0]
            var low: Int
            var high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else {
                let dash = base.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard dash.count <= 2 else { throw bad("more than one - in \(item)") }
                guard let a = value(dash[0], names: names, offset: range.lowerBound) else {
                    throw bad("\(dash[0].isEmpty ? "an empty value" : dash[0]) is not a value")
                }
                low = a
                if dash.count == 2 {
                    guard let b = value(dash[1], names: names, offset: range.lowerBound) else {
                        throw bad("\(dash[1].isEmpty ? "an empty value" : dash[1]) is not a value")
                    }
                    high = b
                } else {
                    // `a/step` runs from a to the end of the field's range.
                    high = slash.count == 2 ? range.upperBound : a
                }
            }
            guard range.contains(low), range.contains(high) else {
                throw bad("values must be \(range.lowerBound)-\(range.upperBound)")
            }
            guard low <= high else { throw bad("the range \(base) runs backwards") }
            var v = low
            while v <= high {
                result.append(v)
                v += step
            }
        }
        return result
    }

    // MARK: Evaluation

    /// The first minute boundary strictly after `millis` that matches every field (UTC), or nil
    /// when there is none up to the end of 2199.
    public func next(after millis: Int64) -> Int64? {
        let startMinute = floorDiv(millis, Self.millisPerMinute) + 1
        var dayNumber = floorDiv(startMinute * Self.millisPerMinute, Self.millisPerDay)
        var minuteOfDay = Int(startMinute - dayNumber * 1440)
        var (year, month, day) = civil(fromDays: dayNumber)
        while true {
            if year > Self.lastYear { return nil }
            if !years.contains(year) {
                guard let nextYear = years.first(atOrAfter: year + 1) else { return nil }
                (year, month, day) = (nextYear, 1, 1)
                dayNumber = days(fromCivil: year, month, 1)
                minuteOfDay = 0
                continue
            }
            if months & (1 << UInt16(month)) == 0 {
                (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
                day = 1
                dayNumber = days(fromCivil: year, month, 1)
                minuteOfDay = 0
                continue
            }
            if dayMatches(year: year, month: month, day: day, dayNumber: dayNumber),
               let m = firstMinute(atOrAfter: minuteOfDay) {
                return (dayNumber * 1440 + Int64(m)) * Self.millisPerMinute
            }
            dayNumber += 1
            minuteOfDay = 0
            if day < daysInMonth(year, month) {
                day += 1
            } else {
                (year, month, day) = month == 12 ? (year + 1, 1, 1) : (year, month + 1, 1)
            }
        }
    }

    /// Whether `millis` (at any point of its minute) is a fire time of this expression.
    public func matches(_ millis: Int64) -> Bool {
        let minute = floorDiv(millis, Self.millisPerMinute)
        let dayNumber = floorDiv(minute, 1440)
        let minuteOfDay = Int(minute - dayNumber * 1440)
        let (year, month, day) = civil(fromDays: dayNumber)
        return years.contains(year) && months & (1 << UInt16(month)) != 0
            && dayMatches(year: year, month: month, day: day, dayNumber: dayNumber)
            && hours & (1 << UInt32(minuteOfDay / 60)) != 0 && minutes & (1 << UInt64(minuteOfDay % 60)) != 0
    }

    /// The first minute of the day (0...1439) at or after `minuteOfDay` matching hours and minutes.
    private func firstMinute(atOrAfter minuteOfDay: Int) -> Int? {
        var hour = minuteOfDay / 60
        var fromMinute = minuteOfDay % 60
        while hour < 24 {
            if hours & (1 << UInt32(hour)) != 0 {
                let remaining = minutes >> UInt64(fromMinute)
                if remaining != 0 { return hour * 60 + fromMinute + remaining.trailingZeroBitCount }
            }
            hour += 1
            fromMinute = 0
        }
        return nil
    }

    func dayMatches(year: Int, month: Int, day: Int, dayNumber: Int64) -> Bool {
        let last = daysInMonth(year, month)
        switch dayOfMonth {
        case .any: break
        case let .days(bits): if bits & (1 << UInt32(day)) == 0 { return false }
        case .last: if day != last { return false }
        case .lastWeekday:
            let lastWeekday = weekday(dayNumber + Int64(last - day))
            let target = lastWeekday == 7 ? last - 1 : lastWeekday == 1 ? last - 2 : last
            if day != target { return false }
        case let .nearestWeekday(n):
            guard n <= last else { return false }
            let w = weekday(dayNumber + Int64(n - day))
            let target: Int
            switch w {
            case 7: target = n == 1 ? 3 : n - 1
            case 1: target = n == last ? n - 2 : n + 1
            default: target = n
            }
            if day != target { return false }
        }
        let w = weekday(dayNumber)
        switch dayOfWeek {
        case .any: return true
        case let .weekdays(bits): return bits & (1 << UInt8(w)) != 0
        case let .last(target): return w == target && day + 7 > last
        case let .nth(target, k): return w == target && (day - 1) / 7 + 1 == k
        }
    }
}

// MARK: Civil dates (Howard Hinnant's algorithms, proleptic Gregorian, UTC)

/// Floor division (rounds toward negative infinity).
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Days since 1970-01-01 of a civil date.
func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
    let y = Int64(month <= 2 ? year - 1 : year)
    let era = floorDiv(y, 400)
    let yoe = y - era * 400
    let mp = Int64((month + 9) % 12)
    let doy = (153 * mp + 2) / 5 + Int64(day) - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The civil date of a day number (days since 1970-01-01).
func civil(fromDays dayNumber: Int64) -> (year: Int, month: Int, day: Int) {
    let z = dayNumber + 719_468
    let era = floorDiv(z, 146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = Int(doy - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
    return (year, month, day)
}

func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

func daysInMonth(_ year: Int, _ month: Int) -> Int {
    switch month {
    case 2: return isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// The weekday of a day number, 1 Sunday ... 7 Saturday (1970-01-01 was a Thursday, 5).
func weekday(_ dayNumber: Int64) -> Int { Int(dayNumber - floorDiv(dayNumber + 4, 7) * 7 + 4) + 1 }
