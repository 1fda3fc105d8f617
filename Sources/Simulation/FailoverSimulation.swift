@_spi(Simulation) public import Failover
import Replication
import SeededRandom

/// What one run of the failover simulation does: one region of `standbys + 1` nodes.
public struct FailoverOptions: Sendable {
    public var seed: UInt64
    /// Events processed while the workload runs and faults are injected.
    public var steps: Int
    public var standbys: Int
    /// `syncStandbys: k` of every node.
    public var syncStandbys: Int
    /// Deliberately broken behaviours (the simulator's own tests; never in production).
    @_spi(Simulation) public var faults: FailoverFaults = []
    /// After the faults stop: the time within which one primary must be serving and every
    /// node's log must equal its log (simulated milliseconds).
    public var settleMillis: Int64 = 60_000
    public var traceLines = 60

    public init(seed: UInt64, steps: Int, standbys: Int, syncStandbys: Int) {
        precondition((1...4).contains(standbys), "1 to 4 standbys")
        precondition((0...standbys).contains(syncStandbys), "syncStandbys from 0 to the standbys")
        self.seed = seed
        self.steps = steps
        self.standbys = standbys
        self.syncStandbys = syncStandbys
    }
}

/// The failover simulation: one region's primary and standbys built from the real failover
/// decisions (``RegionTerm``, ``SyncCommit``, ``EpochHistory``'s fork points, ``Promotion``),
/// under crashes, partitions between nodes and operator promotions (some forced) with client
/// writes throughout; then every fault heals, a primary is promoted if none is serving, and
/// the checkers run. Records, links and durability are modelled in memory: the region log's
/// own crash behaviour is the main simulator's and the journal's tests' to prove.
///
/// Checkers: `one-primary-per-epoch` (no two nodes acknowledge writes in one epoch),
/// `fenced-acknowledged` (no node acknowledges a write after it heard of a higher epoch),
/// `lost-write` (with `syncStandbys ≥ 1`, every acknowledged write is in the final primary's
/// log, but for writes of epochs before a forced promotion's, which `--force` gives up), `convergence` (after heal, one primary and
/// every log equal to its).
public enum FailoverSimulator {
    public static func run(_ options: FailoverOptions) -> SimulationResult {
        FailoverWorld(options).run()
    }
}

enum FailoverMessage {
    case hello(history: EpochHistory, end: UInt64, highestSeen: UInt64)
    /// The primary's history and durable end: the standby computes the fork point against its
    /// log as it is when the welcome arrives (not as its hello described it).
    case welcome(epoch: UInt64, history: EpochHistory, end: UInt64)
    case records(epoch: UInt64, from: UInt64, records: [FailoverRecord])
    case ack(lsn: UInt64, epoch: UInt64, highestSeen: UInt64)

    /// The highest epoch the message tells its receiver about.
    var epoch: UInt64 {
        switch self {
        case .hello(_, _, let highestSeen): highestSeen
        case .welcome(let epoch, _, _), .records(let epoch, _, _): epoch
        case .ack(_, let epoch, let highestSeen): max(epoch, highestSeen)
        }
    }
}

enum FailoverEvent {
    case tick(node: Int, incarnation: Int)
    case flush(node: Int, incarnation: Int)
    case deliver(from: Int, to: Int, incarnation: Int, message: FailoverMessage)
    case client
    case fault
    /// The operator promotes a standby (soon after a primary was lost, or at random).
    case promote
    /// The promotion's decision, after the candidate caught up from a fenced primary.
    case decide(node: Int, incarnation: Int, epoch: UInt64, force: Bool, answers: [Promotion.Reached], reached: [Int])
    case restart(node: Int)
    case heal(cut: Int)
}

/// An acknowledged write, as the checkers see it.
struct FailoverAck {
    var operation: Int
    var node: Int
    var epoch: UInt64
    var lsn: UInt64
    var atMillis: Int64
}

final class FailoverWorld: SeededWorld {
    let options: FailoverOptions
    var random: SplitMix64
    var now: Int64 = 0
    var step = 0
    var queue = EventQueue<FailoverEvent>()
    var nodes: [FailoverNode] = []
    /// Directed cuts in force: (id, from, to).
    var cuts: [(id: Int, from: Int, to: Int)] = []
    var nextCut = 1
    var nextOperation = 1
    var faultPhase = true
    var hash = TraceHash()
    var trace: [String] = []
    var failure: SimulationFailure?
    var statistics = SimulationStatistics()
    var acks: [FailoverAck] = []
    /// Which node acknowledged writes in each epoch.
    var epochOwner: [UInt64: Int] = [:]
    /// The highest epoch each node was told of (by any message, fence or its own promotion),
    /// kept by the world itself, apart from the node's own bookkeeping.
    var toldEpoch: [UInt64]
    /// The highest epoch a forced promotion began: writes acknowledged in earlier epochs (before
    /// it, or by an old primary that had not heard of it yet) may be lost, as `--force` says.
    var forcedEpoch: UInt64 = 0

