import Foundation
import JSON

/// The figures of one `sm-replication-lag` run, as printed (human lines, or one JSON object).
public struct LagResult: Sendable {
    public var label: String
    public var rate: Double
    public var duration: Double
    public var secrets: Int
    /// Secrets written round robin at a time.
    public var hotSecrets: Int
    public var pollers: Int
    var summary: LagSummary
    /// How late each write was sent after its due time (the open loop's slip).
    var sendDelay: LatencyHistogram
    /// Writes per second actually sent: (writes − 1) / (last send − start).
    public var achievedRate: Double
    /// From the first write to the end of the drain.
    public var seconds: Double
    public var pollErrors: Int
    public var retries: Int
    /// The generator's CPU from the first write to the end, in percent of one core.
    public var cpuPercent: Double
    public var firstError: ErrorSample?

    /// Acknowledged writes the replica never showed within the drain.
    public var neverSeen: Int { summary.neverSeen }
    /// Writes the primary refused, that failed in transport, or that were never answered.
    public var writeErrors: Int { summary.failed + summary.unanswered }
    /// Writes answered 2xx.
    public var writesAcknowledged: Int { summary.sent - summary.failed - summary.unanswered }

    static func ms(_ h: LatencyHistogram, _ p: Double) -> Double { Double(h.value(atPercentile: p)) / 1e6 }

    /// The report for people.
    public var humanReport: String {
        let f = { (value: Double, digits: Int) in String(format: "%.\(digits)f", value) }
        let s = summary
        var text = "\(label) sm-replication-lag \(f(rate, 0)) writes/s for \(f(duration, 1)) s: \(s.sent) sent"
        text += " (\(f(achievedRate, 1))/s achieved), \(writesAcknowledged) acknowledged, \(writeErrors) errors"
        text += "\n  primary write ms: p50 \(f(Self.ms(s.writeLatency, 50), 3)) p99 \(f(Self.ms(s.writeLatency, 99), 3))"
        text += " max \(f(Double(s.writeLatency.max) / 1e6, 3)); sent late ms: p99 \(f(Self.ms(sendDelay, 99), 3)) max \(f(Double(sendDelay.max) / 1e6, 3))"
        text += "\n  replication lag ms: p50 \(f(Self.ms(s.lag, 50), 3)) p99 \(f(Self.ms(s.lag, 99), 3)) max \(f(Double(s.lag.max) / 1e6, 3))"
        text += "; \(s.neverSeen) never seen, \(s.seenBeforeAcknowledged) seen before the primary's answer"
        text += "\n  polling: \(s.polls) polls on \(pollers) connections, interval ms: p50 \(f(Self.ms(s.pollInterval, 50), 3))"
        text += " p99 \(f(Self.ms(s.pollInterval, 99), 3)); lag resolution ms: p50 \(f(Self.ms(s.resolution, 50), 3))"
        text += " p99 \(f(Self.ms(s.resolution, 99), 3)); \(pollErrors) poll errors, \(s.regressions) regressions, \(s.anomalies) anomalies"
        text += "\n  generator CPU: \(f(cpuPercent, 0))% of one core"
        if let firstError { text += "\n  first error: \(LoadResult.clipped(firstError.description))" }
        return text
    }

    /// The report for scripts: exactly one JSON object.
    public var jsonReport: String {
        func number(_ value: Double, _ digits: Int) -> JSONValue { .number(String(format: "%.\(digits)f", value)) }
        func int(_ value: Int) -> JSONValue { .number(String(value)) }
        let s = summary
        var members: [(key: String, value: JSONValue)] = [
            ("target", .string(label)), ("workload", .string(Workload.smReplicationLag.rawValue)),
            ("rate", number(rate, 1)), ("duration", number(duration, 3)), ("secrets", int(secrets)), ("hotSecrets", int(hotSecrets)), ("pollers", int(pollers)),
            ("writes", int(s.sent)), ("acknowledged", int(writesAcknowledged)), ("writeErrors", int(writeErrors)),
            ("achievedRate", number(achievedRate, 1)), ("seconds", number(seconds, 3)),
            ("writeP50Ms", number(Self.ms(s.writeLatency, 50), 3)), ("writeP99Ms", number(Self.ms(s.writeLatency, 99), 3)),
            ("writeMaxMs", number(Double(s.writeLatency.max) / 1e6, 3)),
            ("lagP50Ms", number(Self.ms(s.lag, 50), 3)), ("lagP99Ms", number(Self.ms(s.lag, 99), 3)),
            ("lagMaxMs", number(Double(s.lag.max) / 1e6, 3)),
            ("pollIntervalP50Ms", number(Self.ms(s.pollInterval, 50), 3)), ("pollIntervalP99Ms", number(Self.ms(s.pollInterval, 99), 3)),
            ("resolutionP50Ms", number(Self.ms(s.resolution, 50), 3)), ("resolutionP99Ms", number(Self.ms(s.resolution, 99), 3)),
            ("sendLateP99Ms", number(Self.ms(sendDelay, 99), 3)), ("sendLateMaxMs", number(Double(sendDelay.max) / 1e6, 3)),
            ("neverSeen", int(s.neverSeen)), ("seenBeforeAcknowledged", int(s.seenBeforeAcknowledged)),
            ("polls", int(s.polls)), ("pollErrors", int(pollErrors)), ("regressions", int(s.regressions)),
            ("anomalies", int(s.anomalies)), ("retries", int(retries)), ("cpuPercent", number(cpuPercent, 1)),
            ("timelineSliceSeconds", number(0.5, 1)),
            ("timeline", .array(s.timeline.enumerated().map { i, slice in
                .object([("t", number(Double(i) * 0.5, 1)), ("writes", int(slice.writes)),
                         ("maxWriteMs", number(Double(slice.maxWriteNs) / 1e6, 2)), ("maxLagMs", number(Double(slice.maxLagNs) / 1e6, 2))])
            })),
        ]
        if let firstError {
            var error: [(key: String, value: JSONValue)] = []
            if let status = firstError.status { error.append(("status", .number(String(status)))) }
            error.append(("message", .string(LoadResult.clipped(firstError.message))))
            members.append(("firstError", .object(error)))
        }
        return JSONValue.object(members).serialized()
    }
}
