/// A primary's commit position with synchronous standbys (`syncStandbys: k`): a record is
/// committed once it is durable here and on `k` standbys. With `k = 0` a record is committed
/// once it is durable here (asynchronous: a promotion may lose what the standbys had not
/// received). Committed records are the only ones answered to a client, shown to readers and
/// shipped to other regions, so no other region ever holds a write this region may lose.
///
/// Standbys acknowledge the LSNs of this primary's log they hold durably; their links check
/// where their logs part from this one before anything is shipped, so an acknowledged LSN means
/// this primary's record. The committed position never goes back, even when a standby's
/// acknowledgement does (its disk replaced, its link starting over lower).
public struct SyncCommit: Sendable, Hashable {
    /// `k`: the standbys that must hold a record before it is committed.
    public let required: Int
    /// The newest LSN durable in this node's own log.
    public private(set) var durable: UInt64
    /// Each standby's newest acknowledged LSN, by node id.
    public private(set) var acknowledged: [String: UInt64] = [:]
    public private(set) var committed: UInt64

    /// `durable`: what this node's log holds as it becomes primary (committed by definition: a
    /// promotion starts from what the standbys it reached agreed was the furthest log).
    public init(required: Int, durable: UInt64) {
        precondition(required >= 0, "syncStandbys is at least 0")
        self.required = required
        self.durable = durable
        committed = durable
    }

    /// This node's log is durable through `lsn`. Returns the committed LSN if it moved.
    public mutating func localDurable(_ lsn: UInt64) -> UInt64? {
        durable = max(durable, lsn)
        return advance()
    }

    /// A standby acknowledged `lsn` as durable. Returns the committed LSN if it moved.
    public mutating func acknowledged(by node: String, through lsn: UInt64) -> UInt64? {
        acknowledged[node] = lsn
        return advance()
    }

    /// The standby's link ended; its last acknowledgement still counts (its log keeps what it
    /// made durable) until a new link says otherwise.
    public mutating func linkStarted(_ node: String, at lsn: UInt64) {
        acknowledged[node] = lsn
    }

    /// The LSN held by `required` standbys and this node, as it stands now.
    public var heldBySync: UInt64 {
        guard required > 0 else { return durable }
        let held = acknowledged.values.sorted(by: >)
        guard held.count >= required else { return 0 }
        return min(durable, held[required - 1])
    }

    private mutating func advance() -> UInt64? {
        let candidate = heldBySync
        guard candidate > committed else { return nil }
        committed = candidate
        return committed
    }

    /// Whether a write waiting since `sinceMillis` for its commit has waited too long
    /// (`boundMillis`): it then fails with a retryable error, its outcome unknown to the client
    /// (it may still commit; a retry with the same ClientRequestToken finds it).
    public static func waitExpired(sinceMillis: Int64, nowMillis: Int64, boundMillis: Int64) -> Bool {
        nowMillis - sinceMillis >= boundMillis
    }
}