    static let tickMillis: Int64 = 50
    static let linkSilenceMillis: Int64 = 2_000
    static let resendMillis: Int64 = 500
    /// How long a fenced primary goes on shipping its last records (the node's 2 s).
    static let fencedServingMillis: Int64 = 2000
    static let commitBoundMillis: Int64 = 3_000

    init(_ options: FailoverOptions) {
        self.options = options
        random = SplitMix64(seed: options.seed)
        toldEpoch = Array(repeating: 1, count: options.standbys + 1)
        for index in 0...options.standbys {
            let node = FailoverNode(index: index, primary: index == 0, faults: options.faults)
            if index == 0 { node.sync = SyncCommit(required: options.syncStandbys, durable: 0) }
            nodes.append(node)
        }
    }

    var traceLines: Int { options.traceLines }


    // MARK: - The run

    func run() -> SimulationResult {
        for node in nodes { queue.schedule(.tick(node: node.index, incarnation: node.incarnation), at: between(1, Self.tickMillis)) }
        queue.schedule(.client, at: between(1, 20))
        queue.schedule(.fault, at: between(200, 1500))
        while failure == nil && step < options.steps, let (at, event) = queue.next() {
            process(event, at: at)
        }
        if failure == nil { endFaults() }
        let settleEnd = now + options.settleMillis
        var nextCheck = now + 1000
        var converged = false
        while failure == nil, !converged, let at = queue.nextTime, at <= settleEnd, let (time, event) = queue.next() {
            process(event, at: time)
            if now >= nextCheck {
                nextCheck = now + 1000
                if convergence() == nil { converged = true } else { promoteIfNoPrimary() }
            }
        }
        if failure == nil && !converged { fail("convergence", convergence() ?? "did not converge") }
        if failure == nil { checkLostWrites() }
        statistics.simulatedMillis = now
        return SimulationResult(seed: options.seed, traceHash: hash.value, failure: failure, trace: Array(trace.suffix(options.traceLines)),
                                statistics: statistics)
    }

    func process(_ event: FailoverEvent, at time: Int64) {
        now = time
        step += 1
        statistics.events += 1
        switch event {
        case .tick(let index, let incarnation):
            let node = nodes[index]
            guard node.up, node.incarnation == incarnation else { return }
            tick(node)
            queue.schedule(.tick(node: index, incarnation: incarnation), at: now + Self.tickMillis)
        case .flush(let index, let incarnation):
            let node = nodes[index]
            guard node.up, node.incarnation == incarnation else { return }
            flush(node)
        case .deliver(let from, let to, let incarnation, let message):
            let node = nodes[to]
            guard node.up, node.incarnation == incarnation, !isCut(from, to) else { return }
            toldEpoch[to] = max(toldEpoch[to], message.epoch)
            receive(message, at: node, from: from)
        case .client:
            clientWrite()
            // Now and then the clients pause (the primary goes idle and its standbys catch up).
            if faultPhase { queue.schedule(.client, at: now + (chance(2) ? between(300, 2500) : between(5, 30))) }
        case .fault:
            guard faultPhase else { return }
            injectFault()
            queue.schedule(.fault, at: now + between(300, 2500))
        case .promote:
            guard faultPhase else { return }
            let candidates = nodes.filter { $0.up && !$0.term.acceptsWrites && $0.promotingTo == nil && $0.catchingUp == nil }
            guard !candidates.isEmpty else { return }
            promote(candidates[Int(draw(UInt64(candidates.count)))], force: chance(10))
        case .decide(let index, let incarnation, let epoch, let force, let answers, let reached):
            decide(nodes[index], incarnation: incarnation, epoch: epoch, force: force, answers: answers, reached: reached)
        case .restart(let index):
            restart(index)
        case .heal(let id):
            cuts.removeAll { $0.id == id }
            note("heal cut \(id)")
        }
    }

    func isCut(_ from: Int, _ to: Int) -> Bool { cuts.contains { $0.from == from && $0.to == to } }

