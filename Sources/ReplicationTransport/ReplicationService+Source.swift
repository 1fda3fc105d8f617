import Foundation
import Failover
import Journal
import JSON
package import Platform
package import Replication
package import SecretStore
import SecretsAPI
import Synchronization
import TLS
import Configuration
package import Links
import NodeStorage
import Logging
package import AWSProtocol
package import LogShipping

/// The source side: a subscriber from another region connects and gets this region's log from
/// its position on, as its `SourceLink` (the state machine that decides everything) says: the
/// records routed to its region only, values in transfer form (data keys inside this mutual-TLS
/// link and nowhere else).
///
/// Two threads per link: this one performs every send (so frames go out in the machine's
/// order) and feeds the log's growth and the ticks; the reader feeds what arrives, records
/// notices itself, and leaves sends to this one.
extension ReplicationService {
    /// The link state machine's settings.
    package var sourceLinkConfiguration: SourceLink.Configuration {
        // A standby serves no one: other regions and its fellow standbys follow the primary.
        var configuration = SourceLink.Configuration(nodeId: nodeId, region: region,
                                                     peers: isStandby ? [] : settings.peers.map { ($0.nodeId, $0.region) },
                                                     heartbeatMillis: Self.millis(settings.heartbeatSeconds),
                                                     deadAfterMillis: Self.millis(settings.deadAfterSeconds))
        configuration.standbys = isStandby ? [] : settings.regionNodes.map(\.nodeId).filter { $0 != nodeId }
        configuration.history = term.history.encode()
        configuration.windowRecords = Self.windowRecords
        configuration.batchRecords = UInt64(Self.readBatchRecords)
        return configuration
    }

    /// Records read from the journal per batch.
    package static let readBatchRecords = 512

    package func serve(_ descriptor: consuming FileDescriptor, peer: SocketAddress?, ticket: GuardedAcceptor.Ticket) {
        let where_ = peer.map(\.description) ?? "an unknown address"
        let host = peer?.host ?? "?"
        let stream: TLSStream
        do {
            stream = try TLSStream.accept(descriptor, context: serverContext, timeout: settings.deadAfterSeconds, peer: peer)
        } catch {
            // Anyone can connect here: each kind of refusal is logged once per address per 10 s,
            // then counted (the key leaves out the port, which changes with every connection).
            log.repeated("replication: refused links from \(host): \("\(error)".replacingOccurrences(of: where_, with: host))",
                         "replication: refused a link from \(where_): \(error)")
            return
        }
        let link = FramedLink(stream)
        defer { link.close() }
        let subscriber = SubscriberLink(link: link, machine: SourceLink(sourceLinkConfiguration), connectedAtMillis: Self.nowMillis())
        var driver = SourceDriver(service: self, subscriber: subscriber, where_: where_, host: host, ticket: ticket)
        defer { if let number = driver.registered { unregisterLink(number) } }
        let identity = stream.peerCertificate.flatMap { NodeIdentity.identity(of: $0) }
        guard driver.perform(driver.step(.opened(peer: identity.map { SourceLink.PeerName(nodeId: $0.nodeId, region: $0.region) }))) else {
            return
        }
        do {
            guard let message = try link.receive(timeout: settings.deadAfterSeconds) else {
                log.repeated("replication: refused links from \(host): no hello", "replication: \(identity?.nodeId ?? "?") (\(where_)) sent no hello")
                return
            }
            if case .term(let query) = message {
                return answerTerm(query, identity: identity, link: link)
            }
            if case .hello(let hello) = message, hello.region == region, hello.highestSeen > term.highestSeen,
               identity.map({ $0.nodeId == hello.nodeId && $0.region == region }) ?? false {
                // A node of this region heard of a newer epoch: this one is no longer its primary.
                _ = observe(epoch: hello.highestSeen, from: "\(hello.nodeId)'s hello")
                try? link.send(.refused("this node has heard of epoch \(term.highestSeen) only now; it is not the primary of epoch \(hello.highestSeen)"),
                               timeout: 1)
                return
            }
            if case .hello(let hello) = message {
                // Where it can start: the first LSN the log can still read after its position.
                let position = hello.region == region ? durablePosition : committedPosition
                _ = driver.perform(driver.step(.log(committed: position, oldestRetainedLSN: oldestRetained(after: hello.position))))
            }
            guard driver.perform(driver.step(.received(message))) else { return }
        } catch {
            log.repeated("replication: refused links from \(host): no readable hello",
                         "replication: link from \(identity?.nodeId ?? "?") (\(where_)): \(error)")
            return
        }
        guard spawn("repl-acks", { [self] in readAcks(subscriber) }) else { return }
        driver.run()
    }

