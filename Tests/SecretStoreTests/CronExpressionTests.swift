import Testing
@testable import SecretStore
import TestSupport

/// CronExpression: the EventBridge syntax, the special day forms on fixed dates, and a seeded
/// comparison of `next(after:)` with a minute-by-minute reference.
@Suite struct CronExpressionTests {
    /// Milliseconds of a UTC date and time.
    static func at(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0) -> Int64 {
        (days(fromCivil: y, mo, d) * 1440 + Int64(h * 60 + mi)) * 60_000
    }

    static func next(_ fields: String, after y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0) throws -> Int64? {
        try CronExpression.parse(fields).next(after: at(y, mo, d, h, mi))
    }

    // MARK: Dates

    @Test func civilDatesRoundTripAndKnownWeekdays() {
        #expect(days(fromCivil: 1970, 1, 1) == 0)
        #expect(days(fromCivil: 2000, 3, 1) == 11_017)
        #expect(days(fromCivil: 2024, 2, 29) == 19_782)
        #expect(weekday(0) == 5)  // Thursday
        #expect(weekday(days(fromCivil: 2024, 6, 2)) == 1)  // a Sunday
        #expect(weekday(days(fromCivil: 2199, 12, 31)) == 3)  // a Tuesday
        #expect(weekday(-1) == 4)
        var (y, m, d) = (1969, 12, 1)
        for n in days(fromCivil: 1969, 12, 1)...days(fromCivil: 2201, 1, 1) {
            let c = civil(fromDays: n)
            if c.year != y || c.month != m || c.day != d {
                Issue.record("day \(n): \(c) != \(y)-\(m)-\(d)")
                return
            }
            if days(fromCivil: y, m, d) != n {
                Issue.record("\(y)-\(m)-\(d) -> \(days(fromCivil: y, m, d)), not \(n)")
                return
            }
            let dim = [31, (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
            if d < dim { d += 1 } else if m < 12 { (m, d) = (m + 1, 1) } else { (y, m, d) = (y + 1, 1, 1) }
        }
    }

    // MARK: Parsing

    @Test(arguments: [
        "0 10 * * ? *", "15 12 * * ? *", "0 18 ? * MON-FRI *", "0 8 1 * ? *", "0/15 * * * ? *",
        "0/10 * ? * MON-FRI *", "0/5 8-17 ? * MON-FRI *", "0 9 ? * 2#1 *", "0 4/12 * * ? *", "0 8/8 * * ? *",
        "0 2/10 * * ? *", "0 8 1/7 * ? *", "0 0 ? * SUN#1 *", "0 16 L * ? *", "0 10 ? FEB,MAY,AUG,NOV TUE#2 *",
        "0 12 ? * SUN *", "0 0 LW * ? *", "0 0 15W * ? *", "0 0 ? * 5L *", "0 0 ? * thuL *", "0 0 ? * L *",
        "0 0 1 jan-mar ? 2030-2040/2", "10-20/5 */2 ? * mon,wed,FRI 1970,2199", "59 23 31 DEC ? 2199",
        "  0   10  * * ?  * ",
    ])
    func validExpressionsParse(_ fields: String) throws {
        _ = try CronExpression.parse(fields)
    }

    @Test(arguments: [
        ("", "a cron expression has six fields (minutes hours day-of-month month day-of-week year), not 0"),
        ("0 10 * * ?", "a cron expression has six fields (minutes hours day-of-month month day-of-week year), not 5"),
        ("0 10 * * ? * *", "a cron expression has six fields (minutes hours day-of-month month day-of-week year), not 7"),
        ("0 10 ? * ? *", "one of the day-of-month and day-of-week fields must be ?, not both"),
        ("0 10 * * * *", "you can't specify both the day-of-month and the day-of-week fields; one of them must be ?"),
        ("0 10 1 * MON *", "you can't specify both the day-of-month and the day-of-week fields; one of them must be ?"),
        ("60 10 * * ? *", "invalid minutes field 60: values must be 0-59"),
        ("0 24 * * ? *", "invalid hours field 24: values must be 0-23"),
        ("0 10 0 * ? *", "invalid day-of-month field 0: values must be 1-31"),
        ("0 10 32 * ? *", "invalid day-of-month field 32: values must be 1-31"),
        ("0 10 * 13 ? *", "invalid month field 13: values must be 1-12"),
        ("0 10 ? * 8 *", "invalid day-of-week field 8: values must be 1-7"),
        ("0 10 ? * 0 *", "invalid day-of-week field 0: values must be 1-7"),
        ("0 10 * * ? 1969", "invalid year field 1969: values must be 1970-2199"),
        ("0 10 * * ? 2200", "invalid year field 2200: values must be 1970-2199"),
        ("0 10 1#2 * ? *", "# is allowed only in the day-of-week field"),
        ("0 10 ? * 3#6 *", "# in the day-of-week field takes a weekday 1-7 and an occurrence 1-5, as in 3#2, not 3#6"),
        ("0 10 ? * 3#0 *", "# in the day-of-week field takes a weekday 1-7 and an occurrence 1-5, as in 3#2, not 3#0"),
        ("0 10 ? * 8#1 *", "# in the day-of-week field takes a weekday 1-7 and an occurrence 1-5, as in 3#2, not 8#1"),
        ("0 10 1-5W * ? *", "W in the day-of-month field takes one day 1-31, as in 15W, not 1-5W"),
        ("0 10 1,15W * ? *", "W in the day-of-month field takes one day 1-31, as in 15W, not 1,15W"),
        ("0 10 32W * ? *", "W in the day-of-month field takes one day 1-31, as in 15W, not 32W"),
        ("0 10 L-2 * ? *", "L and W in the day-of-month field stand alone (L, LW, 15W), not L-2"),
        ("0 10 ? * 2W *", "W is allowed only in the day-of-month field"),
        ("0 10 ? * 9L *", "L in the day-of-week field stands alone or follows one weekday, as in 5L, not 9L"),
        ("? 10 * * ? *", "invalid minutes field ?: ? is allowed only in the day-of-month and day-of-week fields"),
        ("0 10 * FOO ? *", "invalid month field FOO: FOO is not a value"),
        ("0 10 ? * FRI-MON *", "invalid day-of-week field FRI-MON: the range FRI-MON runs backwards"),
        ("0/0 10 * * ? *", "invalid minutes field 0/0: the increment of 0/0 must be 1-60"),
        ("0/61 10 * * ? *", "invalid minutes field 0/61: the increment of 0/61 must be 1-60"),
        ("0 1,,2 * * ? *", "invalid hours field 1,,2: an empty value is not a value"),
        ("0 1-2-3 * * ? *", "invalid hours field 1-2-3: more than one - in 1-2-3"),
        ("0 */2/3 * * ? *", "invalid hours field */2/3: more than one / in */2/3"),
        ("0 -1 * * ? *", "invalid hours field -1: an empty value is not a value"),
        ("garbage in all the fields here", "invalid minutes field GARBAGE: GARBAGE is not a value"),
    ])
    func invalidExpressionsAreRefused(_ fields: String, _ detail: String) {
        #expect(throws: SecretStoreError(code: "InvalidParameterException", message: "Invalid cron expression: \(detail).")) {
            try CronExpression.parse(fields)
        }
    }

    // MARK: Fixed dates

    @Test func lastDayOfFebruaryInLeapAndOtherYears() throws {
        #expect(try Self.next("0 16 L * ? *", after: 2024, 2, 1) == Self.at(2024, 2, 29, 16))
        #expect(try Self.next("0 16 L * ? *", after: 2023, 2, 1) == Self.at(2023, 2, 28, 16))
        #expect(try Self.next("0 16 L * ? *", after: 2100, 2, 1) == Self.at(2100, 2, 28, 16))  // not a leap year
        #expect(try Self.next("0 16 L * ? *", after: 2000, 2, 1) == Self.at(2000, 2, 29, 16))  // a leap year
        #expect(try Self.next("0 16 L * ? *", after: 2024, 2, 29, 16) == Self.at(2024, 3, 31, 16))
    }

    @Test func lastWeekdayOfTheMonth() throws {
        // June 2024 ends on a Sunday: the 28th (Friday). August 2024 ends on a Saturday: the 30th.
        #expect(try Self.next("0 0 LW * ? *", after: 2024, 6, 1) == Self.at(2024, 6, 28))
        #expect(try Self.next("0 0 LW * ? *", after: 2024, 8, 1) == Self.at(2024, 8, 30))
        #expect(try Self.next("0 0 LW * ? *", after: 2024, 7, 1) == Self.at(2024, 7, 31))  // a Wednesday
    }

    @Test func nearestWeekday() throws {
        // 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 is a Sunday -> Monday 16th.
        #expect(try Self.next("0 0 15W * ? *", after: 2024, 6, 1) == Self.at(2024, 6, 14))
        #expect(try Self.next("0 0 15W * ? *", after: 2024, 9, 1) == Self.at(2024, 9, 16))
        #expect(try Self.next("0 0 15W * ? *", after: 2024, 5, 1) == Self.at(2024, 5, 15))  // a Wednesday
        // 2024-06-01 is a Saturday -> Monday the 3rd, not Friday May 31st.
        #expect(try Self.next("0 0 1W * ? *", after: 2024, 5, 20) == Self.at(2024, 6, 3))
        // 2024-03-31 is a Sunday -> Friday 29th, not Monday April 1st.
        #expect(try Self.next("0 0 31W * ? *", after: 2024, 3, 1) == Self.at(2024, 3, 29))
        // 31W never fires in a 30-day month: after April 2024 comes May 31st (a Friday).
        #expect(try Self.next("0 0 31W * ? *", after: 2024, 4, 1) == Self.at(2024, 5, 31))
        #expect(try Self.next("0 0 30W FEB ? *", after: 2024, 1, 1) == nil)
    }

    @Test func nthWeekday() throws {
        // The second Tuesday of June 2024 is the 11th.
        #expect(try Self.next("0 9 ? * 3#2 *", after: 2024, 6, 1) == Self.at(2024, 6, 11, 9))
        #expect(try Self.next("0 9 ? * TUE#2 *", after: 2024, 6, 11, 9) == Self.at(2024, 7, 9, 9))
        // February 2023 has four Mondays; the next fifth Monday is in May 2023 (the 29th).
        #expect(try Self.next("0 0 ? * MON#5 *", after: 2023, 2, 1) == Self.at(2023, 5, 29))
        // A fifth Thursday: February 2024 has one (the 29th, a leap day).
        #expect(try Self.next("0 0 ? * 5#5 *", after: 2024, 2, 1) == Self.at(2024, 2, 29))
        #expect(try Self.next("0 0 ? * SUN#1 *", after: 2024, 6, 1) == Self.at(2024, 6, 2))
    }

    @Test func lastWeekdayNOfTheMonth() throws {
        // The last Thursday of June 2024 is the 27th; of February 2024 the 29th.
        #expect(try Self.next("0 0 ? * 5L *", after: 2024, 6, 1) == Self.at(2024, 6, 27))
        #expect(try Self.next("0 0 ? * THUL *", after: 2024, 2, 1) == Self.at(2024, 2, 29))
        // L alone is Saturday: every Saturday.
        #expect(try Self.next("0 0 ? * L *", after: 2024, 6, 2) == Self.at(2024, 6, 8))
    }

    @Test func monthNamesDaysOfWeekAndSteps() throws {
        #expect(try Self.next("0 10 ? * MON-FRI *", after: 2024, 6, 1) == Self.at(2024, 6, 3, 10))
        #expect(try Self.next("0 10 1 apr,Oct ? *", after: 2024, 4, 1, 10) == Self.at(2024, 10, 1, 10))
        #expect(try Self.next("0/15 * * * ? *", after: 2024, 6, 1, 10, 14) == Self.at(2024, 6, 1, 10, 15))
        #expect(try Self.next("10-20/5 * * * ? *", after: 2024, 6, 1, 10, 20) == Self.at(2024, 6, 1, 11, 10))
        #expect(try Self.next("0 */5 * * ? *", after: 2024, 6, 1, 20) == Self.at(2024, 6, 2, 0))
        #expect(try Self.next("0 4/12 * * ? *", after: 2024, 6, 1, 4) == Self.at(2024, 6, 1, 16))
        #expect(try Self.next("0 4/12 * * ? *", after: 2024, 6, 1, 16) == Self.at(2024, 6, 2, 4))
        #expect(try Self.next("0 8 1/7 * ? *", after: 2024, 6, 29, 8) == Self.at(2024, 7, 1, 8))
        #expect(try Self.next("0 0 31 * ? *", after: 2024, 4, 1) == Self.at(2024, 5, 31))
        #expect(try Self.next("0 0 29 FEB ? *", after: 2024, 3, 1) == Self.at(2028, 2, 29))
    }

    @Test func strictlyAfterAndWithinTheMinute() throws {
        let cron = try CronExpression.parse("30 12 * * ? *")
        let fire = Self.at(2024, 6, 1, 12, 30)
        #expect(cron.next(after: fire - 1) == fire)
        #expect(cron.next(after: fire) == fire + 86_400_000)
        #expect(cron.next(after: fire + 59_999) == fire + 86_400_000)
        #expect(cron.matches(fire + 59_999))
        #expect(!cron.matches(fire + 60_000))
        #expect(cron.next(after: -1) == Self.at(1970, 1, 1, 12, 30))
    }

    @Test func yearBounds() throws {
        #expect(try Self.next("0 0 1 1 ? 2030", after: 2024, 6, 1) == Self.at(2030, 1, 1))
        #expect(try Self.next("0 0 1 1 ? 2030", after: 2030, 1, 1) == nil)
        #expect(try Self.next("59 23 31 12 ? *", after: 2199, 12, 31, 23, 58) == Self.at(2199, 12, 31, 23, 59))
        #expect(try Self.next("59 23 31 12 ? *", after: 2199, 12, 31, 23, 59) == nil)
        #expect(try Self.next("0 0 * * ? 2025-2027/2", after: 2025, 12, 31, 12) == Self.at(2027, 1, 1))
        #expect(try Self.next("0 0 * * ? 1970", after: 1960, 1, 1) == Self.at(1970, 1, 1))
        #expect(try Self.next("0 0 30 FEB ? *", after: 2024, 1, 1) == nil)
    }

    // MARK: The seeded comparison with a reference

    @Test func nextAgreesWithAMinuteByMinuteReference() throws {
        let seed: UInt64 = 0x5EED_C405
        let failures = try CronReference.run(seed: seed, cases: 2_000)
        #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(5))")
    }
}

// BEGIN REFERENCE (also compiled by the standalone driver)
/// A random cron expression with its meaning kept alongside, evaluated naively.
struct CronReference {
    enum DayOfMonth { case any, set(Set<Int>), last, lastWeekday, nearest(Int) }
    enum DayOfWeek { case any, set(Set<Int>), last(Int), nth(Int, Int) }