    func send(_ message: FailoverMessage, from: Int, to: Int) {
        guard from != to else { return }
        statistics.framesSent += 1
        queue.schedule(.deliver(from: from, to: to, incarnation: nodes[to].incarnation, message: message), at: now + between(1, 15))
    }

    func scheduleFlush(_ node: FailoverNode) {
        guard !node.flushScheduled, !node.pending.isEmpty else { return }
        node.flushScheduled = true
        queue.schedule(.flush(node: node.index, incarnation: node.incarnation), at: now + (now < node.slowDiskUntil ? between(50, 400) : between(1, 6)))
    }

    func restart(_ index: Int) {
        let node = nodes[index]
        guard !node.up else { return }
        node.restart(configuredPrimary: index == 0, syncStandbys: options.syncStandbys)
        note("restart node-\(index): \(node.term.role) at epoch \(node.term.epoch), log \(node.durablePosition), fence \(node.highestSeen)")
        queue.schedule(.tick(node: index, incarnation: node.incarnation), at: now + between(1, Self.tickMillis))
    }

    // MARK: - Faults

    func injectFault() {
        switch draw(12) {
        case 0, 1, 2:
            // A crash, most often of a node with records not yet durable (a standby's received
            // records, a primary's writes): what a crash can take back.
            // Sometimes two at once (a rack's power): a standby and the primary it acknowledged to.
            let busy = nodes.filter { $0.up && !$0.pending.isEmpty }
            let node = !busy.isEmpty && chance(70) ? busy[Int(draw(UInt64(busy.count)))] : nodes[Int(draw(UInt64(nodes.count)))]
            guard node.up else { return }
            var victims = [node]
            if chance(30), let second = nodes.first(where: { $0.up && $0.index != node.index && $0.term.acceptsWrites }) ?? nodes.first(where: { $0.up && $0.index != node.index }) {
                victims.append(second)
            }
            for victim in victims {
                statistics.crashes += 1
                let wasPrimary = victim.term.acceptsWrites
                note("crash node-\(victim.index) (\(victim.term.role), log \(victim.durablePosition), \(victim.pending.count) pending)")
                victim.crash()
                queue.schedule(.restart(node: victim.index), at: now + between(200, 4000))
                if wasPrimary && chance(60) { queue.schedule(.promote, at: now + between(50, 2000)) }
            }
        case 3, 4, 5:
            // One node cut off from every other (both ways, or one way), for a while.
            let isolated = Int(draw(UInt64(nodes.count)))
            let direction = draw(3)
            let id = nextCut
            nextCut += 1
            for other in nodes.indices where other != isolated {
                if direction != 1 { cuts.append((id, isolated, other)) }
                if direction != 2 { cuts.append((id, other, isolated)) }
            }
            statistics.partitions += 1
            note("cut \(id): node-\(isolated) \(["both ways", "inbound only", "outbound only"][Int(direction)])")
            queue.schedule(.heal(cut: id), at: now + between(500, 6000))
            if nodes[isolated].term.acceptsWrites && chance(60) { queue.schedule(.promote, at: now + between(50, 2000)) }
        case 6:
            // One link between two nodes, both ways: each still reaches the others.
            let a = Int(draw(UInt64(nodes.count))), b = (a + 1 + Int(draw(UInt64(nodes.count - 1)))) % nodes.count
            let id = nextCut
            nextCut += 1
            cuts.append((id, a, b))
            cuts.append((id, b, a))
            statistics.partitions += 1
            note("cut \(id): the link node-\(a) ↔ node-\(b)")
            queue.schedule(.heal(cut: id), at: now + between(500, 6000))
            if (nodes[a].term.acceptsWrites || nodes[b].term.acceptsWrites) && chance(60) { queue.schedule(.promote, at: now + between(50, 2000)) }
        case 7:
            // A slow disk for a while: records wait longer between arriving and being durable.
            let node = nodes[Int(draw(UInt64(nodes.count)))]
            node.slowDiskUntil = now + between(500, 4000)
            note("node-\(node.index)'s disk is slow until t=\(node.slowDiskUntil)")
        default:
            let candidates = nodes.filter { $0.up && !$0.term.acceptsWrites && $0.promotingTo == nil && $0.catchingUp == nil }
            guard !candidates.isEmpty else { return }
            promote(candidates[Int(draw(UInt64(candidates.count)))], force: chance(10))
        }
    }

    func endFaults() {
        faultPhase = false
        cuts = []
        note("faults end: every cut healed, every node restarted")
        for node in nodes where !node.up { restart(node.index) }
    }

