/// A rotation window: Secrets Manager rotates the secret at some time in `[start, end)`
/// (milliseconds since the epoch, UTC).
public struct RotationWindow: Sendable, Hashable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }
}

/// RotateSecret's `RotationRules`, validated as Secrets Manager validates them and evaluated into
/// rotation windows. Pure: no clock, no Foundation.
///
/// The rules (AWS's "Rotation schedules" page, RotationRulesType):
/// - `AutomaticallyAfterDays` 1–1000, or `ScheduleExpression`, not both, and one of them.
/// - `rate(Value Unit)`: unit `hour`/`hours`/`day`/`days` (`1` takes the singular, more the
///   plural, as EventBridge has it); at most every four hours; at most 999 days.
/// - `cron(...)`: the EventBridge syntax (`CronExpression`), minutes `0` (windows open on the
///   hour), year `*` (schedules are at most a year apart), and hours no closer together in a day
///   than four hours.
/// - `Duration`: `Nh`, 1–24 hours. The window must not extend into the next UTC day or into the
///   next rotation window.
/// A schedule is "in hours" (default window one hour) for `rate(N hours)` and a cron whose hours
/// field has several values, "in days" (default window to the end of the UTC day) otherwise.
public struct RotationSchedule: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// `AutomaticallyAfterDays N` or `rate(N days)`.
        case days(Int64)
        /// `rate(N hours)`.
        case hours(Int64)
        /// `rate(N minutes)`: only with a floor below AWS's (tests).
        case minutes(Int64)
        case cron(CronExpression)
    }

    public var kind: Kind
    /// The window's length from `Duration`, in milliseconds; nil for the default.
    public var durationMillis: Int64?

    public init(kind: Kind, durationMillis: Int64? = nil) {
        self.kind = kind
        self.durationMillis = durationMillis
    }

    /// AWS's floor: `rate(4 hours)` is the most frequent schedule it accepts.
    public static let awsMinimumIntervalMillis: Int64 = 4 * millisPerHour
    static let millisPerMinute: Int64 = 60_000
    static let millisPerHour: Int64 = 3_600_000
    static let millisPerDay: Int64 = 86_400_000
    static let maxRateDays: Int64 = 999

    /// Validates `rules` as AWS does. `minimumIntervalMillis` below AWS's four hours (a test
    /// node's setting) lowers the floor and is the only case where `rate(N minute|minutes)` is
    /// accepted (an extension: AWS accepts hours and days only).
    public static func parse(
        _ rules: RotationRules, minimumIntervalMillis: Int64 = awsMinimumIntervalMillis
    ) throws(SecretStoreError) -> RotationSchedule {
        let kind: Kind
        switch (rules.automaticallyAfterDays, rules.scheduleExpression) {
        case (.some, .some):
            throw .bothRotationSchedules
        case (nil, nil):
            throw .noRotationSchedule
        case let (days?, nil):
            guard Limits.rotationDays.contains(days) else { throw .badRotationDays }
            kind = .days(days)
        case let (nil, expression?):
            kind = try parseExpression(expression, minimumIntervalMillis: minimumIntervalMillis)
        }
        var schedule = RotationSchedule(kind: kind)
        if let duration = rules.duration {
            schedule.durationMillis = try parseDuration(duration)
            try schedule.checkWindow()
        }
        return schedule
    }

    private static func parseExpression(
        _ expression: String, minimumIntervalMillis: Int64
    ) throws(SecretStoreError) -> Kind {
        if expression.hasPrefix("rate("), expression.hasSuffix(")") {
            return try parseRate(String(expression.dropFirst(5).dropLast()), expression: expression,
                                 minimumIntervalMillis: minimumIntervalMillis)
        }
        if expression.hasPrefix("cron("), expression.hasSuffix(")") {
            let cron = try CronExpression.parse(String(expression.dropFirst(5).dropLast()))
            try checkSecretsManagerCron(cron, minimumIntervalMillis: minimumIntervalMillis)
            return .cron(cron)
        }
        throw .invalidScheduleExpression(expression)
    }

    private static func parseRate(
        _ inner: String, expression: String, minimumIntervalMillis: Int64
    ) throws(SecretStoreError) -> Kind {
        let parts = inner.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 6,
              parts[0].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int64(parts[0]), value >= 1 else {
            throw .invalidScheduleExpression(expression)
        }
        let unit = String(parts[1])
        let singular = value == 1
        let unitMillis: Int64
        switch unit {
        case "day", "days":
            guard (unit == "day") == singular else { throw .invalidScheduleExpression(expression) }
            unitMillis = millisPerDay
        case "hour", "hours":
            guard (unit == "hour") == singular else { throw .invalidScheduleExpression(expression) }
            unitMillis = millisPerHour
        case "minute" where minimumIntervalMillis < awsMinimumIntervalMillis,
             "minutes" where minimumIntervalMillis < awsMinimumIntervalMillis:
            guard (unit == "minute") == singular else { throw .invalidScheduleExpression(expression) }
            unitMillis = millisPerMinute
        default:
            throw .invalidScheduleExpression(expression)
        }
        if unitMillis == millisPerDay && value > maxRateDays { throw .rateTooLong(expression) }
        guard value * unitMillis >= minimumIntervalMillis else {
            throw .rotationTooFrequent(expression, minimumIntervalMillis: minimumIntervalMillis)
        }
        switch unitMillis {
        case millisPerDay: return .days(value)
        case millisPerHour: return .hours(value)
        default: return .minutes(value)
        }
    }

    /// Secrets Manager's restrictions on top of EventBridge's syntax.
    private static func checkSecretsManagerCron(
        _ cron: CronExpression, minimumIntervalMillis: Int64
    ) throws(SecretStoreError) {
        guard cron.minutes == 1 else { throw .cronMinutesNotZero }
        var allYears = CronExpression.YearSet()
        for year in CronExpression.firstYear...CronExpression.lastYear { allYears.insert(year) }
        guard cron.years == allYears else { throw .cronYearNotWildcard }
        if let gap = minimumHourGap(cron.hours), Int64(gap) * millisPerHour < minimumIntervalMillis {
            throw .cronTooFrequent(minimumIntervalMillis: minimumIntervalMillis)
        }
    }

    /// The smallest distance in hours between two consecutive hours of the field within a day;
    /// nil for a single hour. (An hours field resets each day, AWS's page says: `4/12` is 4:00
    /// and 16:00 every day.)
    static func minimumHourGap(_ hours: UInt32) -> Int? {
        var previous: Int?
        var gap: Int?
        for h in 0..<24 where hours & (1 << UInt32(h)) != 0 {
            if let p = previous { gap = min(gap ?? 24, h - p) }
            previous = h
        }
        return gap
    }

    /// `Nh`, N 1–24 (the service model's pattern is `[0-9]+h`, length 2–3; minutes are not a unit).
    private static func parseDuration(_ text: String) throws(SecretStoreError) -> Int64 {
        let digits = text.utf8.dropLast()
        guard text.hasSuffix("h"), (1...2).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let hours = Int64(String(text.dropLast())), (1...24).contains(hours) else {
            throw .invalidDuration(text)
        }
        return hours * millisPerHour
    }

    /// The checks on `Duration` that need no date: the window fits in the day and before the
    /// next window.
    private func checkWindow() throws(SecretStoreError) {
        guard let duration = durationMillis else { return }
        switch kind {
        case .days:
            break  // starts at midnight; Duration is at most 24 hours
        case let .hours(n):
            if duration > n * Self.millisPerHour { throw .windowTooLong }
        case let .minutes(n):
            if duration > n * Self.millisPerMinute { throw .windowTooLong }
        case let .cron(cron):
            let hours = (0..<24).filter { cron.hours & (1 << UInt32($0)) != 0 }
            guard let lastHour = hours.last else { return }
            if Int64(lastHour) * Self.millisPerHour + duration > Self.millisPerDay { throw .windowTooLong }
            if let gap = Self.minimumHourGap(cron.hours), duration > Int64(gap) * Self.millisPerHour {
                throw .windowTooLong
            }
        }
    }

    /// Whether the schedule is "in hours" (default window one hour) rather than "in days".
    public var isInHours: Bool {
        switch kind {
        case .days: return false
        case .hours, .minutes: return true
        case let .cron(cron): return cron.hours.nonzeroBitCount > 1
        }
    }

    /// The next rotation window after a rotation, or the configuration of rotation, at `base`:
    /// - days N (and AutomaticallyAfterDays N): from midnight UTC of base's day + N days;
    /// - hours N: from the top of base's hour + N hours;
    /// - minutes N: from base's minute + N minutes (default window min(1 hour, interval));
    /// - cron: from its first fire time strictly after `base`; nil when it has none.
    /// The window lasts `Duration`, or by default one hour in hours and the rest of the UTC day in
    /// days; it never extends past the midnight after its start.
    public func nextWindow(after base: Int64) -> RotationWindow? {
        let start: Int64
        var length: Int64
        switch kind {
        case let .days(n):
            start = (floorDiv(base, Self.millisPerDay) + n) * Self.millisPerDay
            length = Self.millisPerDay
        case let .hours(n):
            start = (floorDiv(base, Self.millisPerHour) + n) * Self.millisPerHour
            length = Self.millisPerHour
        case let .minutes(n):
            start = (floorDiv(base, Self.millisPerMinute) + n) * Self.millisPerMinute
            length = min(Self.millisPerHour, n * Self.millisPerMinute)
        case let .cron(cron):
            guard let fire = cron.next(after: base) else { return nil }
            start = fire
            length = isInHours ? Self.millisPerHour : Self.millisPerDay
        }
        if let durationMillis { length = durationMillis }
        let midnight = (floorDiv(start, Self.millisPerDay) + 1) * Self.millisPerDay
        return RotationWindow(start: start, end: min(start + length, midnight))
    }
}

