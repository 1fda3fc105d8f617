import Failover
import Foundation
package import JSON
import Platform
import Replication
import Configuration
import Links
import Logging
import NodeStorage
import LogShipping
import Synchronization

/// `strongroom promote --node ID` on the standby to promote, as the failover simulation does
/// it (docs/SAFETY.md):
///
/// 1. ask every other node of the region of its term (no fence yet): too few answering with
///    `syncStandbys ≥ 1` refuses here, changing nothing;
/// 2. fence them with the candidate's next epoch (``Promotion/nextEpoch(candidateOrdinal:candidateHighestSeen:reachedHighestSeen:)``):
///    each makes it durable, stops accepting writes or taking the old primary's records, lets
///    its appends in flight finish and answers with where its log ends;
/// 3. catch up (at most `catchUpSeconds`) from the old primary while it still serves, when a
///    reached node's log is further ahead, then stop following;
/// 4. decide (``Promotion/decide(candidate:end:reached:regionNodes:syncStandbys:epoch:force:)``);
/// 5. record the new epoch durably, append the promotion record (the epoch's first record),
///    and restart as the primary.
extension ReplicationService {
    /// How a promotion ended, for the API's answer.
    package enum PromotionOutcome: Sendable {
        case promoted(JSONValue)
        /// Refused (the reason for the operator), nothing changed or the region fenced.
        case refused(String)
    }

    /// How a promotion ended, and the restart it leaves to do once the answer is sent (the
    /// caller calls ``restart`` with it).
    package struct PromotionResult: Sendable {
        package var outcome: PromotionOutcome
        package var restartReason: String?
    }

    /// How long a promotion waits to receive the records a fenced node holds beyond its own.
    static let catchUpSeconds = 3.0

    package func promote(force: Bool) -> PromotionResult {
        guard let me = settings.ordinal(of: nodeId), settings.regionNodes.count > 1 else {
            return PromotionResult(outcome: .refused("node \(nodeId) has no standbys configured (replication.regionNodes): it is its region's only node"), restartReason: nil)
        }
        guard isStandby else {
            return PromotionResult(outcome: .refused(storage.fencedBy == nil
                ? "node \(nodeId) is already \(region)'s primary at epoch \(term.history.current)"
                : "node \(nodeId) was fenced by epoch \(storage.fencedBy ?? 0) and is restarting as a standby; promote it once it follows"),
                restartReason: nil)
        }
        guard promoting.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return PromotionResult(outcome: .refused("a promotion of \(nodeId) is already under way"), restartReason: nil)
        }
        defer { promoting.store(false, ordering: .releasing) }
        let n = settings.regionNodes.count
        let k = settings.syncStandbys
        let quorum = k >= 1 ? n - k : 1
        let began = MonotonicClock.seconds()

        // 1. Who answers, and what they have heard of, before anyone is fenced.
        let probe = askRegion(epoch: 0, timeout: 1)
        let probed = probe.compactMap { item -> TermAnswer? in if case .success(let answer) = item.answer { answer } else { nil } }
        if 1 + probed.count < quorum && !force {
            let missing = probe.compactMap { item -> String? in
                if case .failure(let error) = item.answer { "\(item.node.nodeId) (\(error))" } else { nil }
            }
            return PromotionResult(outcome: .refused("only \(1 + probed.count) of \(region)'s \(n) nodes answered (not reached: \(missing.joined(separator: ", "))); "
                + "with syncStandbys \(k) a committed write may be held only by the nodes not reached (at least \(quorum) must answer). "
                + "Bring them back, or use --force to accept the loss. Nothing was changed."), restartReason: nil)
        }
        let epoch = Promotion.nextEpoch(candidateOrdinal: me, candidateHighestSeen: term.highestSeen,
                                        reachedHighestSeen: probed.map(\.highestSeen))

        // 2. The fence.
        log.info("failover: promoting \(nodeId) in \(region): fencing the region's nodes with epoch \(epoch)")
        // Those that answered are fenced now and waited for; those that did not are sent the
        // fence too, without waiting (their probe tells them later if this misses them).
        let answered = Set(probed.map(\.nodeId))
        for node in settings.regionNodes where node.nodeId != nodeId && !answered.contains(node.nodeId) {
            // Detached: a node restarting in its new role does not wait for these.
            try? OSThread.startDetached(name: "repl-fence") { [self] in _ = askTerm(of: node, epoch: epoch, timeout: 2) }
        }
        let fenced = askRegion(epoch: epoch, timeout: 1, only: answered)
        var reached: [TermAnswer] = []
        var notReached: [String] = probe.compactMap { item -> String? in
            if case .failure(let error) = item.answer { "\(item.node.nodeId) (\(error))" } else { nil }
        }
        for (node, result) in fenced {
            switch result {
            case .success(let answer) where answer.highestSeen > epoch:
                return PromotionResult(outcome: .refused("\(node.nodeId) has heard of epoch \(answer.highestSeen), above \(epoch): another "
                    + "promotion is under way or done. Nothing was promoted."), restartReason: nil)
            case .success(let answer): reached.append(answer)
            case .failure(let error): notReached.append("\(node.nodeId) (\(error))")
            }
        }