    /// `strongroom promote --node`: fence every node reached with the new epoch (each answers
    /// with where its log ends), then, as the node does, go on taking the old primary's records
    /// while it still serves them (a fenced primary ships its last records, acknowledges
    /// nothing) for a while, and decide (``decide(_:incarnation:epoch:force:answers:reached:)``).
    func promote(_ candidate: FailoverNode, force: Bool) {
        let reached = nodes.filter { $0.index != candidate.index && $0.up && !isCut(candidate.index, $0.index) && !isCut($0.index, candidate.index) }
        let epoch = Promotion.nextEpoch(candidateOrdinal: candidate.index, candidateHighestSeen: candidate.highestSeen,
                                        reachedHighestSeen: reached.map(\.highestSeen), faults: options.faults)
        let answers = reached.map { Promotion.Reached(nodeId: $0.nodeId, end: $0.durablePosition, highestSeen: $0.highestSeen) }
        for node in reached {
            toldEpoch[node.index] = max(toldEpoch[node.index], epoch)
            if node.observe(epoch: epoch) && node.term.role == .fenced { fenced(node) }
        }
        candidate.catchingUp = epoch
        note("promote node-\(candidate.index): fenced \(reached.map(\.index)) with epoch \(epoch); catching up")
        queue.schedule(.decide(node: candidate.index, incarnation: candidate.incarnation, epoch: epoch, force: force, answers: answers,
                               reached: reached.map(\.index)), at: now + between(0, 500))
    }

    func decide(_ candidate: FailoverNode, incarnation: Int, epoch: UInt64, force: Bool, answers: [Promotion.Reached], reached: [Int]) {
        guard candidate.up, candidate.incarnation == incarnation, candidate.catchingUp == epoch else {
            note("promote node-\(candidate.index) at epoch \(epoch): the candidate crashed before deciding")
            return
        }
        candidate.catchingUp = nil
        toldEpoch[candidate.index] = max(toldEpoch[candidate.index], epoch)
        if candidate.highestSeen > epoch {
            statistics.refusedPromotions += 1
            note("promote node-\(candidate.index) at epoch \(epoch) refused: it heard of epoch \(candidate.highestSeen) meanwhile")
            return
        }
        _ = candidate.observe(epoch: epoch)
        let decision = Promotion.decide(candidate: candidate.nodeId, end: candidate.durablePosition, reached: answers,
                                        regionNodes: nodes.count, syncStandbys: options.syncStandbys, epoch: epoch, force: force,
                                        faults: options.faults)
        switch decision {
        case .refuse(let why):
            statistics.refusedPromotions += 1
            note("promote node-\(candidate.index) at epoch \(epoch) refused (reached \(reached)): \(why)")
        case .promote(let epoch, let mayLose):
            statistics.promotions += 1
            if mayLose != nil {
                forcedEpoch = max(forcedEpoch, epoch)
                statistics.forcedPromotions += 1
            }
            note("promote node-\(candidate.index) at epoch \(epoch) (reached \(reached), log \(candidate.durablePosition))"
                + (mayLose.map { ": \($0)" } ?? ""))
            candidate.following = nil
            candidate.pending.append(FailoverRecord(epoch: epoch, content: .promotion(node: candidate.index)))
            candidate.promotingTo = epoch
            scheduleFlush(candidate)
        }
    }

    /// A primary that learnt of a higher epoch: its waiting writes end unknown.
    func fenced(_ node: FailoverNode) {
        // It ships its durable records to its standbys a while longer (a promotion catching up
        // from it), and acknowledges nothing (the broken variant still answers its waiting writes
        // as its standbys' acks commit them).
        node.fencedAtMillis = now
        guard !options.faults.contains(.fencedStillAcknowledges) else { return }
        note("node-\(node.index) fenced at epoch \(node.term.epoch) (heard of \(node.highestSeen)); \(node.waiting.count) writes left unknown")
        node.waiting = []
        node.sync = nil
    }

    /// After the faults: with no primary serving, the operator promotes the node furthest ahead.
    func promoteIfNoPrimary() {
        guard !nodes.contains(where: { $0.up && ($0.term.acceptsWrites || $0.promotingTo != nil || $0.catchingUp != nil) }) else { return }
        guard let furthest = nodes.filter(\.up).max(by: { ($0.durablePosition, -$0.index) < ($1.durablePosition, -$1.index) }) else { return }
        promote(furthest, force: false)
    }
}
