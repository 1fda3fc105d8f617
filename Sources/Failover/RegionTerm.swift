/// One node's place in its region: its log's epoch history, the highest epoch it has heard of
/// (kept durably: a promise, like a Raft vote, never to take records of a lower epoch again),
/// and whether it is the primary.
///
/// ```
/// standby ──promote (epoch + 1, its record durable)──▶ primary
/// primary ──a higher epoch heard (a standby's hello, a fence, a forwarded write's answer)──▶ fenced
/// fenced  ──its divergent tail set aside, following the new primary──▶ standby
/// ```
///
/// A primary accepts a write only while no higher epoch is known to it; a node takes a record
/// only from an epoch at least the highest it has heard of. So once a promotion has fenced
/// enough standbys (``Promotion``), an old primary that has not heard of it can still append
/// records but never get them committed with `syncStandbys ≥ 1`.
public struct RegionTerm: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        case primary
        case standby
        /// Was primary; a higher epoch is known: refuses writes until it follows the new primary.
        case fenced
    }

    public let nodeId: String
    public private(set) var role: Role
    public private(set) var history: EpochHistory
    /// The highest epoch this node has heard of, for its region (durable).
    public private(set) var highestSeen: UInt64
    @_spi(Simulation) public var faults: FailoverFaults = []

    /// A node as it starts: `primary` when its configuration or its log's newest promotion
    /// record names it and no higher epoch is known; otherwise a standby.
    public init(nodeId: String, history: EpochHistory, highestSeen: UInt64, primary: Bool) {
        self.nodeId = nodeId
        self.history = history
        self.highestSeen = max(highestSeen, history.current)
        role = primary && self.highestSeen == history.current ? .primary : .standby
    }

    /// The epoch of this node's log (its newest record's writer).
    public var epoch: UInt64 { history.current }

    /// Whether a client write may be decided and appended here now.
    public var acceptsWrites: Bool { role == .primary && (highestSeen == history.current || faults.contains(.ignoreHigherEpoch)) }

    /// A message about this region carried `epoch` (a hello, an ack, a fence, a forwarded
    /// write's answer). Returns true when the caller must make `highestSeen` durable before
    /// answering (it rose). A primary that hears of a higher epoch is fenced at once.
    public mutating func observe(epoch: UInt64) -> Bool {
        guard epoch > highestSeen else { return false }
        highestSeen = epoch
        if role == .primary && !faults.contains(.ignoreHigherEpoch) { role = .fenced }
        return true
    }

    /// Whether records shipped by a primary of `epoch` (the one this node follows) may be
    /// appended: never from a primary of an epoch below the highest heard of (an old primary),
    /// and never by a primary. The records themselves may be of older epochs: a new primary
    /// ships its whole log.
    public func accepts(fromPrimaryAt epoch: UInt64) -> Bool {
        guard role != .primary else { return false }
        return epoch >= highestSeen || faults.contains(.standbyIgnoresFence)
    }

    /// Records appended from the primary followed: the history gains an epoch where one begins.
    public mutating func appended(epoch: UInt64, at lsn: UInt64) {
        if epoch > history.current { history.begin(epoch: epoch, at: lsn) }
        if epoch > highestSeen { highestSeen = epoch }
    }

    /// The records after `lsn` were set aside (the fork with the primary followed): the node
    /// follows as a standby from there.
    public mutating func truncated(after lsn: UInt64) {
        history = history.truncated(after: lsn)
        if role != .primary { role = .standby } else if highestSeen > history.current { role = .standby }
    }

    /// A fenced node that found its fork point and follows the new primary.
    public mutating func rejoin() {
        if role == .fenced { role = .standby }
    }

    /// This node becomes primary at `epoch` with its promotion record at `lsn` (durable before
    /// any write is accepted: the caller appends it and calls this once it is).
    public mutating func promoted(to epoch: UInt64, recordAt lsn: UInt64) {
        precondition(epoch > history.current || faults.contains(.promoteWithoutNewEpoch), "a promotion raises the epoch")
        if epoch > history.current { history.begin(epoch: epoch, at: lsn) }
        highestSeen = max(highestSeen, epoch)
        role = .primary
    }
}

/// Deliberately broken failover behaviours, for the simulator's own tests: each must be caught
/// by one of its checkers. Never set outside the simulator.
@_spi(Simulation) public struct FailoverFaults: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A primary that hears of a higher epoch goes on accepting writes.
    public static let ignoreHigherEpoch = FailoverFaults(rawValue: 1 << 0)
    /// A standby does not keep its fence: it goes on taking (and acknowledging, without telling
    /// of the higher epoch) the records of a primary of an epoch below the highest it heard of.
    public static let standbyIgnoresFence = FailoverFaults(rawValue: 1 << 1)
    /// A promotion keeps the epoch instead of raising it.
    public static let promoteWithoutNewEpoch = FailoverFaults(rawValue: 1 << 2)
    /// A promotion goes ahead when a reached node is further ahead or too few standbys answered.
    public static let promoteWhileBehind = FailoverFaults(rawValue: 1 << 3)
    /// A standby acknowledges records as it receives them, before they are durable.
    public static let acknowledgeOnReceipt = FailoverFaults(rawValue: 1 << 4)
    /// A fenced primary still answers the writes it had waiting as its standbys' acks commit
    /// them (the node answers them with an error at the fence and acknowledges nothing more).
    public static let fencedStillAcknowledges = FailoverFaults(rawValue: 1 << 5)

    public static let named: [(name: String, fault: FailoverFaults)] = [
        ("ignore-higher-epoch", .ignoreHigherEpoch),
        ("standby-ignores-fence", .standbyIgnoresFence),
        ("promote-without-new-epoch", .promoteWithoutNewEpoch),
        ("promote-while-behind", .promoteWhileBehind),
        ("acknowledge-on-receipt", .acknowledgeOnReceipt),
        ("fenced-still-acknowledges", .fencedStillAcknowledges),
    ]
}
