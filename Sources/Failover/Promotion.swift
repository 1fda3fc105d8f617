public import Replication

/// `strongroom promote --node ID`: whether a standby may become its region's primary, decided
/// after the candidate has fenced every node it reached with the new epoch (each made that
/// epoch durable and answered with where its log ends).
///
/// Why it loses no committed write with `syncStandbys = k ≥ 1` in a region of `n` nodes: a
/// committed record is durable on the primary and `k` standbys, `k + 1` nodes; the candidate
/// and the nodes it fenced are at least `n − k`, so at least one of them holds it, and none of
/// them takes a record of the old epoch after the fence. The candidate's log is at least as far ahead as every reached node's (epoch
/// of the newest record first, then LSN), so by log matching it holds that record too.
public enum Promotion {
    /// A node the candidate reached, as its fence answer says.
    public struct Reached: Sendable, Hashable {
        public var nodeId: String
        /// Where its log ends: the newest record's epoch and LSN.
        public var end: LogPosition
        /// The highest epoch it had heard of before the fence.
        public var highestSeen: UInt64

        public init(nodeId: String, end: LogPosition, highestSeen: UInt64) {
            self.nodeId = nodeId
            self.end = end
            self.highestSeen = highestSeen
        }
    }

    public enum Decision: Sendable, Hashable {
        /// Append the promotion record at `epoch`; `mayLose` says what a forced promotion may
        /// have given up (nil: nothing committed is lost).
        case promote(epoch: UInt64, mayLose: String?)
        case refuse(String)
    }

    /// The most nodes a region may have: epochs are numbered per node, modulo this.
    public static let maxRegionNodes: UInt64 = 16

    /// The epoch a promotion fences with: the first above every epoch the candidate or the nodes
    /// it reached have heard of that belongs to the candidate. Epoch `e` belongs to the node whose
    /// ordinal in the region (0 for the configured first primary) is `(e - 1) % 16`, as Paxos
    /// numbers its ballots: two promotions that cannot see each other (a forced one, or two
    /// operators in two halves of a partition) never choose the same epoch, so an epoch always
    /// has one writer and two logs holding a record of one epoch at one LSN hold the same record.
    public static func nextEpoch(candidateOrdinal: Int, candidateHighestSeen: UInt64, reachedHighestSeen: [UInt64]) -> UInt64 {
        nextEpoch(candidateOrdinal: candidateOrdinal, candidateHighestSeen: candidateHighestSeen, reachedHighestSeen: reachedHighestSeen, faults: [])
    }

    @_spi(Simulation) public static func nextEpoch(
        candidateOrdinal: Int, candidateHighestSeen: UInt64, reachedHighestSeen: [UInt64], faults: FailoverFaults
    ) -> UInt64 {
        precondition(candidateOrdinal >= 0 && UInt64(candidateOrdinal) < maxRegionNodes, "a region node's ordinal is 0..<16")
        let highest = (reachedHighestSeen + [candidateHighestSeen]).max()!
        if faults.contains(.promoteWithoutNewEpoch) { return highest }
        let owner = UInt64(candidateOrdinal)
        // The first e > highest with (e - 1) % 16 == owner.
        let base = (highest / maxRegionNodes) * maxRegionNodes + 1 + owner
        return base > highest ? base : base + maxRegionNodes
    }

    /// The ordinal of the node an epoch belongs to.
    public static func owner(of epoch: UInt64) -> Int { Int((max(epoch, 1) - 1) % maxRegionNodes) }

    /// - Parameters:
    ///   - candidate: the standby to promote and where its log ends.
    ///   - reached: the other nodes that answered the fence (standbys, or the old primary).
    ///   - regionNodes: the region's nodes, the candidate and the primary included.
    ///   - syncStandbys: `k`.
    ///   - epoch: the epoch fenced with (``nextEpoch(candidateHighestSeen:reachedHighestSeen:)``).
    public static func decide(
        candidate: String, end: LogPosition, reached: [Reached], regionNodes: Int, syncStandbys: Int, epoch: UInt64, force: Bool
    ) -> Decision {
        decide(candidate: candidate, end: end, reached: reached, regionNodes: regionNodes, syncStandbys: syncStandbys, epoch: epoch,
               force: force, faults: [])
    }

    /// The decision with deliberately broken behaviours (the simulator's own tests).
    @_spi(Simulation) public static func decide(
        candidate: String, end: LogPosition, reached: [Reached], regionNodes: Int, syncStandbys: Int, epoch: UInt64,
        force: Bool, faults: FailoverFaults
    ) -> Decision {
        let ahead = reached.filter { $0.end > end }.sorted { ($0.end, $0.nodeId) > ($1.end, $1.nodeId) }
        let answered = 1 + reached.count
        let quorum = syncStandbys >= 1 ? regionNodes - syncStandbys : 1
        var problems: [String] = []
        if let furthest = ahead.first {
            let records = furthest.end.epoch == end.epoch ? "\(furthest.end.lsn - end.lsn) records" : "records of epoch \(furthest.end.epoch)"
            problems.append("\(furthest.nodeId) is further ahead (its log ends at \(furthest.end), \(candidate)'s at \(end)): "
                + "promoting \(candidate) would give up \(records)")
        }
        if answered < quorum {
            problems.append("only \(answered) of the region's \(regionNodes) nodes answered; with syncStandbys \(syncStandbys) a committed "
                + "write may be held only by the \(regionNodes - answered) not reached (at least \(quorum) must answer)")
        }
        if problems.isEmpty || faults.contains(.promoteWhileBehind) {
            return .promote(epoch: epoch, mayLose: nil)
        }
        guard force else {
            return .refuse(problems.joined(separator: "; ") + ". Promote the node that is furthest ahead, bring the others back, "
                + "or use --force to accept the loss.")
        }
        return .promote(epoch: epoch, mayLose: "forced: " + problems.joined(separator: "; ")
            + "; and any write a primary not reached acknowledges before it hears of epoch \(epoch)")
    }
}