    var text = ""
    var minutes: Set<Int> = []
    var hours: Set<Int> = []
    var months: Set<Int> = []
    var years: Set<Int> = []
    var dom = DayOfMonth.any
    var dow = DayOfWeek.any

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// A random field over `range`: its text and its values.
    static func field(_ range: ClosedRange<Int>, names: [String], _ rng: inout SplitMix64) -> (String, Set<Int>) {
        func name(_ v: Int) -> String {
            guard !names.isEmpty, Bool.random(using: &rng) else { return String(v) }
            let n = names[v - range.lowerBound]
            return Bool.random(using: &rng) ? n : n.lowercased()
        }
        func item() -> (String, Set<Int>) {
            let a = Int.random(in: range, using: &rng)
            let b = Int.random(in: a...range.upperBound, using: &rng)
            let s = Int.random(in: 1...max(1, range.count / 3), using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: return ("*", Set(range))
            case 1: return ("*/\(s)", Set(stride(from: range.lowerBound, through: range.upperBound, by: s)))
            case 2: return ("\(name(a))-\(name(b))", Set(a...b))
            case 3: return ("\(a)/\(s)", Set(stride(from: a, through: range.upperBound, by: s)))
            case 4: return ("\(name(a))-\(name(b))/\(s)", Set(stride(from: a, through: b, by: s)))
            default: return (name(a), [a])
            }
        }
        var (text, values) = item()
        for _ in 0..<Int.random(in: 0...2, using: &rng) where !Bool.random(using: &rng) {
            let (t, v) = item()
            text += "," + t
            values.formUnion(v)
        }
        return (text, values)
    }

