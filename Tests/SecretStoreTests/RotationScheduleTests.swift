import Testing
@testable import SecretStore

/// RotationSchedule: RotationRules validated as Secrets Manager validates them, and the windows
/// they open.
@Suite struct RotationScheduleTests {
    static let hourMillis: Int64 = 3_600_000
    static let dayMillis: Int64 = 86_400_000
    static let invalid = "InvalidParameterException"

    static func at(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0) -> Int64 {
        (days(fromCivil: y, mo, d) * 1440 + Int64(h * 60 + mi)) * 60_000
    }

    static func schedule(_ expression: String, _ duration: String? = nil, floor: Int64 = 4 * 3_600_000) throws -> RotationSchedule {
        try RotationSchedule.parse(RotationRules(scheduleExpression: expression, duration: duration), minimumIntervalMillis: floor)
    }

    static func window(_ expression: String, _ duration: String? = nil, floor: Int64 = 4 * 3_600_000, after base: Int64) throws -> RotationWindow? {
        try schedule(expression, duration, floor: floor).nextWindow(after: base)
    }

    // MARK: Parsing

    /// The examples of AWS's "Rotation schedules" page and RotationRulesType, and neighbours.
    @Test(arguments: [
        "rate(4 hours)", "rate(1 day)", "rate(10 days)", "rate(12 hours)", "rate(8 days)", "rate(999 days)",
        "rate(23 hours)", "rate(24 hours)",
        "cron(0 4/12 * * ? *)", "cron(0 8/8 * * ? *)", "cron(0 2/10 * * ? *)", "cron(0 8 1/7 * ? *)",
        "cron(0 0 ? * SUN#1 *)", "cron(0 16 L * ? *)", "cron(0 10 ? FEB,MAY,AUG,NOV TUE#2 *)", "cron(0 12 ? * SUN *)",
        "cron(0 1 * * ? *)", "cron(0 8 1 * ? *)", "cron(0 10 ? * 2#1 *)", "cron(0 0 LW * ? *)", "cron(0 0,4,8,12,16,20 * * ? *)",
    ])
    func validExpressionsParse(_ expression: String) throws {
        _ = try Self.schedule(expression)
    }

    @Test func kinds() throws {
        #expect(try Self.schedule("rate(1 day)").kind == .days(1))
        #expect(try Self.schedule("rate(6 hours)").kind == .hours(6))
        #expect(try Self.schedule("rate(15 minutes)", floor: 60_000).kind == .minutes(15))
        #expect(try Self.schedule("rate(1 minute)", floor: 60_000).kind == .minutes(1))
        #expect(try Self.schedule("cron(0 10 * * ? *)").kind == .cron(try CronExpression.parse("0 10 * * ? *")))
        #expect(try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 30)).kind == .days(30))
        #expect(try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 1)).kind == .days(1))
        #expect(try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 1000)).kind == .days(1000))
        #expect(try Self.schedule("rate(2 days)", "3h").durationMillis == 3 * Self.hourMillis)
        #expect(try Self.schedule("rate(2 days)").durationMillis == nil)
        #expect(try Self.schedule("cron(0 4/12 * * ? *)").isInHours)
        #expect(try !Self.schedule("cron(0 4 * * ? *)").isInHours)
        #expect(try Self.schedule("cron(0 * * * ? *)", floor: 60_000).isInHours)
    }

    @Test(arguments: [
        "rate(0 days)", "rate(0 hours)", "rate(-1 days)", "rate(1 days)", "rate(2 day)", "rate(4 hour)", "rate(1 hours)",
        "rate(1 minute)", "rate(300 minutes)", "rate(1 week)", "rate(1.5 days)", "rate( 1 day)", "rate(1  day)", "rate(1day)",
        "rate(days)", "rate()", "RATE(1 day)", "rate(1 DAY)", "rate(1 day", "", "every day", "cron 0 10 * * ? *",
        "cron(0 10 * * ? *) ", "rate(9999999 days)",
    ])
    func malformedExpressionsAreRefused(_ expression: String) {
        #expect(throws: SecretStoreError.invalidScheduleExpression(expression)) { try Self.schedule(expression) }
        #expect(SecretStoreError.invalidScheduleExpression(expression).code == Self.invalid)
    }

