/// What the operational log writes when events repeat: the pure part of `Logger` (no clock, no
/// output; times are passed in).
///
/// Two bounds, because a flood of refused connections once grew a node's log by 213 MB in two
/// minutes, on the disk that holds the journal and the audit trail:
///
/// - **Repeated events are summarized.** An event with a key (say "replication: refused a
///   connection from 10.0.0.7") is written the first time in a window of `window` seconds;
///   the next ones in that window are only counted, and when the window ends one line says how
///   many there were. At most `maxKeys` keys are followed; past that, events share one key.
/// - **Lines are rate limited.** Every line, summarized or not, spends a token of a bucket that
///   holds `burst` and refills at `linesPerSecond`; a line without a token is dropped and
///   counted, and the count is written once tokens are back.
package struct LogThrottle {
    /// The summarizing window, in seconds.
    package let window: Double
    /// Keys followed at once.
    package let maxKeys: Int
    /// Lines written in a burst, and the sustained rate.
    package let burst: Double
    package let linesPerSecond: Double

    private struct Repeat {
        var windowStart: Double
        var suppressed: Int
    }

    private var repeats: [String: Repeat] = [:]
    private var tokens: Double
    private var refilledAt: Double?
    /// Lines dropped by the rate limit since the last report of them.
    private(set) var dropped = 0
    /// The key that stands for every key past `maxKeys`.
    package static let overflowKey = "(other repeated events)"

    package init(window: Double = 10, maxKeys: Int = 1024, burst: Double = 200, linesPerSecond: Double = 20) {
        precondition(window > 0 && maxKeys > 0 && burst >= 1 && linesPerSecond > 0, "log throttle bounds must be positive")
        self.window = window
        self.maxKeys = maxKeys
        self.burst = burst
        self.linesPerSecond = linesPerSecond
        tokens = burst
    }

    /// Whether a plain line may be written now; the lines to write first (a report of dropped
    /// lines) come back in `preamble`.
    package mutating func admitLine(now: Double, preamble: inout [String]) -> Bool {
        refill(now: now)
        if dropped > 0 && tokens >= 2 {
            tokens -= 1
            preamble.append("\(dropped) log line\(dropped == 1 ? "" : "s") dropped: more than \(Int(linesPerSecond)) a second")
            dropped = 0
        }
        guard tokens >= 1 else {
            dropped += 1
            return false
        }
        tokens -= 1
        return true
    }

    /// Whether a repeated event with `key` is written now (the first in its window); if not,
    /// it is counted for the window's summary. When the event opens a new window, the summary
    /// of the key's previous one (if it suppressed anything) comes back to be written first.
    package mutating func admitRepeated(key: String, now: Double) -> (write: Bool, summary: String?) {
        var key = key
        if repeats[key] == nil && repeats.count >= maxKeys { key = Self.overflowKey }
        var summary: String?
        if var entry = repeats[key] {
            if now - entry.windowStart < window {
                entry.suppressed += 1
                repeats[key] = entry
                return (false, nil)
            }
            summary = Self.summary(key, entry, now: now)
        }
        repeats[key] = Repeat(windowStart: now, suppressed: 0)
        return (true, summary)
    }

    private static func summary(_ key: String, _ entry: Repeat, now: Double) -> String? {
        guard entry.suppressed > 0 else { return nil }
        return "\(key): \(entry.suppressed) more in the last \(seconds(now - entry.windowStart)) s"
    }

    /// Summaries of the windows that have ended: "KEY: N more in the last W s". Keys whose
    /// window ended with nothing suppressed are forgotten silently.
    package mutating func dueSummaries(now: Double) -> [String] {
        var lines: [String] = []
        for (key, entry) in repeats where now - entry.windowStart >= window {
            repeats[key] = nil
            if let line = Self.summary(key, entry, now: now) { lines.append(line) }
        }
        return lines.sorted()
    }

    /// Keys followed now.
    package var followedKeys: Int { repeats.count }

    private mutating func refill(now: Double) {
        if let last = refilledAt, now > last {
            tokens = min(burst, tokens + (now - last) * linesPerSecond)
        }
        refilledAt = max(refilledAt ?? now, now)
    }

    private static func seconds(_ value: Double) -> String {
        value < 10 ? String(Double(Int(value * 10)) / 10) : String(Int(value))
    }
}