    static func random(_ rng: inout SplitMix64) -> CronReference {
        var r = CronReference()
        let (mt, mv) = field(0...59, names: [], &rng)
        let (ht, hv) = field(0...23, names: [], &rng)
        let (mot, mov) = Int.random(in: 0..<3, using: &rng) == 0 ? field(1...12, names: monthNames, &rng) : ("*", Set(1...12))
        (r.minutes, r.hours, r.months) = (mv, hv, mov)
        var domText = "?"
        var dowText = "?"
        if Bool.random(using: &rng) {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: domText = "L"; r.dom = .last
            case 1: domText = "LW"; r.dom = .lastWeekday
            case 2: let n = Int.random(in: 1...31, using: &rng); domText = "\(n)W"; r.dom = .nearest(n)
            default: let (t, v) = field(1...31, names: [], &rng); domText = t; r.dom = .set(v)
            }
        } else {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: let w = Int.random(in: 1...7, using: &rng); dowText = "\(w)L"; r.dow = .last(w)
            case 1:
                let w = Int.random(in: 1...7, using: &rng), k = Int.random(in: 1...5, using: &rng)
                dowText = "\(Bool.random(using: &rng) ? weekdayNames[w - 1] : String(w))#\(k)"; r.dow = .nth(w, k)
            default: let (t, v) = field(1...7, names: weekdayNames, &rng); dowText = t; r.dow = .set(v)
            }
        }
        var yearText = "*"
        r.years = Set(1970...2199)
        if Int.random(in: 0..<8, using: &rng) == 0 {
            let a = Int.random(in: 2000...2199, using: &rng)
            let b = Int.random(in: a...min(2199, a + 3), using: &rng)
            yearText = "\(a)-\(b)"
            r.years = Set(a...b)
        }
        r.text = [mt, ht, domText, mot, dowText, yearText].joined(separator: " ")
        return r
    }

    /// Naive day test: y-m-d with weekday w (1 Sunday) in a month of `dim` days.
    func dayMatches(_ y: Int, _ m: Int, _ d: Int, _ w: Int, _ dim: Int) -> Bool {
        guard years.contains(y), months.contains(m) else { return false }
        func weekdayOf(_ day: Int) -> Int { ((w - 1 + day - d) % 7 + 7) % 7 + 1 }
        let workdays = (1...dim).filter { (2...6).contains(weekdayOf($0)) }
        switch dom {
        case .any: break
        case let .set(s): if !s.contains(d) { return false }
        case .last: if d != dim { return false }
        case .lastWeekday: if d != workdays.last { return false }
        case let .nearest(n):
            if n > dim || d != workdays.min(by: { abs($0 - n) < abs($1 - n) }) { return false }
        }
        switch dow {
        case .any: return true
        case let .set(s): return s.contains(w)
        case let .last(t): return w == t && !stride(from: d + 1, through: dim, by: 1).contains { weekdayOf($0) == t }
        case let .nth(t, k): return w == t && (1...d).filter { weekdayOf($0) == t }.count == k
        }
    }

    /// The first matching minute strictly after `t` within `horizonDays`, by scanning forward.
    func firstAfter(_ t: Int64, horizonDays: Int) -> Int64? {
        var minute = (t >= 0 ? t / 60_000 : (t - 59_999) / 60_000) + 1
        // The date of `minute`, by counting years and months from 1970 (no shared code).
        var dayNumber = minute >= 0 ? minute / 1440 : (minute - 1439) / 1440
        var y = 1970
        var rest = dayNumber
        func yearLength(_ y: Int) -> Int64 { (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365 }
        func monthLength(_ y: Int, _ m: Int) -> Int { [31, yearLength(y) == 366 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] }
        while rest < 0 { y -= 1; rest += yearLength(y) }
        while rest >= yearLength(y) { rest -= yearLength(y); y += 1 }
        var m = 1
        while rest >= Int64(monthLength(y, m)) { rest -= Int64(monthLength(y, m)); m += 1 }
        var d = Int(rest) + 1
        var w = Int(((dayNumber + 4) % 7 + 7) % 7) + 1
        for _ in 0...horizonDays {
            if dayMatches(y, m, d, w, monthLength(y, m)) {
                while minute < (dayNumber + 1) * 1440 {
                    let mod = Int(minute - dayNumber * 1440)
                    if hours.contains(mod / 60) && minutes.contains(mod % 60) { return minute * 60_000 }
                    minute += 1
                }
            }
            dayNumber += 1
            minute = dayNumber * 1440
            w = w % 7 + 1
            if d < monthLength(y, m) { d += 1 } else if m < 12 { (m, d) = (m + 1, 1) } else { (y, m, d) = (y + 1, 1, 1) }
        }
        return nil
    }

    /// Compares `CronExpression` with the reference on `cases` random expressions and instants;
    /// returns descriptions of the disagreements.
    static func run(seed: UInt64, cases: Int) throws -> [String] {
        var rng = SplitMix64(seed: seed)
        var failures: [String] = []
        let horizon = 400
        for i in 0..<cases {
            let reference = random(&rng)
            let cron = try CronExpression.parse(reference.text)
            // Mostly 1990-2150, sometimes within a year and a half of the end of 2199.
            let t = Int.random(in: 0..<10, using: &rng) == 0
                ? Int64.random(in: 7_226_000_000_000...7_258_118_399_999, using: &rng)
                : Int64.random(in: 631_152_000_000...5_680_281_600_000, using: &rng)
            let expected = reference.firstAfter(t, horizonDays: horizon)
            let got = cron.next(after: t)
            let context = "case \(i) cron(\(reference.text)) after \(t)"
            if let expected {
                if got != expected { failures.append("\(context): got \(got.map(String.init) ?? "nil"), expected \(expected)") }
            } else if let got, got <= t + Int64(horizon) * 86_400_000 {
                failures.append("\(context): got \(got), the reference finds none within \(horizon) days")
            }
            if let got, !cron.matches(got) || got <= t || got % 60_000 != 0 {
                failures.append("\(context): \(got) does not match or is not after t")
            }
            let probe = t + Int64.random(in: 0...(400 * 86_400_000), using: &rng)
            let probeMinute = probe - ((probe % 60_000) + 60_000) % 60_000
            if cron.matches(probe) != (reference.firstAfter(probeMinute - 1, horizonDays: 0) == probeMinute) {
                failures.append("\(context): matches(\(probe)) disagrees with the reference")
            }
        }
        return failures
    }
}
// END REFERENCE
