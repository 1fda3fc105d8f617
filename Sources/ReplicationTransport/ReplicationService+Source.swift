import Foundation
import Journal
import JSON
package import Platform
import Replication
import SecretStore
import SecretsAPI
import Synchronization
import TLS
import Configuration
package import Links
import NodeStorage
import Logging
import AWSProtocol

/// The source side: a subscriber from another region connects, proves who it is, and gets this
/// region's log from its position on: the records routed to its region only, values in transfer
/// form (data keys inside this mutual-TLS link and nowhere else).
extension ReplicationService {
    /// Records read from the journal per batch.
    package static let readBatchRecords = 512

    package func serve(_ descriptor: consuming FileDescriptor, peer: SocketAddress?, ticket: GuardedAcceptor.Ticket) {
        let where_ = peer.map(\.description) ?? "an unknown address"
        // Anyone can connect here: each kind of refusal is logged once per address per 10 s,
        // then counted (the key leaves out the port, which changes with every connection).
        let host = peer?.host ?? "?"
        func refused(_ reason: String, _ message: String) {
            log.repeated("replication: refused links from \(host): \(reason)", message)
        }
        let stream: TLSStream
        do {
            stream = try TLSStream.accept(descriptor, context: serverContext, timeout: settings.deadAfterSeconds, peer: peer)
        } catch {
            refused("\(error)".replacingOccurrences(of: where_, with: host), "replication: refused a link from \(where_): \(error)")
            return
        }
        let link = FramedLink(stream)
        defer { link.close() }
        guard let certificate = stream.peerCertificate, let identity = NodeIdentity.identity(of: certificate) else {
            refused("a certificate that names no node", "replication: refused a link from \(where_): its certificate names no node")
            try? link.send(.refused("the certificate names no strongroom node"), timeout: 1)
            return
        }
        let hello: Hello
        do {
            guard case .hello(let received)? = try link.receive(timeout: settings.deadAfterSeconds) else {
                refused("no hello", "replication: \(identity.nodeId) (\(where_)) sent no hello")
                return
            }
            hello = received
        } catch {
            refused("no readable hello", "replication: link from \(identity.nodeId) (\(where_)): \(error)")
            return
        }
        // Names compared as bytes: String equality would accept canonically equivalent spellings.
        guard hello.nodeId.utf8.elementsEqual(identity.nodeId.utf8), hello.region.utf8.elementsEqual(identity.region.utf8) else {
            refused("a hello that does not match the certificate", "replication: refused \(where_): its hello claims node \(hello.nodeId) of \(hello.region), its certificate names \(identity.nodeId) of \(identity.region)")
            try? link.send(.refused("the hello does not match the certificate"), timeout: 1)
            return
        }
        // Only the configured peers: a certificate of the cluster CA alone does not make a node
        // one of this cluster's regions (it would receive that region's data keys).
        guard settings.peers.contains(where: { $0.nodeId.utf8.elementsEqual(hello.nodeId.utf8) && $0.region == hello.region }) else {
            refused("not a configured peer", "replication: refused \(hello.nodeId) of \(hello.region) (\(where_)): not a configured peer")
            try? link.send(.refused("node \(hello.nodeId) of \(hello.region) is not a peer of this node"), timeout: 1)
            return
        }
        guard hello.sourceRegion == region, hello.region != region else {
            refused("asked for another log", "replication: refused \(hello.nodeId): it asked for the log of \(hello.sourceRegion), this node serves \(region)'s")
            try? link.send(.refused("this node serves the log of \(region)"), timeout: 1)
            return
        }
        if subscribers.withLock({ $0.count }) >= Self.maximumSubscriberLinks {
            log.repeated("replication: refused links: \(Self.maximumSubscriberLinks) already", "replication: refused \(hello.nodeId) of \(hello.region): \(Self.maximumSubscriberLinks) links already")
            try? link.send(.refused("this node serves \(Self.maximumSubscriberLinks) links already"), timeout: 1)
            return
        }
        // An authenticated, configured peer: its link is never given up for a new connection.
        ticket.update(nil)
        recordNotices(hello.notices, from: hello.region)

        // Where it starts: after its position, or from a filtered snapshot.
        let committed = storage.committedLSN
        let source = LogPosition(epoch: storage.epoch, lsn: committed)
        var oldestRetained: UInt64 = 1
        if let position = hello.position, position.lsn < committed {
            do {
                _ = try journal.read(from: position.lsn + 1, maxRecords: 1)
            } catch {
                // Compacted (or unreadable): whatever the journal says, LSN + 1 is not there.
                oldestRetained = max(journal.oldestRetainedLSN, position.lsn + 2)
            }
        }
        let decision = ReplicationDecisions.catchUp(subscriber: hello.position, source: source, oldestRetainedLSN: oldestRetained)
        let now = Self.nowMillis()
        let start: LogPosition
        switch decision {
        case .stream(let after): start = after
        case .snapshot: start = .start
        }
        let progress = SubscriberProgress(nodeId: hello.nodeId, region: hello.region, position: start, source: source, nowMillis: now)
        let subscriber = SubscriberLink(link: link, progress: progress, connectedAtMillis: now)
        let number = registerLink(subscriber)
        defer { unregisterLink(number) }
        log.info("replication: \(hello.nodeId) of \(hello.region) subscribed at \(hello.position.map(\.description) ?? "nothing"); "
            + { if case .snapshot(let reason) = decision { "sending a snapshot: \(reason)" } else { "streaming" } }())

        do {
            var next: UInt64
            switch decision {
            case .stream(let after):
                try link.send(.welcome(Welcome(nodeId: nodeId, region: region, mode: .stream, sourcePosition: source)), timeout: sendTimeout)
                next = after.lsn + 1
            case .snapshot:
                try link.send(.welcome(Welcome(nodeId: nodeId, region: region, mode: .snapshot, sourcePosition: source)), timeout: sendTimeout)
                next = try sendSnapshot(to: subscriber, region: hello.region) + 1
            }
            let started = spawn("repl-acks") { [self] in readAcks(subscriber, region: hello.region) }
            guard started else { return }
            try ship(to: subscriber, region: hello.region, from: next)
        } catch {
            if !isStopping { log.error("replication: link to \(hello.nodeId) of \(hello.region) closed: \(error)") }
        }
    }