    /// The log's newest committed position (what other regions are sent).
    package var committedPosition: LogPosition { LogPosition(epoch: storage.epoch, lsn: storage.committedLSN) }

    /// The log's newest durable position (what standbys are sent: with synchronous standbys,
    /// their acks are what commits it).
    package var durablePosition: LogPosition { LogPosition(epoch: storage.epoch, lsn: storage.durableLSN) }

    /// The first LSN this log can still read, as far as a subscriber at `position` is concerned.
    private func oldestRetained(after position: LogPosition?) -> UInt64 {
        guard let position, position.lsn < storage.committedLSN else { return journal.oldestRetainedLSN }
        do {
            _ = try journal.read(from: position.lsn + 1, maxRecords: 1)
            return min(journal.oldestRetainedLSN, position.lsn + 1)
        } catch {
            // Compacted (or unreadable): whatever the journal says, LSN + 1 is not there.
            return max(journal.oldestRetainedLSN, position.lsn + 2)
        }
    }

    /// A fact with its values in transfer form.
    package func export(_ fact: Fact) throws(AWSError) -> Fact {
        try fact.forShipping.mapSealedValues { (value: SealedValue, arn: String, versionId: String) throws(AWSError) -> SealedValue in
            try sealer.exportForReplication(value, arn: arn, versionId: versionId)
        }
    }

    /// Reads the subscriber's acks, notices and heartbeats until the link closes.
    private func readAcks(_ subscriber: SubscriberLink) {
        defer {
            subscriber.link.close()
            subscriber.state.broadcast()
        }
        while !isStopping {
            let input: SourceLink.Input
            do {
                guard let message = try subscriber.link.receive(timeout: settings.heartbeatSeconds / 4) else {
                    if subscriber.state.withLock({ $0.machine.phase == .closed }) { return }
                    continue
                }
                input = .received(message)
            } catch {
                if !isStopping, subscriber.state.withLock({ $0.machine.phase != .closed }) {
                    log.error("replication: link from \(subscriber.region): \(error)")
                }
                _ = subscriber.step(.closed("\(error)"), now: Self.now())
                return
            }
            // Sends are the serving thread's; notices and the end of the link are handled here.
            let actions = subscriber.step(input, now: Self.now())
            // A standby's ack, accepted by its link, moves the commit with synchronous standbys.
            if case .received(.ack(let ack)) = input, let standby = subscriber.standby {
                storage.standbyAcknowledged(standby, through: ack.position.lsn)
            }
            var deferred: [SourceLink.Action] = []
            for action in actions {
                switch action {
                case .recordNotices(let bytes, let from): recordNotices(bytes, from: from)
                case .close(let reason, _):
                    if !isStopping { log.error("replication: \(reason)") }
                    subscriber.link.close()
                    return
                case .logInfo(let message): log.info(message)
                default: deferred.append(action)
                }
            }
            if !deferred.isEmpty {
                subscriber.state.withLock { $0.outbox += deferred }
                subscriber.state.broadcast()
            }
        }
    }

