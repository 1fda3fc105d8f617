import Failover
import Foundation
import Platform
package import Replication
import Configuration
import Links
import NodeStorage
import TLS
import Logging
import LogShipping
import Synchronization

/// Epochs between the nodes of one region, over the replication port: `term` questions and
/// fences (`TermQuery` → `TermAnswer`, one each per connection), the probe every node runs, the
/// hello of a standby that heard of a higher epoch, and the check a standby makes of its
/// primary's welcome (a stale primary is not followed; a divergent tail is set aside).
///
/// A change of role is never made in place: the node records what it learnt durably
/// (`RegionTermKeeper`), stops accepting writes or taking records at once, and restarts in
/// the role the durable term gives it (`restart`).
extension ReplicationService {
    /// "primary", "fenced" (a primary that heard of a higher epoch) or "standby".
    package var role: String {
        if isStandby { return "standby" }
        if storage.fencedBy != nil { return "fenced" }
        return "primary"
    }

    /// Where this node's log ends: the newest record's epoch and LSN.
    package var logEnd: LogPosition {
        let lsn = storage.durableLSN
        return LogPosition(epoch: lsn == 0 ? 0 : term.history.epoch(at: lsn) ?? storage.epoch, lsn: lsn)
    }

    /// A message about this region carried `epoch`. When it is above every epoch this node has
    /// heard of: a primary stops accepting writes at once, a standby stops taking its primary's
    /// records, the epoch is made durable, the appends in flight finish, and the node restarts
    /// in the role that epoch gives it. Returns the highest epoch heard of before, or nil when
    /// nothing changed (not higher, or it could not be made durable: then the caller must not
    /// answer as if it had been).
    package func observe(epoch: UInt64, from who: String) -> UInt64? {
        let before = term.highestSeen
        guard epoch > before else { return nil }
        if promoting.load(ordering: .acquiring), let me = settings.ordinal(of: nodeId), Promotion.owner(of: epoch) == me {
            return nil  // this node's own promotion, echoed by a node it fenced
        }
        let wasPrimary = !isStandby
        if wasPrimary { storage.fence(epoch: epoch) } else { storage.stopFollowing() }
        do {
            guard try term.raise(to: epoch) != nil else { return nil }
        } catch {
            log.error("failover: cannot record epoch \(epoch) heard of from \(who): \(error); this node stays out of service")
            return nil
        }
        _ = storage.waitForAppendsToSettle(timeout: 2)
        log.info("failover: epoch \(epoch) of \(region) heard of from \(who) (this node was \(wasPrimary ? "primary" : "a standby") at epoch \(term.history.current))")
        if wasPrimary {
            // Its standbys may still need its last records (a promotion catching up from it):
            // it serves them a little longer before it restarts as a standby.
            _ = spawn("repl-fenced") { [self] in
                let deadline = MonotonicClock.seconds() + Self.fencedServingSeconds
                while !isStopping && MonotonicClock.seconds() < deadline && !standbysHold(storage.durableLSN) {
                    OSThread.sleep(seconds: 0.02)
                }
                restart("fenced by epoch \(epoch) (from \(who)): restarting as a standby")
            }
        } else {
            restart("epoch \(epoch) heard of from \(who): restarting to follow its primary")
        }
        return before
    }

    /// How long a fenced primary goes on serving its standbys its last records.
    static let fencedServingSeconds = 2.0

    /// Whether every standby linked to this primary has acknowledged up to `lsn` (or none is linked).
    private func standbysHold(_ lsn: UInt64) -> Bool {
        subscribers.withLock { Array($0.values) }.allSatisfy { link in
            link.state.withLock { state in
                guard let progress = state.machine.progress, progress.region == region else { return true }
                return progress.acked.lsn >= lsn
            }
        }
    }

