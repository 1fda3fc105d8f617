import Foundation
import Synchronization

/// Line-oriented operational log on standard error. Never given secret values: callers pass
/// names, ids and error descriptions only.
public final class Logger: Sendable {
    private let lock = Mutex<Void>(())
    private let label: String

    public init(label: String) { self.label = label }

    public func info(_ message: @autoclosure () -> String) { emit("info", message()) }
    public func error(_ message: @autoclosure () -> String) { emit("error", message()) }

    private func emit(_ level: String, _ message: String) {
        let line = "\(Date().formatted(.iso8601)) \(level) \(label): \(message)\n"
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}

/// The IMF-fixdate form HTTP's Date header uses, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String { format(epochSeconds: Int(Date().timeIntervalSince1970)) }

    static func format(epochSeconds: Int) -> String {
        var t = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
