/// Where a subscriber at `position` starts: streaming after it, or a snapshot first.
public enum CatchUp: Sendable, Hashable {
    /// Ship the source's records after this position (the subscriber's own).
    case stream(after: LogPosition)
    /// Ship a snapshot first; the reason is for the log.
    case snapshot(reason: String)
}

/// The pure decisions of replication.
public enum ReplicationDecisions {
    /// How a subscriber catches up with a source.
    ///
    /// | subscriber                                            | answer                      |
    /// |-------------------------------------------------------|-----------------------------|
    /// | nil (it has nothing of the log)                       | snapshot                    |
    /// | a later epoch than the source's, or an LSN beyond it  | snapshot (histories differ) |
    /// | the source's LSN (≥ 1) in another epoch               | snapshot (histories differ) |
    /// | LSN + 1 < `oldestRetainedLSN`                          | snapshot (compacted)        |
    /// | otherwise                                             | stream after its position   |
    ///
    /// At LSN 0 there is no record, so a subscriber there with an older epoch streams from the
    /// start when nothing is compacted. Positions alone cannot prove that a subscriber behind
    /// the source shares its history (a fork after a promotion): the epochs of the records
    /// streamed after it are the next check.
    ///
    /// - Parameters:
    ///   - subscriber: the subscriber's durable position in the source's log (nil: nothing).
    ///   - source: the source's newest durable position.
    ///   - oldestRetainedLSN: the first LSN the source can still read (records before it are
    ///     compacted into a snapshot); 0 or 1 when nothing is compacted.
    public static func catchUp(subscriber: LogPosition?, source: LogPosition, oldestRetainedLSN: UInt64) -> CatchUp {
        guard let subscriber else {
            return .snapshot(reason: "the subscriber has nothing of the log")
        }
        if subscriber.epoch > source.epoch || subscriber.lsn > source.lsn {
            return .snapshot(reason: "the subscriber at \(subscriber) is ahead of the source at \(source)")
        }
        if subscriber.lsn == source.lsn && subscriber.lsn != 0 && subscriber.epoch != source.epoch {
            return .snapshot(reason: "the subscriber at \(subscriber) and the source at \(source) hold different histories")
        }
        // It needs LSN + 1 onward; `oldest - 1` cannot underflow and `lsn + 1` below cannot overflow.
        let oldest = max(oldestRetainedLSN, 1)
        if subscriber.lsn < oldest - 1 {
            return .snapshot(reason: "the subscriber at \(subscriber) needs LSN \(subscriber.lsn + 1), compacted (oldest retained \(oldest))")
        }
        return .stream(after: subscriber)
    }
}

extension ReplicationDecisions {
    /// How far the acknowledged position may run ahead of the logged one before a replica logs
    /// it on its own while its link is up.
    public static let positionLogGap: UInt64 = 1024

    /// When a replica considers logging its acknowledged position.
    public enum PositionCheck: Sendable, Hashable {
        /// Once a heartbeat period while the link is up.
        case periodic
        /// The link ended and the node goes on (a cut, a timeout, the source restarting): the
        /// next link starts from the acknowledged position kept in memory, not the logged one.
        case linkEnded
        /// This node is stopping: what is not logged now is forgotten.
        case nodeStopping
    }

    /// Whether a replica logs its acknowledged position on its own (a record of the position
    /// alone). Records with nothing for its region are acknowledged without being logged, so
    /// the logged position falls behind; a source that compacts its log past it would answer
    /// the next start with a whole snapshot.
    ///
    /// - `.periodic`: once it is `positionLogGap` records behind (or the epoch moved). A smaller
    ///   gap must not do: the position record is itself a record of this region's log, which
    ///   its peers receive with nothing for them, so logging on every small gap would make two
    ///   idle regions log each other's position records forever.
    /// - `.linkEnded`: never, for the same reason with flapping links (the next link resumes
    ///   from memory).
    /// - `.nodeStopping`: whenever it is behind at all (once per stop, and the one moment the
    ///   position in memory would be lost).
    public static func shouldLogPosition(acknowledged: LogPosition?, logged: LogPosition?, check: PositionCheck) -> Bool {
        guard let acknowledged, acknowledged.lsn > 0, check != .linkEnded else { return false }
        let logged = logged ?? .start
        guard logged < acknowledged else { return false }
        if acknowledged.epoch != logged.epoch { return true }
        return acknowledged.lsn - logged.lsn >= (check == .nodeStopping ? 1 : positionLogGap)
    }

    /// Where a replica's next link to a source starts: its logged position, or the position it
    /// acknowledged on an earlier link of this process when that is further (the records in
    /// between had nothing for it, or they would have been logged before being acknowledged).
    public static func resumePosition(logged: LogPosition?, acknowledged: LogPosition?) -> LogPosition? {
        guard let acknowledged else { return logged }
        guard let logged else { return acknowledged.lsn > 0 ? acknowledged : nil }
        return max(logged, acknowledged)
    }
}
