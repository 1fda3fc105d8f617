@_spi(Simulation) import Failover
import Replication

/// The standby link and the primary's commit, as the nodes run them: hello → welcome (the fork
/// point from the two epoch histories; the standby sets its divergent tail aside) → records
/// (durable ones only, in order) → acks of what is durable → ``SyncCommit``.
extension FailoverWorld {
    func tick(_ node: FailoverNode) {
        let servingLastRecords = node.term.role == .fenced && node.fencedAtMillis.map { now - $0 < Self.fencedServingMillis } ?? false
        if node.term.acceptsWrites || servingLastRecords {
            guard node.promotingTo == nil else { return }
            for other in nodes.indices where other != node.index {
                guard var next = node.nextToSend[other] else { continue }
                // No progress for a while: send again from the last acknowledgement.
                let acknowledged = node.linkAcknowledged[other] ?? (next - 1)
                if acknowledged + 1 < next, now - (node.lastProgressMillis[other] ?? now) >= Self.resendMillis {
                    next = acknowledged + 1
                    node.lastProgressMillis[other] = now
                }
                if next <= node.durableEnd {
                    let through = min(node.durableEnd, next + 15)
                    send(.records(epoch: node.term.epoch, from: next, records: Array(node.log[Int(next - 1)..<Int(through)])),
                         from: node.index, to: other)
                    next = through + 1
                } else if (now / Self.tickMillis) % 5 == 0 {
                    // A heartbeat: the standby answers it with an ack.
                    send(.records(epoch: node.term.epoch, from: next, records: []), from: node.index, to: other)
                }
                node.nextToSend[other] = next
            }
            let expired = { (write: WaitingWrite) in SyncCommit.waitExpired(sinceMillis: write.sinceMillis, nowMillis: self.now, boundMillis: Self.commitBoundMillis) }
            for write in node.waiting where expired(write) {
                note("node-\(node.index): w\(write.operation) not committed within \(Self.commitBoundMillis) ms: failed, outcome unknown")
            }
            node.waiting.removeAll(where: expired)
            // The region's other nodes not linked to it hear from it once a second: an old
            // primary among them learns of this epoch (and is fenced) even if nothing else tells it.
            if node.term.acceptsWrites && (now / Self.tickMillis) % 20 == Int64(node.index % 20) {
                for other in nodes.indices where other != node.index && node.nextToSend[other] == nil {
                    send(.hello(history: node.term.history, end: node.durableEnd, highestSeen: node.highestSeen), from: node.index, to: other)
                }
            }
        } else if node.promotingTo == nil && node.catchingUp == nil {
            if let following = node.following, now - (node.lastProgressMillis[following.node] ?? now) > Self.linkSilenceMillis {
                note("node-\(node.index): nothing from node-\(following.node) for \(Self.linkSilenceMillis) ms; looking for the primary")
                node.following = nil
            }
            if node.following == nil && (now / Self.tickMillis) % 4 == Int64(node.index % 4) {
                for other in nodes.indices where other != node.index {
                    send(.hello(history: node.term.history, end: node.durableEnd, highestSeen: node.highestSeen), from: node.index, to: other)
                }
            }
        }
    }

    func flush(_ node: FailoverNode) {
        node.flushScheduled = false
        guard !node.pending.isEmpty else { return }
        let firstNew = node.durableEnd + 1
        node.log += node.pending
        node.pending = []
        statistics.records += Int(node.durableEnd - firstNew + 1)
        if let epoch = node.promotingTo, let lsn = (firstNew...node.durableEnd).first(where: {
            if case .promotion(node.index) = node.record(at: $0)?.content { true } else { false }
        }) {
            node.promotingTo = nil
            node.term.promoted(to: epoch, recordAt: lsn)
            node.highestSeen = max(node.highestSeen, epoch)
            node.sync = SyncCommit(required: options.syncStandbys, durable: node.durableEnd)
            node.nextToSend = [:]
            node.linkAcknowledged = [:]
            node.lastProgressMillis = [:]
            toldEpoch[node.index] = max(toldEpoch[node.index], epoch)
            note("node-\(node.index) is primary at epoch \(epoch) (promotion record at \(lsn))")
        }
        if node.term.role == .primary, let committed = node.sync?.localDurable(node.durableEnd) {
            resolveWaiting(node, committed: committed)
        }
        if let following = node.following, !node.faults.contains(.acknowledgeOnReceipt) {
            send(.ack(lsn: node.durableEnd, epoch: following.epoch, highestSeen: node.told(following)), from: node.index, to: following.node)
        }
    }

