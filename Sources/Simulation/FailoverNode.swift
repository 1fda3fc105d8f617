@_spi(Simulation) import Failover
import Replication

/// One record of a simulated region log: the epoch that wrote it and what it holds (a client
/// write's operation number, or a promotion).
struct FailoverRecord: Hashable, CustomStringConvertible {
    enum Content: Hashable {
        case write(operation: Int)
        /// The promotion record a new primary appends first (its node index).
        case promotion(node: Int)
    }

    var epoch: UInt64
    var content: Content

    var description: String {
        switch content {
        case .write(let operation): "\(epoch):w\(operation)"
        case .promotion(let node): "\(epoch):p\(node)"
        }
    }
}

/// A client write waiting for its commit on the primary that appended it.
struct WaitingWrite {
    var operation: Int
    var lsn: UInt64
    var epoch: UInt64
    var sinceMillis: Int64
}

/// One node of the simulated region. What survives a crash: `log` (the durable records),
/// `highestSeen` (the fence promise) and `quarantine` (a divergent tail set aside). Everything
/// else is the process's memory and is rebuilt at restart from those, as a real node rebuilds
/// its ``RegionTerm`` from its log and its epoch file.
final class FailoverNode {
    let index: Int
    let nodeId: String
    let faults: FailoverFaults

    // Durable.
    var log: [FailoverRecord] = []
    var highestSeen: UInt64 = 1
    var quarantine: [FailoverRecord] = []

    // The process.
    var up = true
    var incarnation = 0
    var term: RegionTerm
    /// Appended (or received) and not yet durable, after `log`.
    var pending: [FailoverRecord] = []
    /// A promotion record among `pending`: the epoch it begins.
    var promotingTo: UInt64?
    /// Between a promotion's fence and its decision: the epoch it fenced with (the candidate
    /// still follows the old primary, catching up; that epoch echoed back is no news).
    var catchingUp: UInt64?
    /// When this node, as primary, was fenced (it serves its last records a while longer).
    var fencedAtMillis: Int64?
    var sync: SyncCommit?
    var waiting: [WaitingWrite] = []
    /// The primary this standby follows, once its hello was welcomed; the epoch it welcomed at.
    var following: (node: Int, epoch: UInt64)?
    /// As primary: per standby, the next LSN to send and when an ack last moved it on.
    var nextToSend: [Int: UInt64] = [:]
    var lastProgressMillis: [Int: Int64] = [:]
    /// As primary: per standby, the newest LSN its current link acknowledged (from the fork point on).
    var linkAcknowledged: [Int: UInt64] = [:]
    var flushScheduled = false
    var slowDiskUntil: Int64 = 0

    init(index: Int, primary: Bool, faults: FailoverFaults) {
        self.index = index
        nodeId = "node-\(index)"
        self.faults = faults
        term = RegionTerm(nodeId: "node-\(index)", history: EpochHistory(), highestSeen: 1, primary: primary)
        term.faults = faults
    }

    var durableEnd: UInt64 { UInt64(log.count) }
    var end: UInt64 { UInt64(log.count + pending.count) }

    /// Where the durable log ends: its newest record's epoch and LSN.
    var durablePosition: LogPosition { LogPosition(epoch: log.last?.epoch ?? 0, lsn: durableEnd) }

    func record(at lsn: UInt64) -> FailoverRecord? {
        guard lsn >= 1 else { return nil }
        let index = Int(lsn - 1)
        if index < log.count { return log[index] }
        return index - log.count < pending.count ? pending[index - log.count] : nil
    }

    /// The history of the durable log, as recovery derives it from the records' epochs.
    static func history(of records: [FailoverRecord]) -> EpochHistory {
        var history = EpochHistory()
        for (index, record) in records.enumerated() where record.epoch > history.current {
            history.begin(epoch: record.epoch, at: UInt64(index + 1))
        }
        return history
    }

    /// The process dies: memory is gone, the disk keeps `log`, `highestSeen`, `quarantine`.
    func crash() {
        up = false
        incarnation += 1
        pending = []
        promotingTo = nil
        catchingUp = nil
        fencedAtMillis = nil
        sync = nil
        waiting = []
        following = nil
        nextToSend = [:]
        lastProgressMillis = [:]
        linkAcknowledged = [:]
        flushScheduled = false
    }

    /// Starts again from the disk: primary only if its log's newest epoch was begun by its own
    /// promotion record (or it is the configured first primary and epoch 1 is the newest) and
    /// no higher epoch is known.
    func restart(configuredPrimary: Bool, syncStandbys: Int) {
        up = true
        let history = Self.history(of: log)
        var mine = configuredPrimary && history.current == 1
        if let first = history.starts.last, first.epoch > 1, let record = record(at: first.firstLSN),
           case .promotion(let node) = record.content {
            mine = node == index
        }
        term = RegionTerm(nodeId: nodeId, history: history, highestSeen: highestSeen, primary: mine)
        term.faults = faults
        if term.role == .primary { sync = SyncCommit(required: syncStandbys, durable: durableEnd) }
    }

    /// Raises the durable fence promise; returns whether it rose. A follower of an older
    /// epoch stops following (its records are refused from now on).
    @discardableResult
    func observe(epoch: UInt64) -> Bool {
        if let catchingUp, epoch == catchingUp { return false }
        let rose = term.observe(epoch: epoch)
        highestSeen = max(highestSeen, term.highestSeen)
        if let following, following.epoch < highestSeen && !faults.contains(.standbyIgnoresFence) { self.following = nil }
        return rose
    }

    /// The highest epoch an ack tells the primary followed (the broken variant keeps quiet).
    func told(_ following: (node: Int, epoch: UInt64)) -> UInt64 {
        faults.contains(.standbyIgnoresFence) ? following.epoch : highestSeen
    }

    /// Sets aside every record after `lsn` (durable and pending) into the quarantine.
    func truncate(after lsn: UInt64) {
        guard lsn < end else { return }
        let keep = Int(lsn)
        let all = log + pending
        quarantine += all[keep...]
        log = Array(all[..<min(keep, log.count)])
        pending = keep > log.count ? Array(all[log.count..<keep]) : []
        if promotingTo != nil && !pending.contains(where: { if case .promotion = $0.content { true } else { false } }) { promotingTo = nil }
        term.truncated(after: lsn)
    }
}