    /// A replica region's notices (copies made or refused, promotions), recorded in this
    /// region's log: the replica statuses change, and each notice is acknowledged back.
    package func recordNotices(_ bytes: [UInt8], from subscriberRegion: String) {
        guard !bytes.isEmpty else { return }
        if subscriberRegion == region { return recordAccesses(bytes) }
        guard let notices = ReplicaNoticeLists.decode(bytes, for: region) else {
            log.error("replication: \(subscriberRegion) sent notices that do not decode")
            return
        }
        guard !notices.isEmpty else { return }
        storage.write({ state in
            .success(WriteDecision(facts: state.recordNotices(notices, from: subscriberRegion), answer: .null))
        }, completion: { [log] result in
            if case .failure(let error) = result { log.error("replication: notices from \(subscriberRegion) not recorded: \(error)") }
        })
    }
}

/// The serving thread's side of one subscriber link: steps its `SourceLink` and performs every
/// action, sends included.
struct SourceDriver {
    let service: ReplicationService
    let subscriber: ReplicationService.SubscriberLink
    let where_: String
    let host: String
    let ticket: GuardedAcceptor.Ticket
    /// The link's number among the served ones, once admitted.
    var registered: Int?

    init(service: ReplicationService, subscriber: ReplicationService.SubscriberLink, where_: String, host: String, ticket: GuardedAcceptor.Ticket) {
        self.service = service
        self.subscriber = subscriber
        self.where_ = where_
        self.host = host
        self.ticket = ticket
    }

    func step(_ input: SourceLink.Input, at now: LinkInstant = ReplicationService.now()) -> [SourceLink.Action] {
        subscriber.step(input, now: now)
    }

    /// Runs the link until it closes or the node stops: the log's growth and the ticks in,
    /// the actions (and those the reader left) out.
    mutating func run() {
        let heartbeat = service.settings.heartbeatSeconds
        while !service.isStopping {
            var actions = subscriber.state.withLock { state -> [SourceLink.Action] in
                defer { state.outbox.removeAll() }
                return state.outbox
            }
            if actions.isEmpty {
                let (closed, windowFull, beyond) = subscriber.state.withLock { ($0.machine.phase == .closed, $0.machine.windowFull, $0.machine.waitingBeyondLSN) }
                // A standby is sent durable records (its acks commit them); other regions, committed ones.
                let toStandby = subscriber.standby != nil
                if closed { return }
                if windowFull {
                    // Room comes with an ack, which the reader steps in.
                    subscriber.state.withLock(waitingUntil: { !$0.outbox.isEmpty || !$0.machine.windowFull || $0.machine.phase == .closed },
                                              timeout: heartbeat / 4) { _, _ in }
                } else if toStandby {
                    _ = service.storage.waitForDurable(beyond: beyond, timeout: heartbeat / 4)
                } else {
                    _ = service.storage.waitForCommit(beyond: beyond, timeout: heartbeat / 4)
                }
                if service.isStopping { return }
                let position = toStandby ? service.durablePosition : service.committedPosition
                actions = step(.log(committed: position, oldestRetainedLSN: service.journal.oldestRetainedLSN)) + step(.tick)
            }
            guard perform(actions) else { return }
        }
    }

    /// Performs `actions` in order; false once the link is over.
    mutating func perform(_ actions: [SourceLink.Action]) -> Bool {
        do {
            for action in actions {
                guard try perform(action) else { return false }
            }
            return true
        } catch {
            if !service.isStopping { service.log.error("replication: link to \(subscriber.region) closed: \(error)") }
            _ = step(.closed("\(error)"))
            subscriber.link.close()
            return false
        }
    }