    func receive(_ message: FailoverMessage, at node: FailoverNode, from: Int) {
        switch message {
        case .hello(let history, let end, let highestSeen):
            if node.observe(epoch: highestSeen), node.term.role == .fenced { fenced(node) }
            guard node.term.acceptsWrites, node.promotingTo == nil else { return }
            // Where to start, as the hello describes the standby's log; its first ack corrects it.
            node.nextToSend[from] = node.term.history.commonPrefix(end: node.durableEnd, with: history, end: end) + 1
            node.linkAcknowledged[from] = nil
            node.lastProgressMillis[from] = now
            send(.welcome(epoch: node.term.epoch, history: node.term.history, end: node.durableEnd), from: node.index, to: from)
        case .welcome(let epoch, let history, let end):
            if node.observe(epoch: epoch), node.term.role == .fenced { fenced(node) }
            guard epoch >= node.highestSeen, !node.term.acceptsWrites, node.promotingTo == nil, node.following == nil else { return }
            let common = node.term.history.commonPrefix(end: node.end, with: history, end: end)
            if common < node.end {
                statistics.recordsSetAside += Int(node.end - common)
                note("node-\(node.index) follows node-\(from) at epoch \(epoch): sets aside \(node.end - common) records after LSN \(common)")
            }
            node.truncate(after: common)
            node.term.rejoin()
            node.following = (from, epoch)
            node.lastProgressMillis[from] = now
            send(.ack(lsn: node.durableEnd, epoch: epoch, highestSeen: node.highestSeen), from: node.index, to: from)
        case .records(let epoch, let first, let records):
            if node.observe(epoch: epoch), node.term.role == .fenced { fenced(node) }
            guard let following = node.following, following.node == from, following.epoch == epoch else { return }
            node.lastProgressMillis[from] = now
            for (offset, record) in records.enumerated() {
                let lsn = first + UInt64(offset)
                if lsn <= node.end { continue }
                guard lsn == node.end + 1, node.term.accepts(fromPrimaryAt: epoch) else { break }
                node.pending.append(record)
                node.term.appended(epoch: record.epoch, at: lsn)
            }
            if node.faults.contains(.acknowledgeOnReceipt) {
                send(.ack(lsn: node.end, epoch: epoch, highestSeen: node.highestSeen), from: node.index, to: from)
            } else if node.pending.isEmpty, let following = node.following {
                // Nothing new to make durable (a heartbeat, or records it holds): answer at once.
                send(.ack(lsn: node.durableEnd, epoch: epoch, highestSeen: node.told(following)), from: node.index, to: from)
            }
            scheduleFlush(node)
        case .ack(let lsn, let epoch, let highestSeen):
            if node.observe(epoch: highestSeen), node.term.role == .fenced { fenced(node) }
            let stillAcknowledges = node.term.role == .fenced && node.faults.contains(.fencedStillAcknowledges)
            guard node.term.role == .primary || stillAcknowledges, epoch == node.term.epoch, node.nextToSend[from] != nil,
                  var sync = node.sync else { return }
            // Progress (not merely an answer) holds off sending again from the last acknowledgement.
            if let previous = node.linkAcknowledged[from], lsn <= previous {
                // An answer without progress: sending again from it waits for the resend period.
            } else {
                if node.linkAcknowledged[from] == nil { node.nextToSend[from] = lsn + 1 }  // the link's first ack: where it starts
                node.lastProgressMillis[from] = now
                node.linkAcknowledged[from] = lsn
            }
            let committed = sync.acknowledged(by: nodes[from].nodeId, through: min(lsn, node.end))
            node.sync = sync
            if let committed { resolveWaiting(node, committed: committed) }
        }
    }