    /// Answers a `term` question or fence from another node of this region.
    func answerTerm(_ query: TermQuery, identity: (region: String, nodeId: String)?, link: FramedLink) {
        guard let identity, identity.region == region, query.region == region, identity.nodeId == query.nodeId,
              settings.regionNodes.contains(where: { $0.nodeId == identity.nodeId }) else {
            try? link.send(.refused("only a node of this region's regionNodes may ask of its term"), timeout: 1)
            log.repeated("replication: refused a term query from \(identity?.nodeId ?? "an unnamed peer")",
                          "replication: refused a term query from \(identity?.nodeId ?? "an unnamed peer") of \(identity?.region ?? "?")")
            return
        }
        var before = term.highestSeen
        if query.epoch > before {
            guard let previous = observe(epoch: query.epoch, from: "\(query.nodeId)'s fence") else {
                try? link.send(.refused("this node could not record epoch \(query.epoch)"), timeout: 1)
                return
            }
            before = previous
        }
        let answer = TermAnswer(nodeId: nodeId, role: role, highestSeenBefore: before, highestSeen: term.highestSeen, end: logEnd)
        try? link.send(.termAnswer(answer), timeout: settings.deadAfterSeconds)
    }

    /// Asks `node` of its term, or fences it with `epoch` (≥ 1).
    func askTerm(of node: ReplicationSettings.RegionNode, epoch: UInt64, timeout: Double) -> Result<TermAnswer, LinkError> {
        do throws(LinkError) {
            let link = try connect(toNode: node.nodeId, of: region, at: node.address, timeout: timeout)
            defer { link.close() }
            try link.send(.term(TermQuery(nodeId: nodeId, region: region, epoch: epoch)), timeout: timeout)
            // A fence waits for the node's appends in flight (at most 2 s) and an fsync.
            guard let message = try link.receive(timeout: timeout + (epoch > 0 ? 2.5 : 0)) else {
                throw LinkError(.timedOut, "\(node.nodeId) did not answer")
            }
            switch message {
            case .termAnswer(let answer) where answer.nodeId == node.nodeId: return .success(answer)
            case .refused(let reason): throw LinkError(.refused, "\(node.nodeId) refused: \(reason)")
            default: throw LinkError(.refused, "\(node.nodeId) answered with something else")
            }
        } catch {
            return .failure(error)
        }
    }

    /// How long a connection to another node of the region may take to set up (they are near).
    static let regionConnectSeconds = 1.0

    /// Asks every other node of the region at once; the answers of those that answered, in
    /// `regionNodes` order. `enough`, given the answers so far, may end the wait early (the
    /// others' answers are then failures "not waited for"). The askers are detached threads
    /// that a stopping node does not wait for: each ends within its own timeout.
    func askRegion(epoch: UInt64, timeout: Double, only: Set<String>? = nil,
                   enough: (([Int: Result<TermAnswer, LinkError>]) -> Bool)? = nil)
        -> [(node: ReplicationSettings.RegionNode, answer: Result<TermAnswer, LinkError>)] {
        let others = settings.regionNodes.filter { $0.nodeId != nodeId && (only?.contains($0.nodeId) ?? true) }
        let results = ConditionLock<[Int: Result<TermAnswer, LinkError>]>([:])
        for (index, node) in others.enumerated() {
            do {
                try OSThread.startDetached(name: "repl-ask") { [self] in
                    let answer = askTerm(of: node, epoch: epoch, timeout: timeout)
                    results.withLock { $0[index] = answer }
                    results.broadcast()
                }
            } catch {
                results.withLock { $0[index] = .failure(LinkError(.refused, "no thread")) }
            }
        }
        var all: [Int: Result<TermAnswer, LinkError>] = [:]
        while true {
            let (done, snapshot) = results.withLock(waitingUntil: { $0.count == others.count }, timeout: 0.05) { state, ready in
                (ready, state)
            }
            all = snapshot
            if done || (enough?(all) ?? false) || isStopping { break }
        }
        return others.enumerated().map { ($0.element, all[$0.offset] ?? .failure(LinkError(.timedOut, "not waited for"))) }
    }

