import Foundation
import Failover
import Journal
import JSON
import Platform
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
package import LogShipping

/// The replica side: for each other region, a thread that runs that region's `ReplicaLink`
/// (the state machine that decides everything) and performs its actions: connect, send, write
/// to this region's log, close. What arrives is applied as facts of this region's own log (the
/// same VersionIds, labels and dates; its own ARNs and keys) and acknowledged once durable.
extension ReplicationService {
    /// The link state machine's settings for `peer`.
    package func replicaLinkConfiguration(for peer: ReplicationSettings.Peer) -> ReplicaLink.Configuration {
        var configuration = ReplicaLink.Configuration(nodeId: nodeId, region: region, sourceRegion: peer.region,
                                                      heartbeatMillis: Self.millis(settings.heartbeatSeconds),
                                                      deadAfterMillis: Self.millis(settings.deadAfterSeconds))
        if peer.region == region {
            // A standby: its hello says which epochs it knows, and it tries its primary again
            // soon (after a promotion the new primary is ready within a second or two).
            configuration.highestSeen = term.highestSeen
            configuration.history = term.history.encode()
            configuration.backoffCapSeconds = 0.5
        }
        return configuration
    }

    package static func millis(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded(.up)) }

    /// A link to the replication port of node `nodeId` of `region` at `address`, its
    /// certificate checked to name that node of that region (mutual TLS).
    func connect(toNode nodeId: String, of region: String, at address: SocketAddress, timeout: Double) throws(LinkError) -> FramedLink {
        let stream = try TLSStream.connect(to: address, context: clientContext, expectedPeerIP: nil, timeout: timeout)
        guard let certificate = stream.peerCertificate, let identity = NodeIdentity.identity(of: certificate),
              identity.nodeId.utf8.elementsEqual(nodeId.utf8), identity.region.utf8.elementsEqual(region.utf8) else {
            stream.close()
            throw LinkError(.refused, "the certificate at \(address) does not name node \(nodeId) of \(region)")
        }
        return FramedLink(stream)
    }

    /// The instant the links see: the monotonic clock for their timers, the wall clock for peers.
    package static func now() -> LinkInstant {
        LinkInstant(monotonicMillis: Int64((MonotonicClock.seconds() * 1000).rounded(.down)), wallMillis: nowMillis())
    }

    /// Follows one region's log from `candidates` (that region's nodes, its first primary
    /// first): a candidate that does not welcome this node (down, or not that region's
    /// primary) gives way to the next at the next connect.
    package func subscribeLoop(to candidates: [ReplicationSettings.Peer]) {
        var driver = ReplicaDriver(service: self, candidates: candidates)
        driver.run()
    }

    /// The replica's sealer: values in transfer form wrapped under this region's keyring.
    package var replicaSealer: ReplicaSealer {
        { [sealer, region] value, versionId, kmsKeyId, account in
            sealer.importReplicated(value, versionId: versionId, kmsKeyId: kmsKeyId, account: account, region: region)
        }
    }
}

/// Runs one `ReplicaLink` on its thread: steps it, performs its actions in order, and feeds
/// back what they did. Writes are pipelined into the journal and awaited before the next frame
/// is read (so TCP holds back a source that ships faster than this region logs).
struct ReplicaDriver {
    let service: ReplicationService
    /// The node connected to (or next to connect to), one of `candidates`.
    var peer: ReplicationSettings.Peer
    let candidates: [ReplicationSettings.Peer]
    var candidateIndex = 0
    /// Whether the last link was welcomed: if not, the next connect tries the next candidate.
    var welcomed = true
    var link: FramedLink?
    /// Completions of the writes asked for, in the order they complete (the journal's order).
    let completions = ConditionLock<[(generation: UInt64, logged: LogPosition?, failure: String?)]>([])
    var outstanding = 0
    /// The storage's failed appends when the writes now outstanding began: each is decided only
    /// if none has failed since (a record must never be logged past one that was not).
    var failuresAtStart: UInt64 = 0

