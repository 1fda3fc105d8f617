import Foundation
import Journal
import JSON
package import Platform
import Replication
package import SecretStore
import SecretsAPI
import AWSProtocol
import Synchronization
import TLS
package import Configuration
import Links
import Logging
import NodeStorage

/// The replica side: for each other region, a thread that subscribes to that region's node from
/// this node's durable position, applies what arrives as facts of this region's own log (the
/// same VersionIds, labels and dates; its own ARNs and keys), and acknowledges what is durable.
/// A lost link is retried with exponential backoff and full jitter.
extension ReplicationService {
    package func subscribeLoop(to peer: ReplicationSettings.Peer) {
        var backoff = Backoff(base: 0.1, cap: 5)
        var random = SystemRandomNumbers()
        while !isStopping {
            let started = MonotonicClock.seconds()
            do {
                try subscribe(to: peer)
            } catch {
                if !isStopping {
                    let message = "\(error)"
                    let repeated = sources.withLock { $0[peer.region]?.lastError == message }
                    if !repeated { log.error("replication: link to \(peer.nodeId) of \(peer.region) (\(peer.address)): \(message)") }
                    sources.withLock { $0[peer.region]?.lastError = message }
                }
            }
            sources.withLock { $0[peer.region]?.connected = false }
            // A link that lived a while starts over from the shortest wait.
            if MonotonicClock.seconds() - started > settings.deadAfterSeconds { backoff.reset() }
            let delay = backoff.next(random: random.next())
            let until = MonotonicClock.seconds() + delay
            while !isStopping && MonotonicClock.seconds() < until { OSThread.sleep(seconds: min(0.05, delay)) }
        }
    }

