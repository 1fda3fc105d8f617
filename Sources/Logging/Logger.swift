import Foundation
import Platform
import Synchronization

/// Line-oriented operational log on standard error. Never given secret values: callers pass
/// names, ids and error descriptions only.
///
/// Bounded, whatever happens (see `LogThrottle` and `LogOutput`): lines are rate limited,
/// events that repeat (`repeated`) are summarized per key, and a standard error that is a
/// regular file is rotated at `maxBytes` (one previous file kept).
public final class Logger: Sendable {
    private struct State: ~Copyable {
        var throttle: LogThrottle
        var output: LogOutput
        var lastSummaryCheck = 0.0
    }

    private let state: Mutex<State>
    private let label: String
    /// The default bound on the log file: 64 MiB now, 64 MiB in `.1`.
    public static let defaultMaxBytes = 64 * 1024 * 1024

    public init(label: String, maxBytes: Int = Logger.defaultMaxBytes) {
        self.label = label
        state = Mutex(State(throttle: LogThrottle(), output: LogOutput(maxBytes: maxBytes)))
    }

    public func info(_ message: @autoclosure () -> String) { emit("info", message()) }
    public func error(_ message: @autoclosure () -> String) { emit("error", message()) }

    /// An error that may repeat without bound (a refused or failed connection): written the
    /// first time in each 10 s window for its `key`, then counted and summarized.
    ///
    /// - Parameters:
    ///   - key: what repeats, without what varies (e.g. "replication: refused a connection
    ///     from 127.0.0.1"); a summary line names it.
    ///   - message: the full line for the first occurrence.
    public func repeated(_ key: String, _ message: @autoclosure () -> String) {
        let now = MonotonicClock.seconds()
        let (write, summary) = state.withLock { $0.throttle.admitRepeated(key: key, now: now) }
        if let summary { emit("error", summary, now: now) }
        if write { emit("error", message(), now: now) }
        flushSummaries(now: now)
    }

    /// Writes the summaries of windows that have ended; cheap when none has (call it from a
    /// periodic tick, so that a flood that stops is still summarized).
    public func flushSummaries() { flushSummaries(now: MonotonicClock.seconds()) }

    func flushSummaries(now: Double) {
        let due = state.withLock { state -> [String] in
            guard now - state.lastSummaryCheck >= 1 else { return [] }
            state.lastSummaryCheck = now
            return state.throttle.dueSummaries(now: now)
        }
        for line in due { emit("error", line, now: now) }
    }

    /// Bytes written to the current log file and rotations done (nil sizes when standard
    /// error is not a file).
    public var outputStatus: (path: String?, size: Int, rotations: Int) {
        state.withLock { ($0.output.path, $0.output.size, $0.output.rotations) }
    }

    private func emit(_ level: String, _ message: String, now: Double = MonotonicClock.seconds()) {
        state.withLock { state in
            var preamble: [String] = []
            let admitted = state.throttle.admitLine(now: now, preamble: &preamble)
            guard admitted || !preamble.isEmpty else { return }  // dropped: no timestamp to format
            let stamp = Date().formatted(.iso8601)
            var text = ""
            for line in preamble { text += "\(stamp) error \(label): \(line)\n" }
            if admitted { text += "\(stamp) \(level) \(label): \(message)\n" }
            if !text.isEmpty { state.output.write(Array(text.utf8)) }
        }
    }
}