    @Test func minutesOnlyWithALowerFloor() throws {
        #expect(throws: SecretStoreError.invalidScheduleExpression("rate(1 minute)")) { try Self.schedule("rate(1 minute)") }
        #expect(try Self.schedule("rate(1 minute)", floor: 60_000).kind == .minutes(1))
        #expect(throws: SecretStoreError.invalidScheduleExpression("rate(2 minute)")) {
            try Self.schedule("rate(2 minute)", floor: 60_000)
        }
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "Invalid ScheduleExpression rate(1 minute). You can rotate a secret as often as every 5 minutes.")) {
            try Self.schedule("rate(1 minute)", floor: 300_000)
        }
        // A lower floor admits hours below four too.
        #expect(try Self.schedule("rate(1 hour)", floor: 60_000).kind == .hours(1))
    }

    @Test func ratesBelowTheFloorOrAboveTheMaximum() {
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "Invalid ScheduleExpression rate(3 hours). You can rotate a secret as often as every 4 hours.")) {
            try Self.schedule("rate(3 hours)")
        }
        #expect(throws: SecretStoreError.rotationTooFrequent("rate(1 hour)", minimumIntervalMillis: 4 * Self.hourMillis)) {
            try Self.schedule("rate(1 hour)")
        }
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "Invalid ScheduleExpression rate(1000 days). The maximum rotation period is 999 days.")) {
            try Self.schedule("rate(1000 days)")
        }
    }

    @Test func automaticallyAfterDaysAndTheChoiceOfSchedule() {
        for days: Int64 in [0, -1, 1001] {
            #expect(throws: SecretStoreError(code: Self.invalid, message: "RotationRules.AutomaticallyAfterDays must be within 1-1000.")) {
                try RotationSchedule.parse(RotationRules(automaticallyAfterDays: days))
            }
        }
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "You cannot specify both rotation frequency and schedule expression together.")) {
            try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 7, scheduleExpression: "rate(7 days)"))
        }
        #expect(throws: SecretStoreError.noRotationSchedule) { try RotationSchedule.parse(RotationRules(duration: "2h")) }
        #expect(SecretStoreError.noRotationSchedule.code == Self.invalid)
    }

    @Test func secretsManagerRestrictsCron() {
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "Invalid cron expression: the Minutes field must be 0 because rotation windows open on the hour.")) {
            try Self.schedule("cron(30 10 * * ? *)")
        }
        #expect(throws: SecretStoreError.cronMinutesNotZero) { try Self.schedule("cron(0,30 10 * * ? *)") }
        #expect(throws: SecretStoreError.cronMinutesNotZero) { try Self.schedule("cron(* 10 * * ? *)") }
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "Invalid cron expression: the Year field must be * because rotation schedules can't be more than a year apart.")) {
            try Self.schedule("cron(0 10 * * ? 2030)")
        }
        #expect(throws: SecretStoreError.cronYearNotWildcard) { try Self.schedule("cron(0 10 * * ? 1970-2198)") }
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "Invalid cron expression: you can rotate a secret as often as every 4 hours.")) {
            try Self.schedule("cron(0 4/2 * * ? *)")
        }
        #expect(throws: SecretStoreError.cronTooFrequent(minimumIntervalMillis: 4 * Self.hourMillis)) {
            try Self.schedule("cron(0 1,4 * * ? *)")
        }
        #expect(throws: SecretStoreError.cronTooFrequent(minimumIntervalMillis: 4 * Self.hourMillis)) {
            try Self.schedule("cron(0 * * * ? *)")
        }
        #expect(throws: SecretStoreError.invalidCron("one of the day-of-month and day-of-week fields must be ?, not both")) {
            try Self.schedule("cron(0 10 ? * ? *)")
        }
        #expect(throws: SecretStoreError.invalidCron("a cron expression has six fields (minutes hours day-of-month month day-of-week year), not 5")) {
            try Self.schedule("cron(0 10 * * ?)")
        }
    }

    @Test func durations() throws {
        for duration in ["0h", "25h", "90m", "h", "3", "1d", "100h", " 3h", "3H", "-1h", ""] {
            #expect(throws: SecretStoreError(code: Self.invalid,
                                             message: "Invalid Duration \(duration). Specify the rotation window in hours, from 1h to 24h.")) {
                try Self.schedule("rate(1 day)", duration)
            }
        }
        #expect(try Self.schedule("rate(1 day)", "24h").durationMillis == Self.dayMillis)
        #expect(try Self.schedule("rate(4 hours)", "4h").durationMillis == 4 * Self.hourMillis)
        #expect(try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 3, duration: "2h")).durationMillis == 2 * Self.hourMillis)
        #expect(try Self.schedule("cron(0 22 * * ? *)", "2h").durationMillis == 2 * Self.hourMillis)
        #expect(try Self.schedule("cron(0 4/12 * * ? *)", "8h").durationMillis == 8 * Self.hourMillis)
        #expect(try Self.schedule("cron(0 0,20 * * ? *)", "4h").durationMillis == 4 * Self.hourMillis)
    }

    @Test(arguments: [
        ("rate(4 hours)", "5h"), ("rate(12 hours)", "13h"), ("cron(0 22 * * ? *)", "3h"), ("cron(0 23 * * ? *)", "2h"),
        ("cron(0 4/12 * * ? *)", "9h"), ("cron(0 0,20 * * ? *)", "5h"), ("cron(0 0,8,12 * * ? *)", "5h"),
    ])
    func windowsIntoTheNextDayOrWindowAreRefused(_ expression: String, _ duration: String) {
        #expect(throws: SecretStoreError(code: Self.invalid,
                                         message: "The rotation window must not extend into the next UTC day or into the next rotation window.")) {
            try Self.schedule(expression, duration)
        }
    }

    @Test func windowTooLongWithMinutes() {
        #expect(throws: SecretStoreError.windowTooLong) { try Self.schedule("rate(30 minutes)", "1h", floor: 60_000) }
    }

    // MARK: Windows

    @Test func windowsInDays() throws {
        let base = Self.at(2024, 6, 1, 13, 45)
        let automatic = try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 30))
        #expect(automatic.nextWindow(after: base) == RotationWindow(start: Self.at(2024, 7, 1), end: Self.at(2024, 7, 2)))
        #expect(try Self.window("rate(1 day)", after: base) == RotationWindow(start: Self.at(2024, 6, 2), end: Self.at(2024, 6, 3)))
        #expect(try Self.window("rate(10 days)", "3h", after: base) == RotationWindow(start: Self.at(2024, 6, 11), end: Self.at(2024, 6, 11, 3)))
        #expect(try Self.window("rate(1 day)", after: Self.at(2024, 6, 1)) == RotationWindow(start: Self.at(2024, 6, 2), end: Self.at(2024, 6, 3)))
        let withDuration = try RotationSchedule.parse(RotationRules(automaticallyAfterDays: 2, duration: "24h"))
        #expect(withDuration.nextWindow(after: base) == RotationWindow(start: Self.at(2024, 6, 3), end: Self.at(2024, 6, 4)))
    }

    @Test func windowsInHours() throws {
        #expect(try Self.window("rate(4 hours)", after: Self.at(2024, 6, 1, 13, 45))
                == RotationWindow(start: Self.at(2024, 6, 1, 17), end: Self.at(2024, 6, 1, 18)))
        #expect(try Self.window("rate(4 hours)", "4h", after: Self.at(2024, 6, 1, 13))
                == RotationWindow(start: Self.at(2024, 6, 1, 17), end: Self.at(2024, 6, 1, 21)))
        #expect(try Self.window("rate(6 hours)", after: Self.at(2024, 6, 1, 21, 30))
                == RotationWindow(start: Self.at(2024, 6, 2, 3), end: Self.at(2024, 6, 2, 4)))
        // The window stops at midnight.
        #expect(try Self.window("rate(4 hours)", "4h", after: Self.at(2024, 6, 1, 19, 59))
                == RotationWindow(start: Self.at(2024, 6, 1, 23), end: Self.at(2024, 6, 2)))
    }

    @Test func windowsInMinutes() throws {
        #expect(try Self.window("rate(15 minutes)", floor: 60_000, after: Self.at(2024, 6, 1, 13, 45) + 30_000)
                == RotationWindow(start: Self.at(2024, 6, 1, 14), end: Self.at(2024, 6, 1, 14, 15)))
        #expect(try Self.window("rate(90 minutes)", floor: 60_000, after: Self.at(2024, 6, 1, 13, 45))
                == RotationWindow(start: Self.at(2024, 6, 1, 15, 15), end: Self.at(2024, 6, 1, 16, 15)))
        #expect(try Self.window("rate(10 minutes)", floor: 60_000, after: Self.at(2024, 6, 1, 23, 55))
                == RotationWindow(start: Self.at(2024, 6, 2, 0, 5), end: Self.at(2024, 6, 2, 0, 15)))
        #expect(try Self.window("rate(1 minute)", floor: 60_000, after: Self.at(2024, 6, 1, 23, 59))
                == RotationWindow(start: Self.at(2024, 6, 2), end: Self.at(2024, 6, 2, 0, 1)))
    }

    @Test func cronWindows() throws {
        // In days: to the end of the day, or Duration.
        #expect(try Self.window("cron(0 16 L * ? *)", after: Self.at(2024, 2, 10))
                == RotationWindow(start: Self.at(2024, 2, 29, 16), end: Self.at(2024, 3, 1)))
        #expect(try Self.window("cron(0 16 L * ? *)", "3h", after: Self.at(2024, 2, 10))
                == RotationWindow(start: Self.at(2024, 2, 29, 16), end: Self.at(2024, 2, 29, 19)))
        #expect(try Self.window("cron(0 0 ? * SUN#1 *)", after: Self.at(2024, 6, 2))
                == RotationWindow(start: Self.at(2024, 7, 7), end: Self.at(2024, 7, 8)))
        // In hours: one hour, or Duration.
        #expect(try Self.window("cron(0 4/12 * * ? *)", after: Self.at(2024, 6, 1, 5))
                == RotationWindow(start: Self.at(2024, 6, 1, 16), end: Self.at(2024, 6, 1, 17)))
        #expect(try Self.window("cron(0 4/12 * * ? *)", "8h", after: Self.at(2024, 6, 1, 16))
                == RotationWindow(start: Self.at(2024, 6, 2, 4), end: Self.at(2024, 6, 2, 12)))
        // Strictly after: a rotation at the fire time waits for the next one.
        #expect(try Self.window("cron(0 10 * * ? *)", after: Self.at(2024, 6, 1, 10))
                == RotationWindow(start: Self.at(2024, 6, 2, 10), end: Self.at(2024, 6, 3)))
        // A cron that never fires again has no window.
        #expect(try Self.window("cron(0 0 30 FEB ? *)", after: Self.at(2024, 1, 1)) == nil)
    }

    @Test func windowsNeverPassMidnight() throws {
        let schedules = [
            try Self.schedule("rate(5 hours)", "5h"), try Self.schedule("rate(7 hours)"), try Self.schedule("rate(3 days)", "24h"),
            try Self.schedule("cron(0 0/4 * * ? *)", "4h"), try Self.schedule("cron(0 23 * * ? *)"),
            try Self.schedule("rate(25 minutes)", floor: 60_000), try Self.schedule("rate(4 hours)", "4h"),
        ]
        var base = Self.at(2024, 1, 1, 0, 7)
        for _ in 0..<500 {
            for schedule in schedules {
                let window = try #require(schedule.nextWindow(after: base))
                #expect(window.start > base && window.end > window.start, "\(schedule) after \(base)")
                #expect(window.end <= (window.start / Self.dayMillis + 1) * Self.dayMillis, "\(schedule) after \(base)")
                #expect(window.start % Self.hourMillis == 0 || schedule.kind == .minutes(25), "\(schedule) after \(base)")
            }
            base += 3 * Self.hourMillis + 17 * 60_000
        }
    }
}