    /// One link's life: connect, check the peer, hello, then apply until it breaks.
    private func subscribe(to peer: ReplicationSettings.Peer) throws {
        let stream = try TLSStream.connect(to: peer.address, context: clientContext, expectedPeerIP: nil,
                                           timeout: settings.deadAfterSeconds)
        let link = FramedLink(stream)
        defer { link.close() }
        guard let certificate = stream.peerCertificate, let identity = NodeIdentity.identity(of: certificate),
              identity.nodeId.utf8.elementsEqual(peer.nodeId.utf8), identity.region.utf8.elementsEqual(peer.region.utf8)
        else {
            throw LinkError(.refused, "the certificate at \(peer.address) does not name node \(peer.nodeId) of \(peer.region)")
        }
        let (logged, notices) = storage.read { state -> (LogPosition?, [[UInt8]]) in
            let progress = state.sources[peer.region]
            return (progress.map { LogPosition(epoch: $0.epoch, lsn: $0.lsn) }, Self.encodeNotices(progress, source: peer.region))
        }
        let position = ReplicationDecisions.resumePosition(
            logged: logged, acknowledged: sources.withLock { $0[peer.region]?.appliedPosition })
        try link.send(.hello(Hello(nodeId: nodeId, region: region, sourceRegion: peer.region, position: position,
                                   notices: notices.first ?? [])), timeout: settings.deadAfterSeconds)
        // Notices go with the hello, then with acks: at once when they change, and again every
        // heartbeat period while any is pending (a lost or unrecorded one is sent again; the
        // source acknowledges each through the log, which is what clears it here).
        // The hello carries the first list only; the others go with the first ack.
        var lastNotices = Array(notices.prefix(1))
        var lastNoticesSent = MonotonicClock.seconds()
        func noticesDue() -> [[UInt8]] {
            let current = storage.read { Self.encodeNotices($0.sources[peer.region], source: peer.region) }
            let now = MonotonicClock.seconds()
            guard !current.isEmpty, current != lastNotices || now - lastNoticesSent >= settings.heartbeatSeconds else {
                lastNotices = current
                return []
            }
            lastNotices = current
            lastNoticesSent = now
            return current
        }
        /// Acknowledges `position`, one ack per notice list due; with `always`, one ack even when
        /// no notice is due.
        func acknowledge(_ position: LogPosition, always: Bool) throws {
            let lists = noticesDue()
            for notices in lists.isEmpty && always ? [[]] : lists {
                try link.send(.ack(Ack(position: position, notices: notices)), timeout: sendTimeout)
            }
        }
        /// The newest position acknowledged on this link (an ack may repeat it to carry notices).
        var ackable: LogPosition? = nil
        guard let first = try link.receive(timeout: settings.deadAfterSeconds) else {
            throw LinkError(.timedOut, "no welcome within \(settings.deadAfterSeconds) s")
        }
        switch first {
        case .welcome(let welcome):
            if welcome.mode == .stream { ackable = position ?? .start }
            sources.withLock { state in
                state[peer.region]?.connected = true
                state[peer.region]?.lastError = nil
                state[peer.region]?.sourcePosition = welcome.sourcePosition
                state[peer.region]?.lastHeardAtMillis = Self.nowMillis()
                state[peer.region]?.connects += 1
            }
            log.info("replication: subscribed to \(peer.region) at \(position.map(\.description) ?? "nothing") "
                + "(\(welcome.mode == .snapshot ? "snapshot first" : "streaming"); source at \(welcome.sourcePosition))")
        case .refused(let reason):
            throw LinkError(.refused, "refused: \(reason)")
        default:
            throw LinkError(.io, "expected a welcome")
        }

        var lastHeard = MonotonicClock.seconds()
        var snapshotParts: UInt32 = 0
        var snapshotCopied: Set<String> = []
        let outstanding = Outstanding()
        // Records with nothing for this region are acknowledged without being logged, so the
        // logged position can fall behind; it is logged on its own when far behind (checked once
        // a heartbeat period) and when this node stops (`ReplicationDecisions.shouldLogPosition`).
        var positionCheckedAt = MonotonicClock.seconds()
        func logAcknowledgedPosition(_ check: ReplicationDecisions.PositionCheck) throws {
            positionCheckedAt = MonotonicClock.seconds()
            guard let ackable, snapshotParts == 0 else { return }
            let logged = storage.read { $0.sources[peer.region].map { LogPosition(epoch: $0.epoch, lsn: $0.lsn) } }
            guard ReplicationDecisions.shouldLogPosition(acknowledged: ackable, logged: logged, check: check) else { return }
            let localRegion = region
            let seal = replicaSealer
            submit(outstanding) { state in
                state.intake([], from: peer.region, epoch: ackable.epoch, lsn: ackable.lsn, localRegion: localRegion, seal: seal)
            }
            try awaitDurable(outstanding)
        }
        // When this node stops (`stop()` waits for this thread before the journal closes); a
        // link that merely ended resumes from the acknowledged position kept in memory.
        defer { try? logAcknowledgedPosition(isStopping ? .nodeStopping : .linkEnded) }
        while !isStopping {
            if MonotonicClock.seconds() - positionCheckedAt >= settings.heartbeatSeconds { try logAcknowledgedPosition(.periodic) }
            guard let message = try link.receive(timeout: settings.heartbeatSeconds) else {
                if MonotonicClock.seconds() - lastHeard > settings.deadAfterSeconds {
                    throw LinkError(.timedOut, "nothing heard for \(settings.deadAfterSeconds) s")
                }
                try sendHeartbeat(link, source: peer.region)
                if let ackable { try acknowledge(ackable, always: false) }
                continue
            }
            lastHeard = MonotonicClock.seconds()
            sources.withLock { $0[peer.region]?.lastHeardAtMillis = Self.nowMillis() }
            var acked: LogPosition?
            switch message {
            case .records(let batch):
                for record in batch.records {
                    try apply(record, from: peer.region, outstanding)
                }
                try awaitDurable(outstanding)
                acked = batch.records.last?.position
                if let last = acked {
                    sources.withLock { state in
                        let known = state[peer.region]?.sourcePosition ?? last
                        state[peer.region]?.sourcePosition = max(known, last)
                    }
                }
            case .snapshot(let part):
                guard part.index == snapshotParts else { throw LinkError(.io, "snapshot part \(part.index) out of order") }
                try applySnapshotPart(part, from: peer.region, copied: &snapshotCopied, outstanding)
                snapshotParts += 1
                if part.isLast {
                    try awaitDurable(outstanding)
                    acked = part.position
                    snapshotParts = 0
                    snapshotCopied = []
                }
            case .heartbeat(let heartbeat):
                sources.withLock { $0[peer.region]?.sourcePosition = heartbeat.position }
                // Answered, so that the source hears from an idle subscriber too; pending notices
                // (a promotion while the source writes nothing) go with it.
                try sendHeartbeat(link, source: peer.region)
                if let ackable { try acknowledge(ackable, always: false) }
            case .refused(let reason):
                throw LinkError(.refused, "closed by the source: \(reason)")
            default:
                throw LinkError(.io, "unexpected message")
            }
            if let acked {
                sources.withLock { $0[peer.region]?.appliedPosition = acked }
                ackable = acked
                try acknowledge(acked, always: true)
            }
        }
    }

    private func sendHeartbeat(_ link: FramedLink, source: String) throws {
        let applied = storage.read { $0.sources[source] }
        try link.send(.heartbeat(Heartbeat(position: LogPosition(epoch: applied?.epoch ?? 0, lsn: applied?.lsn ?? 0),
                                           sentAtMillis: Self.nowMillis())), timeout: sendTimeout)
    }