    /// The committed state's secrets replicated to `region`, as copies, in parts; the position
    /// they are at is returned (streaming goes on after it).
    private func sendSnapshot(to subscriber: SubscriberLink, region subscriberRegion: String) throws -> UInt64 {
        let (seeds, lsn) = storage.readCommitted { state, lsn -> ([Fact], UInt64) in
            let copies = state.secrets.values
                .filter { !$0.isReplica && $0.replicas.contains { $0.region == subscriberRegion && $0.state != .failed } }
                .sorted { $0.arn < $1.arn }
                .map { Fact.replicaSeeded(region: subscriberRegion, forceOverwrite: false, secret: $0) }
            return (copies, lsn)
        }
        let position = LogPosition(epoch: storage.epoch, lsn: lsn)
        var parts: [[UInt8]] = []
        var current: [Fact] = []
        var size = 0
        let limit = min(SnapshotPart.maximumPayloadBytes, Journal.maxPayloadBytes) / 2
        for seed in seeds {
            let exported = try export(seed)
            let bytes = exported.encode().count
            if !current.isEmpty && size + bytes > limit {
                parts.append(Fact.encode(list: current))
                current = []
                size = 0
            }
            current.append(exported)
            size += bytes
        }
        parts.append(Fact.encode(list: current))
        subscriber.progress.withLock { $0.recordShipped(through: position) }
        for (index, payload) in parts.enumerated() {
            try subscriber.link.send(.snapshot(SnapshotPart(position: position, index: UInt32(index), isLast: index == parts.count - 1,
                                                            payload: payload)), timeout: sendTimeout)
        }
        log.info("replication: snapshot at \(position) sent to \(subscriberRegion): \(seeds.count) secrets in \(parts.count) parts")
        return lsn
    }

    /// A fact with its values in transfer form.
    private func export(_ fact: Fact) throws(AWSError) -> Fact {
        try fact.forShipping.mapSealedValues { (value: SealedValue, arn: String, versionId: String) throws(AWSError) -> SealedValue in
            try sealer.exportForReplication(value, arn: arn, versionId: versionId)
        }
    }

    /// Ships records from LSN `next` on, for as long as the link lives.
    private func ship(to subscriber: SubscriberLink, region subscriberRegion: String, from start: UInt64) throws {
        var next = start
        while !isStopping {
            // Backpressure: no more than the window unacknowledged.
            let room = subscriber.progress.withLock(waitingUntil: { $0.inFlightRecords < Self.windowRecords },
                                                    timeout: settings.heartbeatSeconds) { _, ready in ready }
            if isStopping { return }
            guard room else {
                try heartbeat(subscriber)
                continue
            }
            let committed = storage.waitForCommit(beyond: next - 1, timeout: settings.heartbeatSeconds)
            subscriber.progress.withLock { $0.sourceAdvanced(to: LogPosition(epoch: storage.epoch, lsn: committed), atMillis: Self.nowMillis()) }
            guard committed >= next else {
                try heartbeat(subscriber)
                continue
            }
            let records = try journal.read(from: next, maxRecords: Self.readBatchRecords).filter { $0.lsn <= committed }
            guard let last = records.last else { continue }
            var batch: [ShippedRecord] = []
            var size = RecordBatch.frameOverheadBytes
            for record in records {
                var shipped: [Fact] = []
                switch JournalSecretStorage.routedFacts(of: record) {
                case .success(let entries):
                    for entry in entries where entry.routes.contains(subscriberRegion) {
                        var fact = entry.fact
                        // A copy is logged without its values: filled in from the state now.
                        if case let .replicaSeeded(seedRegion, force, copy) = fact {
                            guard let filled = storage.readCommitted({ state, _ in state.filledCopy(copy) }) else { continue }
                            fact = .replicaSeeded(region: seedRegion, forceOverwrite: force, secret: filled)
                        }
                        shipped.append(try export(fact))
                    }
                case .failure(let error):
                    throw LinkError(.io, "record at LSN \(record.lsn) does not decode: \(error)")
                }
                // Records with nothing for this region are not sent; the last one of the batch
                // is, empty, so that the subscriber's position (and its lag) moves on. The
                // subscriber acknowledges an empty record without logging anything for it (two
                // regions would otherwise keep each other's logs growing).
                guard !shipped.isEmpty || record.lsn == last.lsn else { continue }
                let entry = ShippedRecord(position: LogPosition(epoch: record.epoch, lsn: record.lsn), payload: Fact.encode(list: shipped))
                guard RecordBatch.frameOverheadBytes + entry.encodedByteCount <= ReplicationProtocol.maximumFrameBytes else {
                    throw LinkError(.io, "record at LSN \(record.lsn) is \(entry.encodedByteCount) bytes for \(subscriberRegion), more than a frame holds")
                }
                if !batch.isEmpty && size + entry.encodedByteCount > ReplicationProtocol.maximumFrameBytes {
                    try send(batch, to: subscriber)
                    batch = []
                    size = RecordBatch.frameOverheadBytes
                }
                batch.append(entry)
                size += entry.encodedByteCount
            }
            if !batch.isEmpty { try send(batch, to: subscriber) }
            next = last.lsn + 1
        }
    }