// MARK: The errors of rotation rules. Wordings marked "unconfirmed" are ours, in AWS's style.

extension SecretStoreError {
    /// RotationRules with neither AutomaticallyAfterDays nor ScheduleExpression (unconfirmed).
    public static let noRotationSchedule = SecretStoreError(
        code: invalidParameter,
        message: "You must specify either AutomaticallyAfterDays or ScheduleExpression in RotationRules.")

    /// A ScheduleExpression that is neither a valid rate() nor cron() (unconfirmed).
    public static func invalidScheduleExpression(_ expression: String) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "Invalid ScheduleExpression \(expression). Use rate(Value Unit) with Unit hour, hours, day or days, or cron(Minutes Hours Day-of-month Month Day-of-week Year).")
    }

    /// A cron() whose fields EventBridge's syntax refuses (unconfirmed).
    public static func invalidCron(_ detail: String) -> SecretStoreError {
        SecretStoreError(code: invalidParameter, message: "Invalid cron expression: \(detail).")
    }

    /// A rate() more frequent than the floor (unconfirmed).
    public static func rotationTooFrequent(_ expression: String, minimumIntervalMillis: Int64) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "Invalid ScheduleExpression \(expression). You can rotate a secret as often as every \(describeInterval(minimumIntervalMillis)).")
    }

    /// A rate() in days past 999 (unconfirmed).
    public static func rateTooLong(_ expression: String) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "Invalid ScheduleExpression \(expression). The maximum rotation period is 999 days.")
    }

    /// A cron() whose hours fire closer together than the floor (unconfirmed).
    public static func cronTooFrequent(minimumIntervalMillis: Int64) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "Invalid cron expression: you can rotate a secret as often as every \(describeInterval(minimumIntervalMillis)).")
    }

    /// A cron() with a minutes field other than 0 (unconfirmed).
    public static let cronMinutesNotZero = SecretStoreError(
        code: invalidParameter,
        message: "Invalid cron expression: the Minutes field must be 0 because rotation windows open on the hour.")

    /// A cron() with a year field other than * (unconfirmed).
    public static let cronYearNotWildcard = SecretStoreError(
        code: invalidParameter,
        message: "Invalid cron expression: the Year field must be * because rotation schedules can't be more than a year apart.")

    /// A Duration that is not 1h-24h (unconfirmed).
    public static func invalidDuration(_ duration: String) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "Invalid Duration \(duration). Specify the rotation window in hours, from 1h to 24h.")
    }

    /// A Duration whose window would run into the next UTC day or the next window (unconfirmed).
    public static let windowTooLong = SecretStoreError(
        code: invalidParameter,
        message: "The rotation window must not extend into the next UTC day or into the next rotation window.")

    static func describeInterval(_ millis: Int64) -> String {
        if millis % RotationSchedule.millisPerHour == 0 {
            let h = millis / RotationSchedule.millisPerHour
            return h == 1 ? "hour" : "\(h) hours"
        }
        let m = max(1, millis / RotationSchedule.millisPerMinute)
        return m == 1 ? "minute" : "\(m) minutes"
    }
}

extension RotationRules {
    /// The schedule of rules already stored: their floor was checked when they were set (by
    /// RotateSecret, with the node's floor then), so it is not asked again.
    public var storedSchedule: RotationSchedule? {
        try? RotationSchedule.parse(self, minimumIntervalMillis: 0)
    }
}