    /// This region's pending notices for `source`, as the hello and acks carry them: one list
    /// of the notices without an access day, and one of those with one. A node of the previous
    /// version cannot read an access day and refuses a whole list it cannot read; apart, it
    /// still records the others (copies confirmed or refused, promotions) during an upgrade.
    package static func encodeNotices(_ progress: SourceProgress?, source: String) -> [[UInt8]] {
        guard let progress, !progress.notices.isEmpty else { return [] }
        let facts = progress.notices.sorted { $0.key < $1.key }.map {
            (fact: Fact.replicaNoticeSet(sourceRegion: source, primaryARN: $0.key, notice: $0.value),
             dated: $0.value.carriesAccessDay)
        }
        return [facts.filter { !$0.dated }, facts.filter(\.dated)].filter { !$0.isEmpty }.map { Fact.encode(list: $0.map(\.fact)) }
    }

    /// The replica's sealer: values in transfer form wrapped under this region's keyring.
    private var replicaSealer: ReplicaSealer {
        { [sealer, region] value, versionId, kmsKeyId, account in
            sealer.importReplicated(value, versionId: versionId, kmsKeyId: kmsKeyId, account: account, region: region)
        }
    }

    /// Applies one source record as one record of this region's log (pipelined: the journal's
    /// group commit makes a batch durable together; `awaitDurable` waits for it).
    private func apply(_ record: ShippedRecord, from source: String, _ outstanding: Outstanding) throws {
        guard case .success(let facts) = Fact.decodeList(record.payload) else {
            throw LinkError(.io, "record \(record.position) does not decode")
        }
        // Nothing for this region: acknowledged once the records before it are durable, and not
        // logged (the durable position stays behind; after a restart the source skips it again).
        guard !facts.isEmpty else { return }
        let localRegion = region
        let seal = replicaSealer
        submit(outstanding) { state in
            state.intake(facts, from: source, epoch: record.position.epoch, lsn: record.position.lsn,
                         localRegion: localRegion, seal: seal)
        }
    }

    /// One snapshot part, applied as one record of this log: the copies replace this region's
    /// in place (readers never see a replica missing while the snapshot arrives). The last part
    /// removes the replicas of that source the snapshot did not hold and sets the position it
    /// was taken at; until then a crash leaves the old position, and the next link asks again.
    private func applySnapshotPart(
        _ part: SnapshotPart, from source: String, copied: inout Set<String>, _ outstanding: Outstanding
    ) throws {
        guard case .success(let seeds) = Fact.decodeList(part.payload),
              seeds.allSatisfy({ if case .replicaSeeded = $0 { true } else { false } }) else {
            throw LinkError(.io, "snapshot part \(part.index) does not decode")
        }
        let localRegion = region
        let seal = replicaSealer
        for case let .replicaSeeded(_, _, secret) in seeds { copied.insert(Names.arn(secret.arn, inRegion: localRegion)) }
        let seen = copied
        submit(outstanding) { state in
            var facts = state.intake(seeds, from: source, epoch: part.position.epoch, lsn: part.position.lsn,
                                         localRegion: localRegion, seal: seal, snapshot: true)
                .filter { if case .replicatedThrough = $0 { false } else { true } }
            if part.isLast {
                facts += state.intakeSnapshotEnd(from: source, copied: seen, localRegion: localRegion)
                facts.append(.replicatedThrough(sourceRegion: source, epoch: part.position.epoch, lsn: part.position.lsn))
            }
            return facts
        }
    }

    /// Outstanding replica writes of the current batch, and the first failure.
    package final class Outstanding: Sendable {
        package let state = ConditionLock<(count: Int, failure: String?)>((0, nil))
    }

    /// Submits one replica write, decided against the state it is applied to. A copy this region
    /// refuses (a name clash, a value it cannot wrap) is logged here; the source hears of it by
    /// the Failed notice among the facts.
    private func submit(_ outstanding: Outstanding, _ decide: (SecretState) -> [Fact]) {
        outstanding.state.withLock { $0.count += 1 }
        storage.write({ [log] state in
            let facts = decide(state)
            for case let .replicaNoticeSet(source, arn, notice?) in facts where notice.kind == .failed {
                log.error("replication: the copy of \(arn) from \(source) failed here: \(notice.message ?? "no reason given")")
            }
            return .success(WriteDecision(facts: facts, answer: .null))
        }, completion: { result in
            outstanding.state.withLock { state in
                state.count -= 1
                if case .failure(let error) = result, state.failure == nil { state.failure = error.message ?? "not stored" }
            }
            outstanding.state.broadcast()
        })
    }

    /// Waits until every submitted replica write is durable; throws the first failure.
    private func awaitDurable(_ outstanding: Outstanding) throws {
        let failure = outstanding.state.withLock(waitingUntil: { $0.count == 0 }) { state -> String? in
            defer { state.failure = nil }
            return state.failure
        }
        if let failure { throw LinkError(.io, "replicated record not stored: \(failure)") }
    }
}

/// A random source for backoff jitter (not for keys).
package struct SystemRandomNumbers {
    private var generator = SystemRandomNumberGenerator()
    package mutating func next() -> UInt64 { generator.next() }
}