    /// Answers the waiting writes the commit now covers.
    func resolveWaiting(_ node: FailoverNode, committed: UInt64) {
        let done = node.waiting.filter { $0.lsn <= committed }
        node.waiting.removeAll { $0.lsn <= committed }
        for write in done {
            guard node.record(at: write.lsn) == FailoverRecord(epoch: write.epoch, content: .write(operation: write.operation)) else { continue }
            acknowledge(FailoverAck(operation: write.operation, node: node.index, epoch: write.epoch, lsn: write.lsn, atMillis: now))
        }
    }

    func clientWrite() {
        let node = nodes[Int(draw(UInt64(nodes.count)))]
        statistics.clientWrites += 1
        guard node.up, node.term.acceptsWrites, node.promotingTo == nil else { return }
        let operation = nextOperation
        nextOperation += 1
        node.pending.append(FailoverRecord(epoch: node.term.epoch, content: .write(operation: operation)))
        node.waiting.append(WaitingWrite(operation: operation, lsn: node.end, epoch: node.term.epoch, sinceMillis: now))
        scheduleFlush(node)
    }

    // MARK: - Checkers

    func acknowledge(_ ack: FailoverAck) {
        acks.append(ack)
        statistics.acknowledgedWrites += 1
        note("node-\(ack.node) acknowledges w\(ack.operation) at \(ack.epoch)/\(ack.lsn)")
        if let owner = epochOwner[ack.epoch], owner != ack.node {
            fail("one-primary-per-epoch", "node-\(owner) and node-\(ack.node) both acknowledged writes in epoch \(ack.epoch)")
        }
        epochOwner[ack.epoch] = ack.node
        if toldEpoch[ack.node] > ack.epoch {
            fail("fenced-acknowledged", "node-\(ack.node) acknowledged w\(ack.operation) in epoch \(ack.epoch) after it was told of epoch \(toldEpoch[ack.node])")
        }
    }

    /// Nil once one primary serves and every node's log equals its log.
    func convergence() -> String? {
        let primaries = nodes.filter { $0.up && $0.term.acceptsWrites && $0.promotingTo == nil }
        guard primaries.count == 1, let primary = primaries.first else {
            return "\(primaries.count) primaries serving (\(nodes.map { "node-\($0.index) \($0.term.role)@\($0.term.epoch)" }.joined(separator: ", ")))"
        }
        guard primary.pending.isEmpty else { return "node-\(primary.index) has records not yet durable" }
        for node in nodes where node.index != primary.index {
            guard node.up, node.following?.node == primary.index else { return "node-\(node.index) does not follow node-\(primary.index)" }
            guard node.log == primary.log, node.pending.isEmpty else {
                return "node-\(node.index)'s log (\(node.durablePosition)) differs from node-\(primary.index)'s (\(primary.durablePosition))"
            }
        }
        return nil
    }

    /// With `syncStandbys ≥ 1`, every acknowledged write is in the final primary's log where it
    /// was acknowledged (writes of epochs before a forced promotion's excepted).
    func checkLostWrites() {
        guard options.syncStandbys >= 1, let primary = nodes.first(where: { $0.term.acceptsWrites }) else { return }
        for ack in acks where ack.epoch >= forcedEpoch {
            let expected = FailoverRecord(epoch: ack.epoch, content: .write(operation: ack.operation))
            guard primary.record(at: ack.lsn) != expected else { continue }
            let quarantined = nodes.filter { $0.quarantine.contains(expected) }.map { "node-\($0.index)" }
            fail("lost-write", "w\(ack.operation), acknowledged by node-\(ack.node) at \(ack.epoch)/\(ack.lsn), is not in node-\(primary.index)'s log"
                + (quarantined.isEmpty ? "" : " (set aside by \(quarantined.joined(separator: ", ")))"))
            return
        }
    }
}