    private func send(_ batch: [ShippedRecord], to subscriber: SubscriberLink) throws {
        // Noted before sending: the ack may be read before `send` returns.
        if let last = batch.last { subscriber.progress.withLock { $0.recordShipped(through: last.position) } }
        try subscriber.link.send(.records(RecordBatch(records: batch)), timeout: sendTimeout)
    }

    private func heartbeat(_ subscriber: SubscriberLink) throws {
        let position = LogPosition(epoch: storage.epoch, lsn: storage.committedLSN)
        try subscriber.link.send(.heartbeat(Heartbeat(position: position, sentAtMillis: Self.nowMillis())), timeout: sendTimeout)
        let silent = subscriber.progress.withLock { progress in
            progress.silentMillis(nowMillis: Self.nowMillis(), sinceMillis: subscriber.connectedAtMillis)
        }
        if Double(silent) / 1000 > settings.deadAfterSeconds {
            throw LinkError(.timedOut, "nothing heard for \(silent) ms")
        }
    }

    /// Reads the subscriber's acks, notices and heartbeats until the link closes.
    private func readAcks(_ subscriber: SubscriberLink, region subscriberRegion: String) {
        defer {
            subscriber.link.close()
            subscriber.progress.broadcast()
        }
        while !isStopping {
            do {
                guard let message = try subscriber.link.receive(timeout: settings.heartbeatSeconds) else {
                    let silent = subscriber.progress.withLock {
                        $0.silentMillis(nowMillis: Self.nowMillis(), sinceMillis: subscriber.connectedAtMillis)
                    }
                    if Double(silent) / 1000 > settings.deadAfterSeconds {
                        log.error("replication: \(subscriberRegion) silent for \(silent) ms; closing its link")
                        return
                    }
                    continue
                }
                let now = Self.nowMillis()
                switch message {
                case .ack(let ack):
                    try subscriber.progress.withLock { (progress: inout SubscriberProgress) throws(ProgressError) in
                        try progress.recordAck(ack.position, atMillis: now)
                    }
                    subscriber.progress.broadcast()
                    // Every time: the subscriber repeats pending notices at most once a heartbeat
                    // period, and a repeat is recorded as a no-op plus a fresh acknowledgement.
                    recordNotices(ack.notices, from: subscriberRegion)
                case .heartbeat:
                    subscriber.progress.withLock { $0.heard(atMillis: now) }
                case .refused(let reason):
                    log.error("replication: \(subscriberRegion) closed its link: \(reason)")
                    return
                default:
                    log.error("replication: \(subscriberRegion) sent an unexpected message; closing its link")
                    return
                }
            } catch {
                if !isStopping { log.error("replication: link from \(subscriberRegion): \(error)") }
                return
            }
        }
    }

    /// A replica region's notices (copies made or refused, promotions), recorded in this
    /// region's log: the replica statuses change, and each notice is acknowledged back.
    package func recordNotices(_ bytes: [UInt8], from subscriberRegion: String) {
        guard !bytes.isEmpty else { return }
        guard case .success(let facts) = Fact.decodeList(bytes) else {
            log.error("replication: \(subscriberRegion) sent notices that do not decode")
            return
        }
        var notices: [String: ReplicaNotice] = [:]
        for case let .replicaNoticeSet(sourceRegion, arn, notice?) in facts where sourceRegion == region {
            notices[arn] = notice
        }
        guard !notices.isEmpty else { return }
        storage.write({ state in
            .success(WriteDecision(facts: state.recordNotices(notices, from: subscriberRegion), answer: .null))
        }, completion: { [log] result in
            if case .failure(let error) = result { log.error("replication: notices from \(subscriberRegion) not recorded: \(error)") }
        })
    }
}