        // 3. Catch up from a fenced primary that still serves its last records.
        let furthest = reached.map(\.end).max() ?? .start
        let deadline = MonotonicClock.seconds() + Self.catchUpSeconds
        while logEnd < furthest && MonotonicClock.seconds() < deadline && replicaLinks.withLock({ $0[region]?.connected ?? false }) {
            OSThread.sleep(seconds: 0.01)
        }
        storage.stopFollowing()
        _ = storage.waitForAppendsToSettle(timeout: 2)
        let end = logEnd
        if term.highestSeen > epoch {
            // Another promotion, to a higher epoch, reached this node meanwhile: it restarts to
            // follow that one.
            return PromotionResult(outcome: .refused("this node heard of epoch \(term.highestSeen), above \(epoch), while it caught up: "
                + "another promotion won. Nothing was promoted."), restartReason: nil)
        }

        // 4. The decision.
        let decision = Promotion.decide(
            candidate: nodeId, end: end,
            reached: reached.map { Promotion.Reached(nodeId: $0.nodeId, end: $0.end, highestSeen: $0.highestSeenBefore) },
            regionNodes: n, syncStandbys: k, epoch: epoch, force: force)
        let mayLose: String?
        switch decision {
        case .refuse(let reason):
            // The reached nodes promised epoch `epoch` (this node's): the old primary accepts no
            // more writes. This node records it too, and restarts as a standby of no primary.
            // It stays a standby that takes no more records (as the fenced ones), and may be
            // promoted again (with --force, or once the node further ahead is back).
            _ = try? term.raise(to: epoch)
            return PromotionResult(outcome: .refused(reason + " The nodes reached were fenced at epoch \(epoch): \(region) has no primary until one is promoted."),
                                   restartReason: nil)
        case .promote(let chosen, let lost):
            precondition(chosen == epoch, "a promotion decides on the epoch it fenced with")
            mayLose = lost
        }

        // 5. Durable before any write: the epoch, then its first record.
        let recordLSN = end.lsn + 1
        do {
            try term.begin(epoch: epoch, at: recordLSN)
        } catch {
            return PromotionResult(outcome: .refused("cannot record epoch \(epoch): \(error)"), restartReason: "promotion to epoch \(epoch) not recorded")
        }
        if case .failure(let error) = storage.appendPromotionRecord(epoch: epoch, expectedLSN: recordLSN, timeout: 5) {
            return PromotionResult(outcome: .refused("\(error)"), restartReason: "promotion record not appended")
        }
        let millis = Int((MonotonicClock.seconds() - began) * 1000)
        log.info("failover: \(nodeId) promoted to primary of \(region) at epoch \(epoch) (promotion record at LSN \(recordLSN), \(millis) ms)"
            + (mayLose.map { "; \($0)" } ?? ""))
        let reachedJSON: [JSONValue] = reached.sorted { $0.nodeId < $1.nodeId }.map { answer in
            .object([(key: "NodeId", value: .string(answer.nodeId)), (key: "Role", value: .string(answer.role)),
                     (key: "EndEpoch", value: .number(String(answer.end.epoch))), (key: "EndLSN", value: .number(String(answer.end.lsn)))])
        }
        return PromotionResult(outcome: .promoted(.object([
            (key: "NodeId", value: .string(nodeId)),
            (key: "Region", value: .string(region)),
            (key: "Epoch", value: .number(String(epoch))),
            (key: "PreviousEpoch", value: .number(String(end.epoch))),
            (key: "PromotionLSN", value: .number(String(recordLSN))),
            (key: "MayLose", value: mayLose.map { .string($0) } ?? .null),
            (key: "Reached", value: .array(reachedJSON)),
            (key: "NotReached", value: .array(notReached.map { .string($0) })),
            (key: "Milliseconds", value: .number(String(millis))),
        ])), restartReason: "promoted to primary at epoch \(epoch)")
    }
}
