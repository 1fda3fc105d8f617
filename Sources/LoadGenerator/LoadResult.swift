import Foundation
import JSON

/// The figures of one run, as printed (one human line, or one JSON object).
public struct LoadResult: Sendable {
    public var label: String
    public var workload: Workload
    public var concurrency: Int
    public var threads: Int
    /// Measured requests completed (responses of any status, and transport failures).
    public var requests: Int
    /// Non-2xx responses and transport failures among them.
    public var errors: Int
    /// Requests re-sent because the server closed a reused connection before answering.
    public var retries: Int
    /// The measured phase's length: `--duration`, or until the last answer when the run ended
    /// early (a `--requests` cap, seeding done).
    public var seconds: Double
    /// Latencies of the measured responses, in nanoseconds.
    public var histogram: LatencyHistogram
    /// The generator's CPU over the measured phase, in percent of one core.
    public var cpuPercent: Double
    /// Processors online.
    public var cores: Int
    /// Mean CPU time to build and sign one request, in microseconds (part of `cpuPercent`;
    /// measured on a sample of the requests).
    public var buildMicros: Double
    public var firstError: ErrorSample?

    /// Requests that got a 2xx answer (or one the workload accepts).
    public var successes: Int { requests - errors }
    public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    func milliseconds(_ percentile: Double) -> Double { Double(histogram.value(atPercentile: percentile)) / 1e6 }

    /// The report for people.
    public var humanReport: String {
        let f = { (value: Double, digits: Int) in String(format: "%.\(digits)f", value) }
        var line = "\(label) \(workload.rawValue) c=\(concurrency) t=\(threads): \(requests) requests in \(f(seconds, 2)) s"
        line += " = \(f(requestsPerSecond, 1)) req/s, \(errors) errors"
        if retries > 0 { line += " (\(retries) re-sent after a server close)" }
        line += "\n  latency ms: p50 \(f(milliseconds(50), 3)) p90 \(f(milliseconds(90), 3)) p99 \(f(milliseconds(99), 3))"
        line += " p99.9 \(f(milliseconds(99.9), 3)) max \(f(Double(histogram.max == 0 ? 0 : histogram.max) / 1e6, 3))"
        line += " mean \(f(histogram.mean / 1e6, 3))"
        line += "\n  generator CPU: \(f(cpuPercent, 0))% of one core (\(cores) cores online);"
        line += " \(f(buildMicros, 1)) µs per request building\(workload.isSecretsManager ? " and signing" : "") it"
        if let firstError { line += "\n  first error: \(Self.clipped(firstError.description))" }
        return line
    }

    /// The report for scripts: exactly one JSON object.
    public var jsonReport: String {
        func number(_ value: Double, _ digits: Int) -> JSONValue { .number(String(format: "%.\(digits)f", value)) }
        var members: [(key: String, value: JSONValue)] = [
            ("target", .string(label)), ("workload", .string(workload.rawValue)),
            ("concurrency", .number(String(concurrency))), ("threads", .number(String(threads))),
            ("requests", .number(String(requests))), ("errors", .number(String(errors))),
            ("seconds", number(seconds, 3)), ("rps", number(requestsPerSecond, 1)),
            ("p50Ms", number(milliseconds(50), 3)), ("p90Ms", number(milliseconds(90), 3)),
            ("p99Ms", number(milliseconds(99), 3)), ("p999Ms", number(milliseconds(99.9), 3)),
            ("maxMs", number(Double(histogram.max) / 1e6, 3)), ("meanMs", number(histogram.mean / 1e6, 3)),
            ("cpuPercent", number(cpuPercent, 1)), ("cores", .number(String(cores))),
            ("buildUsPerRequest", number(buildMicros, 2)), ("retries", .number(String(retries))),
        ]
        if let firstError {
            var error: [(key: String, value: JSONValue)] = []
            if let status = firstError.status { error.append(("status", .number(String(status)))) }
            error.append(("message", .string(Self.clipped(firstError.message))))
            members.append(("firstError", .object(error)))
        }
        return JSONValue.object(members).serialized()
    }

    /// An error body, cut to a printable length.
    static func clipped(_ text: String) -> String {
        let oneLine = text.replacingOccurrences(of: "\n", with: " ")
        return oneLine.count > 500 ? String(oneLine.prefix(500)) + "…" : oneLine
    }
}