    private mutating func perform(_ action: SourceLink.Action) throws -> Bool {
        let timeout = service.sendTimeout
        switch action {
        case .send(let message):
            try subscriber.link.send(message, timeout: timeout)
        case .admitted(let hello):
            if service.subscriberCount >= ReplicationService.maximumSubscriberLinks {
                let limit = ReplicationService.maximumSubscriberLinks
                service.log.repeated("replication: refused links: \(limit) already",
                                     "replication: refused \(hello.nodeId) of \(hello.region): \(limit) links already")
                try? subscriber.link.send(.refused("this node serves \(limit) links already"), timeout: 1)
                _ = step(.closed("too many links"))
                return false
            }
            // An authenticated, configured peer: its link is never given up for a new connection.
            ticket.update(nil)
            registered = service.registerLink(subscriber)
        case .recordNotices(let bytes, let from):
            service.recordNotices(bytes, from: from)
        case .sendSnapshot(let region):
            let (state, lsn) = service.storage.readCommitted { ($0, $1) }
            let position = LogPosition(epoch: service.storage.epoch, lsn: lsn)
            let (parts, secrets) = try Shipping.snapshotParts(of: state, for: region, at: position,
                                                   maximumPartBytes: min(SnapshotPart.maximumPayloadBytes, Journal.maxPayloadBytes) / 2,
                                                   export: { try service.export($0) })
            // Fed before sending: the ack may be read before the last part's send returns.
            let after = step(.snapshotTaken(position))
            for part in parts { try subscriber.link.send(.snapshot(part), timeout: timeout) }
            service.log.info("replication: snapshot at \(position) sent to \(region): \(secrets) secrets in \(parts.count) parts")
            return perform(after)
        case .ship(let from, let through, let region):
            // A read returns at most `Journal.maxReadBytes` (and at least one record).
            var records: [LoggedRecord] = []
            while (records.last?.position.lsn ?? from - 1) < through {
                let next = (records.last?.position.lsn ?? from - 1) + 1
                let read = try service.journal.read(from: next, maxRecords: Int(through - next + 1)).filter { $0.lsn <= through }
                guard read.first?.lsn == next else { throw LinkError(.io, "the log holds no record \(next) to ship") }
                records += read.map { LoggedRecord(position: LogPosition(epoch: $0.epoch, lsn: $0.lsn), type: $0.type, payload: $0.payload) }
            }
            let storage = service.storage
            // A standby of this region gets the log as it is; another region, its secrets' facts.
            let batches = region == service.region
                ? try Shipping.standbyBatches(records)
                : try Shipping.batches(records, for: region, fill: { copy in storage.readCommitted { state, _ in state.filledCopy(copy) } },
                                       export: { try service.export($0) })
            for batch in batches { try subscriber.link.send(.records(batch), timeout: timeout) }
        case .close(let reason, let refusal):
            if let refusal {
                service.log.repeated("replication: refused links from \(host): \(refusal.kind)", "replication: refused a link from \(where_): \(refusal.message)")
            } else if !service.isStopping {
                service.log.error("replication: \(reason)")
            }
            subscriber.link.close()
            return false
        case .logInfo(let message):
            service.log.info(message)
        }
        return true
    }
}

extension ReplicationService {
    /// A standby's reads on a new day: each day recorded as a read here would record it (never
    /// moving a date back); the standby drops a note once its copy of the log shows it.
    package func recordAccesses(_ bytes: [UInt8]) {
        guard !isStandby else { return }
        guard let notes = StandbyAccessNotes.decode(bytes) else {
            log.error("replication: a standby sent access notes that do not decode")
            return
        }
        storage.write({ state in
            // The latest day per secret and version: one note per day a standby saw.
            var latest: [String: (day: Int64, versions: [String: Int64])] = [:]
            for note in notes {
                var entry = latest[note.arn] ?? (note.day, [:])
                entry.day = max(entry.day, note.day)
                entry.versions[note.versionId] = max(entry.versions[note.versionId] ?? .min, note.day)
                latest[note.arn] = entry
            }
            var facts: [Fact] = []
            for (arn, entry) in latest.sorted(by: { $0.key < $1.key }) {
                guard let secret = state.secrets[arn], secret.deletedDate == nil else { continue }
                facts += state.accessFacts(secret, versionId: nil, day: entry.day)
                for (versionId, day) in entry.versions.sorted(by: { $0.key < $1.key }) {
                    facts += state.accessFacts(secret, versionId: versionId, day: day).filter {
                        if case .versionAccessed = $0 { true } else { false }
                    }
                }
            }
            return .success(WriteDecision(facts: facts, answer: .null))
        }, completion: { [log] result in
            if case .failure(let error) = result { log.error("replication: a standby's reads not recorded: \(error)") }
        })
    }
}
