/// The source's view of one subscriber on one link: what was shipped, what is acknowledged as
/// durable, when it was last heard, and how far behind it is in records and in milliseconds.
/// Times are the source's wall clock in milliseconds, passed in.
///
/// Lag in milliseconds is the age of the oldest source record the subscriber has not
/// acknowledged. The source notes its log's growth with ``sourceAdvanced(to:atMillis:)``; the
/// age is measured at the granularity of those notes, from at most ``maximumSamples`` of them
/// (when they are full, the newest note absorbs later growth and keeps its older time, so the
/// lag is overstated, never understated).
public struct SubscriberProgress: Sendable, Hashable {
    /// The most growth notes kept.
    public static let maximumSamples = 64

    /// When the source's log had grown to an LSN: records up to `lsn` existed at `atMillis`.
    private struct Sample: Sendable, Hashable {
        var lsn: UInt64
        var atMillis: Int64
    }

    /// The subscriber's node id.
    public let nodeId: String
    /// The subscriber's region.
    public let region: String
    /// The newest position sent (records or the last snapshot part's position).
    public private(set) var shipped: LogPosition
    /// The newest position the subscriber acknowledged as durable.
    public private(set) var acked: LogPosition
    /// When the last ack arrived; nil before the first.
    public private(set) var lastAckAtMillis: Int64?
    /// When any frame last arrived from the subscriber; nil before the first.
    public private(set) var lastHeardAtMillis: Int64?
    /// The newest source position noted by ``sourceAdvanced(to:atMillis:)``.
    public private(set) var source: LogPosition
    /// Growth notes with LSNs beyond `acked`, increasing in LSN.
    private var samples: [Sample] = []

    /// A subscriber whose link starts at `position`: its hello's position when it streams,
    /// ``LogPosition/start`` when it gets a snapshot (which replaces whatever it had). The
    /// source is at `source`, noted at `nowMillis`.
    public init(nodeId: String, region: String, position: LogPosition, source: LogPosition, nowMillis: Int64) {
        self.nodeId = nodeId
        self.region = region
        shipped = position
        acked = position
        self.source = source
        if source.lsn > position.lsn { samples = [Sample(lsn: source.lsn, atMillis: nowMillis)] }
    }

    /// Records that everything up to `position` was sent. Positions only move forward.
    public mutating func recordShipped(through position: LogPosition) {
        precondition(position >= shipped, "shipped position going back from \(shipped) to \(position)")
        shipped = position
    }

    /// Records an ack; any frame from the subscriber also counts as hearing from it.
    ///
    /// - Throws: ``ProgressError`` when the ack goes back or claims more than was shipped (the
    ///   link is broken and must close).
    public mutating func recordAck(_ position: LogPosition, atMillis: Int64) throws(ProgressError) {
        guard position >= acked else {
            throw ProgressError("\(nodeId) acknowledged \(position) after \(acked)")
        }
        guard position <= shipped else {
            throw ProgressError("\(nodeId) acknowledged \(position) beyond what was shipped (\(shipped))")
        }
        acked = position
        lastAckAtMillis = atMillis
        heard(atMillis: atMillis)
        if let keep = samples.firstIndex(where: { $0.lsn > position.lsn }) {
            samples.removeFirst(keep)
        } else {
            samples.removeAll()
        }
    }

    /// Records that a frame (heartbeat or other) arrived from the subscriber.
    public mutating func heard(atMillis: Int64) {
        lastHeardAtMillis = max(lastHeardAtMillis ?? atMillis, atMillis)
    }

    /// Notes that the source's log reached `position` at `atMillis` (on each append, or each
    /// time the shipper looks). Older or equal positions are ignored.
    public mutating func sourceAdvanced(to position: LogPosition, atMillis: Int64) {
        guard position.lsn > source.lsn else { return }
        source = position
        guard position.lsn > acked.lsn else { return }
        if samples.count < Self.maximumSamples {
            samples.append(Sample(lsn: position.lsn, atMillis: atMillis))
        } else {
            samples[samples.count - 1].lsn = position.lsn
        }
    }

    /// Records of the source's log (counted in LSNs; some may not be routed to this
    /// subscriber) after what the subscriber acknowledged: 0 when it has caught up.
    public func lagRecords(sourceLSN: UInt64) -> UInt64 {
        sourceLSN > acked.lsn ? sourceLSN - acked.lsn : 0
    }

    /// Records sent and not yet acknowledged (in LSNs).
    public var inFlightRecords: UInt64 { shipped.lsn > acked.lsn ? shipped.lsn - acked.lsn : 0 }

    /// The age of the oldest source record the subscriber has not acknowledged, as of
    /// `nowMillis`; 0 when it has acknowledged everything noted (a clock going back gives 0).
    public func lagMillis(nowMillis: Int64) -> Int64 {
        guard let oldest = samples.first else { return 0 }
        let (age, overflow) = nowMillis.subtractingReportingOverflow(oldest.atMillis)
        return overflow ? (nowMillis > oldest.atMillis ? .max : 0) : max(0, age)
    }

    /// Milliseconds since anything arrived from the subscriber, counting from `sinceMillis`
    /// (the link's start) before the first frame.
    public func silentMillis(nowMillis: Int64, sinceMillis: Int64) -> Int64 {
        let last = lastHeardAtMillis ?? sinceMillis
        let (silence, overflow) = nowMillis.subtractingReportingOverflow(last)
        return overflow ? (nowMillis > last ? .max : 0) : max(0, silence)
    }
}

/// A subscriber broke the protocol's ordering (an ack going back, or beyond what was shipped).
public struct ProgressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What happened, for the log.
    public var message: String

    /// An error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