    init(service: ReplicationService, candidates: [ReplicationSettings.Peer]) {
        precondition(!candidates.isEmpty, "a region to follow has a node")
        self.service = service
        self.candidates = candidates
        self.peer = candidates[0]
    }

    mutating func run() {
        while !service.isStopping {
            feed(.notices(currentNotices()))
            feed(.tick)
            guard let current = link else {
                let wait = service.replicaLinks.withLock { links -> Double in
                    guard case .idle(let retryAt)? = links[peer.region]?.phase else { return 0.05 }
                    return Double(max(0, retryAt - ReplicationService.now().monotonicMillis)) / 1000
                }
                OSThread.sleep(seconds: min(0.05, max(0.001, wait)))
                continue
            }
            do {
                let before = current.bytesReceived
                guard let message = try current.receive(timeout: service.settings.heartbeatSeconds / 4) else {
                    if current.bytesReceived > before { feed(.progress) }
                    continue
                }
                if case .welcome = message { welcomed = true }
                if isStandbyLink, case .welcome(let welcome) = message, let problem = service.checkWelcome(welcome) {
                    current.close()
                    link = nil
                    feed(.closed(problem))
                    continue
                }
                feed(.received(message))
            } catch {
                if service.isStopping { break }
                feed(.closed("\(error)"))
            }
        }
        // When this node stops (`stop()` waits for this thread before the journal closes).
        feed(.stop)
        link?.close()
        link = nil
    }

    /// How long a connect may take: a standby's primary is near (and a node restarting in
    /// another role waits for this thread), another region's source up to `deadAfterSeconds`.
    var connectTimeout: Double {
        isStandbyLink ? min(service.settings.deadAfterSeconds, ReplicationService.regionConnectSeconds) : service.settings.deadAfterSeconds
    }

    /// Following this region's own primary (a standby), not another region.
    var isStandbyLink: Bool { peer.region == service.region }

    func currentNotices() -> [[UInt8]] {
        if isStandbyLink {
            // A standby's one list: the reads on a new day its primary has yet to record.
            let notes = service.storage.pendingAccessNotes()
            return notes.isEmpty ? [] : [StandbyAccessNotes.encode(notes)]
        }
        return service.storage.read { ReplicaNoticeLists.encode($0.sources[peer.region], source: peer.region) }
    }

    /// Steps the link with `input` and performs what it asks, feeding back each outcome.
    mutating func feed(_ input: ReplicaLink.Input) {
        var inputs = [input]
        while !inputs.isEmpty {
            let next = inputs.removeFirst()
            let now = ReplicationService.now()
            let actions = service.replicaLinks.withLock { $0[peer.region]?.step(next, now: now) ?? [] }
            for action in actions { perform(action, &inputs) }
            // Writes are awaited before the link reads on: each completion is fed in order.
            if outstanding > 0 { inputs += awaitWrites() }
        }
    }

    mutating func perform(_ action: ReplicaLink.Action, _ inputs: inout [ReplicaLink.Input]) {
        switch action {
        case .connect:
            if !welcomed && candidates.count > 1 {
                candidateIndex = (candidateIndex + 1) % candidates.count
                peer = candidates[candidateIndex]
            }
            welcomed = false
            do {
                link = try service.connect(toNode: peer.nodeId, of: peer.region, at: peer.address, timeout: connectTimeout)
                let logged: LogPosition?
                if isStandbyLink {
                    let end = service.storage.committedPosition
                    logged = LogPosition(epoch: end.epoch, lsn: end.lsn)
                } else {
                    logged = service.storage.read { state in state.sources[peer.region].map { LogPosition(epoch: $0.epoch, lsn: $0.lsn) } }
                }
                inputs.append(.connected(logged: logged, notices: currentNotices()))
            } catch {
                inputs.append(.connectFailed("\(error)"))
            }
        case .send(let message):
            guard let link else { return }
            do {
                try link.send(message, timeout: service.sendTimeout)
            } catch {
                link.close()
                self.link = nil
                inputs.append(.closed("\(error)"))
            }
        case .write(let write, let generation):
            submit(write, generation: generation)
        case .close:
            link?.close()
            link = nil
        case .logError(let message):
            if !service.isStopping { service.log.error("\(message) (\(peer.nodeId) at \(peer.address))") }
        case .logInfo(let message):
            service.log.info(message)
        }
    }