    /// A client-facing message (a forwarded write's header, unauthenticated) named `epoch` of
    /// this region: when it is above every epoch heard of, the probe asks the region now.
    package func heard(epoch: UInt64) {
        if epoch > term.highestSeen { probeNow.store(true, ordering: .releasing) }
    }

    /// Every node asks the others of their term about once a second: a primary cut off during
    /// a promotion learns of it when it can reach any node that was fenced, and a standby that
    /// missed a fence learns whom to follow.
    func probeLoop() {
        let period = max(1.0, settings.heartbeatSeconds)
        var nextAt = MonotonicClock.seconds()
        var first = true
        while !isStopping {
            if MonotonicClock.seconds() < nextAt && !probeNow.exchange(false, ordering: .acquiringAndReleasing) {
                OSThread.sleep(seconds: 0.05)
                continue
            }
            nextAt = MonotonicClock.seconds() + period
            // The first round of a primary that just started ends once a majority of the region
            // (itself included) said it knows of no higher epoch: a node out of reach does not
            // hold its first writes back for a connect timeout.
            let majority = settings.regionNodes.count / 2 + 1
            let enough: (([Int: Result<TermAnswer, LinkError>]) -> Bool)? = first && storage.isConfirming ? { [term] answers in
                let higher = answers.values.contains { if case .success(let answer) = $0 { answer.highestSeen > term.highestSeen } else { false } }
                let quiet = answers.values.filter { if case .success(let answer) = $0 { answer.highestSeen <= term.highestSeen } else { false } }.count
                return !higher && 1 + quiet >= majority
            } : nil
            for (node, result) in askRegion(epoch: 0, timeout: Self.regionConnectSeconds, enough: enough) {
                guard case .success(let answer) = result, answer.highestSeen > term.highestSeen else { continue }
                if observe(epoch: answer.highestSeen, from: node.nodeId) != nil { return }
            }
            if first {
                // A primary that just started takes writes once its region has answered (or
                // could not be reached) with no newer epoch.
                first = false
                if storage.isConfirming {
                    storage.setConfirming(false)
                    log.info("failover: no node of \(region) knows of an epoch above \(term.highestSeen): accepting writes")
                }
            }
        }
    }

    /// A standby's check of its primary's welcome: nil to follow it, or why not. A primary of
    /// an epoch below the highest heard of is stale; a log whose tail is not the primary's has
    /// that tail set aside at the next start (the node restarts to do it).
    package func checkWelcome(_ welcome: Welcome) -> String? {
        guard !welcome.history.isEmpty else { return nil }  // a primary of protocol version 1: one epoch
        guard case .success(let theirs) = EpochHistory.decode(welcome.history) else {
            return "the welcome of \(welcome.nodeId) carries an unreadable epoch history"
        }
        if theirs.current < term.highestSeen {
            return "\(welcome.nodeId) is primary at epoch \(theirs.current), below epoch \(term.highestSeen) this node has heard of: not followed"
        }
        let end = storage.durableLSN
        let fork = term.history.commonPrefix(end: end, with: theirs, end: welcome.sourcePosition.lsn)
        if fork < end {
            storage.stopFollowing()
            do {
                try term.quarantine(after: fork)
            } catch {
                return "cannot record the quarantine of records \(fork + 1)…\(end): \(error)"
            }
            restart("records \(fork + 1)…\(end) of this log (epochs \(term.history)) are not \(welcome.nodeId)'s (epochs \(theirs), "
                + "ending at \(welcome.sourcePosition.lsn)): restarting to set them aside in the quarantine directory")
            return "a divergent tail after LSN \(fork)"
        }
        if theirs.current > term.highestSeen {
            do {
                _ = try term.raise(to: theirs.current)
            } catch {
                return "cannot record epoch \(theirs.current): \(error)"
            }
        }
        return nil
    }
}