    /// Submits one replica write, decided against the state it is applied to. A copy this region
    /// refuses (a name clash, a value it cannot wrap) is logged here; the source hears of it by
    /// the Failed notice among the facts.
    mutating func submit(_ write: ReplicaWrite, generation: UInt64) {
        if outstanding == 0 { failuresAtStart = service.storage.appendFailures }
        outstanding += 1
        let completions = completions
        // A write's outcome, in the order writes complete: the position it logged, or why not.
        let complete: @Sendable (LogPosition?, String?) -> Void = { logged, failure in
            completions.withLock { $0.append((generation, failure == nil ? logged : nil, failure)) }
            completions.broadcast()
        }
        if case .followed(let record) = write {
            if record.position.epoch > service.term.history.current {
                // The history gains the epoch before its first record is in the log.
                do {
                    try service.term.begin(epoch: record.position.epoch, at: record.position.lsn)
                } catch {
                    return complete(nil, "cannot record epoch \(record.position.epoch): \(error)")
                }
            }
            service.storage.appendFollowed(epoch: record.position.epoch, lsn: record.position.lsn, payload: record.payload) { result in
                switch result {
                case .success: complete(nil, nil)
                case .failure(let error): complete(nil, error.description)
                }
            }
            return
        }
        let localRegion = service.region
        let source = peer.region
        let seal = service.replicaSealer
        service.storage.write(unlessFailedSince: failuresAtStart, { [log = service.log] state in
            let facts = write.facts(in: state, from: source, localRegion: localRegion, seal: seal)
            for case let .replicaNoticeSet(source, arn, notice?) in facts where notice.kind == .failed {
                log.error("replication: the copy of \(arn) from \(source) failed here: \(notice.message ?? "no reason given")")
            }
            return .success(WriteDecision(facts: facts, answer: .null))
        }, completion: { result in
            switch result {
            case .success: complete(write.loggedPosition, nil)
            case .failure(let error): complete(nil, error.message ?? "not stored")
            }
        })
    }

    /// Waits for every outstanding write; their outcomes as the link's inputs, in order.
    mutating func awaitWrites() -> [ReplicaLink.Input] {
        let target = outstanding
        var done: [(generation: UInt64, logged: LogPosition?, failure: String?)] = []
        // Bounded waits: a write waiting for synchronous standbys while the node stops is
        // answered by the storage, but the link does not count on it.
        while done.count < target {
            done += completions.withLock(waitingUntil: { !$0.isEmpty }, timeout: 0.25) { list, _ in
                defer { list.removeAll() }
                return list
            }
            if service.isStopping && done.count < target {
                let generation = done.last?.generation ?? service.replicaLinks.withLock { $0[peer.region]?.generation ?? 0 }
                done += Array(repeating: (generation, nil, "the node is stopping"), count: target - done.count)
            }
        }
        outstanding = 0
        // The notices first: the acks the completions release carry them.
        var inputs: [ReplicaLink.Input] = [.notices(currentNotices())]
        for completion in done {
            if let failure = completion.failure {
                inputs.append(.writeFailed(generation: completion.generation, failure))
            } else {
                if let logged = completion.logged { service.replicaLinks.withLock { $0[peer.region]?.noteLogged(logged) } }
                inputs.append(.durable(generation: completion.generation))
            }
        }
        return inputs
    }
}
