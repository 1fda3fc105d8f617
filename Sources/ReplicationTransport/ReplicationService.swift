import Foundation
import Failover
package import Journal
package import JSON
package import Platform
import Replication
import SecretStore
package import SecretsAPI
package import Synchronization
package import TLS
package import Configuration
package import Links
package import Logging
package import NodeStorage
import Admission
package import LogShipping

/// Log shipping between regions, for one node: it serves its own region's log to the other
/// regions' nodes (the source side, `ReplicationService+Source.swift`) and subscribes to theirs
/// (the replica side, `ReplicationService+Replica.swift`), over mutual TLS.
///
/// Threads: one accepting subscribers; per subscriber link, one shipping and one reading; per
/// peer, one subscribing. All stop at `stop()`; every wait is bounded by the heartbeat period.
package final class ReplicationService: Sendable {
    package let nodeId: String
    package let region: String
    package let settings: ReplicationSettings
    package let storage: JournalSecretStorage
    package let journal: Journal
    package let sealer: ValueSealer
    package let log: Logger
    package let serverContext: TLSContext
    package let clientContext: TLSContext
    private let listener: Mutex<FileDescriptor?>
    package let acceptor: GuardedAcceptor
    package let boundAddress: SocketAddress

    /// Subscriber links being served, by a link number (for `status`).
    package let subscribers = Mutex<[Int: SubscriberLink]>([:])
    private let nextLinkNumber = Atomic<Int>(0)
    /// The replica side's link to each source region, by region (the thread of that peer
    /// steps it; `status` reads it).
    package let replicaLinks = Mutex<[String: ReplicaLink]>([:])
    private let threads = Mutex<[OSThread]>([])
    /// Link threads running (detached).
    private let linkThreads = ConditionLock<Int>(0)
    package let stopping = Atomic<Bool>(false)
    /// Set when something suggests a newer epoch: the probe asks the region at once.
    package let probeNow = Atomic<Bool>(false)
    /// A promotion of this node is under way: its own new epoch, heard of back from the nodes
    /// it fenced (a hello, a probe's answer), is not a reason to restart.
    package let promoting = Atomic<Bool>(false)
    /// This node's durable term (the highest epoch heard of, its log's epoch history).
    package let term: RegionTermKeeper
    /// On a standby: the region node it follows (the owner of the highest epoch heard of); nil
    /// on a primary, and on a standby of a region whose newest epoch has no primary yet.
    package let following: ReplicationSettings.RegionNode?
    /// Called when this node must restart in another role (fenced, promoted, a newer epoch to
    /// follow, a divergent tail to set aside): the reason, for the log.
    package let restart: @Sendable (String) -> Void

    /// The most subscriber links served at once (each is two threads).
    package static let maximumSubscriberLinks = 32
    /// Admission on the replication port, which anyone who can reach it can connect to: at
    /// most 16 connections between accept and a finished handshake (each has a thread), 4 of
    /// them from one address, and 2 s for a connection to send its first byte. A real peer
    /// sends its ClientHello at once and finishes in milliseconds, so over a limit the newest
    /// connection takes the place of a silent one, else of the oldest unfinished handshake.
    package static let acceptLimits = GuardedAcceptor.Limits(
        admission: .init(maxConnections: nil, maxUnfinished: 16, maxUnfinishedPerAddress: 4),
        silentTimeout: 2
    )
    /// Unacknowledged records a subscriber may have in flight before the source waits.
    package static let windowRecords: UInt64 = 4096
    /// How long a send may block on a slow peer before the link is given up.
    package var sendTimeout: Double { settings.deadAfterSeconds }

    /// One subscriber link: its connection and its state machine, with the actions its reader
    /// thread left for the serving thread (which performs every send).
    package final class SubscriberLink: Sendable {
        package let link: FramedLink
        package let state: ConditionLock<(machine: SourceLink, outbox: [SourceLink.Action])>
        package let connectedAtMillis: Int64
        package init(link: FramedLink, machine: SourceLink, connectedAtMillis: Int64) {
            self.link = link
            self.state = ConditionLock((machine, []))
            self.connectedAtMillis = connectedAtMillis
        }

        /// Steps the machine under its lock.
        package func step(_ input: SourceLink.Input, now: LinkInstant) -> [SourceLink.Action] {
            let actions = state.withLock { $0.machine.step(input, now: now) }
            state.broadcast()
            return actions
        }

        /// The subscriber's region, once it said hello.
        package var region: String { state.withLock { $0.machine.progress?.region ?? "a subscriber" } }

        /// The node id of a standby of this region, once its link is streaming (nil for
        /// another region's node, and before its hello was admitted).
        package var standby: String? {
            state.withLock { state in
                guard state.machine.phase == .streaming, let progress = state.machine.progress,
                      progress.region == state.machine.configuration.region else { return nil }
                return progress.nodeId
            }
        }
    }

    package struct StartError: Error, CustomStringConvertible {
        package var description: String
    }

    package init(nodeId: String, region: String, settings: ReplicationSettings, certificateFile: String, privateKeyFile: String,
         caFile: String, storage: JournalSecretStorage, journal: Journal, sealer: ValueSealer, log: Logger,
         term: RegionTermKeeper, following: ReplicationSettings.RegionNode?, restart: @escaping @Sendable (String) -> Void) throws(StartError) {
        self.term = term
        self.following = following
        self.restart = restart
        // A primary of a region of several nodes takes no write before it has asked them
        // whether a newer epoch exists (the first probe, within a second of starting).
        if settings.regionNodes.count > 1 && storage.standbyOf == nil { storage.setConfirming(true) }
        self.nodeId = nodeId
        self.region = region
        self.settings = settings
        self.storage = storage
        self.journal = journal
        self.sealer = sealer
        self.log = log
        acceptor = GuardedAcceptor(name: "replication", limits: Self.acceptLimits, log: log)
        do {
            serverContext = try MutualTLS.serverContext(certificateFile: certificateFile, privateKeyFile: privateKeyFile, caFile: caFile)
            clientContext = try MutualTLS.clientContext(certificateFile: certificateFile, privateKeyFile: privateKeyFile, caFile: caFile)
        } catch {
            throw StartError(description: "replication TLS: \(error)")
        }
        do {
            let fd = try TCPSocket.listen(on: settings.listen)
            let port = try TCPSocket.localPort(fd)
            boundAddress = SocketAddress(host: settings.listen.host, port: port) ?? settings.listen
            listener = Mutex(fd)
        } catch {
            throw StartError(description: "cannot listen for replication on \(settings.listen): \(error.message)")
        }
    }

    /// The other regions: where secrets may be replicated to.
    package var peerRegions: Set<String> { Set(settings.peers.map(\.region)) }

    /// The other regions in the order their first node is listed.
    var peerRegionsInOrder: [String] {
        var seen = Set<String>()
        return settings.peers.map(\.region).filter { seen.insert($0).inserted }
    }

    /// Whether this node is a standby of its region (it follows the primary's whole log and
    /// subscribes to no other region: the primary's log already holds what they send).
    package var isStandby: Bool { storage.standbyOf != nil }

    /// The region's primary as a standby follows it (the owner of the highest epoch heard of).
    package var primaryPeer: ReplicationSettings.Peer? {
        following.map { ReplicationSettings.Peer(nodeId: $0.nodeId, region: region, address: $0.address) }
    }

    package func start() throws(StartError) {
        do {
            let accept = try OSThread.start(name: "repl-accept") { [self] in acceptLoop() }
            threads.withLock { $0.append(accept) }
            if settings.regionNodes.count > 1 {
                // Every node of a region asks the others of their term: a primary that was cut off
                // during a promotion, or a standby that missed its fence, learns of it.
                let probe = try OSThread.start(name: "repl-term") { [self] in probeLoop() }
                threads.withLock { $0.append(probe) }
            }
            if isStandby {
                guard let primary = primaryPeer else {
                    // Its region's newest epoch has no primary yet: it follows no one, and
                    // subscribes to no other region (a standby never does).
                    log.info("replication listening on \(boundAddress) (mutual TLS); a standby of no primary yet (epoch \(term.highestSeen))")
                    return
                }
                var seed = SystemRandomNumberGenerator()
                replicaLinks.withLock { $0[region] = ReplicaLink(replicaLinkConfiguration(for: primary), seed: seed.next()) }
                let thread = try OSThread.start(name: "repl-standby") { [self] in subscribeLoop(to: [primary]) }
                threads.withLock { $0.append(thread) }
                log.info("replication listening on \(boundAddress) (mutual TLS); a standby following \(primary.nodeId) at \(primary.address)")
                return
            }
            if storage.syncStandbys != nil {
                // Writes that wait too long for their standbys are answered (retryably) in time.
                let thread = try OSThread.start(name: "repl-sync") { [self] in
                    while !isStopping {
                        storage.expireSyncWaits()
                        OSThread.sleep(seconds: 0.05)
                    }
                }
                threads.withLock { $0.append(thread) }
            }
            for (index, region) in peerRegionsInOrder.enumerated() {
                let candidates = settings.peers.filter { $0.region == region }
                var seed = SystemRandomNumberGenerator()
                replicaLinks.withLock { $0[region] = ReplicaLink(replicaLinkConfiguration(for: candidates[0]), seed: seed.next() &+ UInt64(index)) }
                let thread = try OSThread.start(name: "repl-\(region)") { [self] in subscribeLoop(to: candidates) }
                threads.withLock { $0.append(thread) }
            }
        } catch {
            throw StartError(description: "cannot start replication threads: \(error)")
        }
        log.info("replication listening on \(boundAddress) (mutual TLS); subscribing to "
            + (settings.peers.isEmpty ? "no other region" : peerRegionsInOrder.map { region in
                "\(region) at " + settings.peers.filter { $0.region == region }.map(\.address.description).joined(separator: " or ")
            }.joined(separator: ", ")))
    }

    /// Closes every link and joins every thread.
    package func stop() {
        stopping.store(true, ordering: .releasing)
        // Links to standbys close now: what waits for their acks is answered, not waited for.
        storage.answerAwaitingCommits()
        for link in subscribers.withLock({ Array($0.values) }) {
            link.link.close()
            link.state.broadcast()
        }
        storage.wakeWaiters()
        let pending = threads.withLock { list -> [OSThread] in
            let out = list
            list.removeAll()
            return out
        }
        for thread in pending where !thread.isCurrent { thread.join() }
        // The accept thread has stopped: no new links. Close the ones left and wait for their
        // threads (each wait inside them is bounded by the heartbeat period).
        for link in subscribers.withLock({ Array($0.values) }) {
            link.link.close()
            link.state.broadcast()
        }
        storage.wakeWaiters()
        linkThreads.withLock(waitingUntil: { $0 == 0 }) { _ in }
        _ = listener.withLock { $0.take() }
    }

    package var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Starts a detached thread for one link (links come and go: their threads are not kept
    /// for joining); `stop()` waits for the running ones to finish.
    package func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        linkThreads.withLock { $0 += 1 }
        do {
            try OSThread.startDetached(name: name) { [self] in
                body()
                linkThreads.withLock { $0 -= 1 }
                linkThreads.broadcast()
            }
            return true
        } catch {
            linkThreads.withLock { $0 -= 1 }
            log.error("replication: cannot start a thread: \(error)")
            return false
        }
    }

    package func registerLink(_ link: SubscriberLink) -> Int {
        let number = nextLinkNumber.add(1, ordering: .relaxed).newValue
        subscribers.withLock { $0[number] = link }
        return number
    }

    package var subscriberCount: Int { subscribers.withLock { $0.count } }

    package func unregisterLink(_ number: Int) {
        _ = subscribers.withLock { $0.removeValue(forKey: number) }
    }

    package static func nowMillis() -> Int64 { WallClock.millis() }

    // MARK: - Accepting subscribers

    private func acceptLoop() {
        let fd = listener.withLock { $0?.rawValue ?? -1 }
        guard fd >= 0 else { return }
        acceptor.run(listener: fd, isStopping: { isStopping }) { descriptor, peer, ticket in
            let box = DescriptorBox(descriptor)
            return spawn("repl-serve") { [self] in
                defer { ticket.finish() }
                guard let descriptor = box.take() else { return }
                serve(descriptor, peer: peer, ticket: ticket)
            }
        }
    }

    /// Hands a descriptor to another thread exactly once.
    package final class DescriptorBox: Sendable {
        private let descriptor: Mutex<FileDescriptor?>
        package init(_ descriptor: consuming FileDescriptor) { self.descriptor = Mutex(descriptor) }
        package func take() -> FileDescriptor? { descriptor.withLock { $0.take() } }
    }

    // MARK: - Status

    /// The status of a node without a replication section: its own log only.
    package static func standaloneStatus(nodeId: String, region: String, storage: JournalSecretStorage, journal: Journal) -> JSONValue {
        .object([
            (key: "nodeId", value: .string(nodeId)),
            (key: "region", value: .string(region)),
            (key: "role", value: .string("primary")),
            (key: "replication", value: .null),
            (key: "logs", value: .array([.object([
                (key: "region", value: .string(region)),
                (key: "role", value: .string("primary")),
                (key: "epoch", value: .number(String(storage.epoch))),
                (key: "lsn", value: .number(String(storage.committedLSN))),
                (key: "subscribers", value: .array([])),
            ])])),
            (key: "divergence", value: divergenceStatus(storage)),
        ])
    }

    /// Facts the node's state could not apply (it has diverged from its log): null while none.
    package static func divergenceStatus(_ storage: JournalSecretStorage) -> JSONValue {
        let (count, first) = storage.divergence
        guard count > 0 else { return .null }
        return .object([(key: "facts", value: .number(String(count))), (key: "first", value: first.map { .string($0) } ?? .null)])
    }

    /// The node's replication state, for `strongroom status`.
    package func status() -> JSONValue {
        let now = Self.nowMillis()
        let committed = storage.committedLSN
        let links = subscribers.withLock { Array($0.values) }
        var subscriberEntries: [JSONValue] = []
        for link in links.sorted(by: { $0.connectedAtMillis < $1.connectedAtMillis }) {
            guard let progress = link.state.withLock({ $0.machine.progress }) else { continue }
            let heard: JSONValue = progress.lastHeardAtMillis.map { .number(String(max(0, now - $0))) } ?? .null
            subscriberEntries.append(.object([
                (key: "nodeId", value: .string(progress.nodeId)),
                (key: "region", value: .string(progress.region)),
                (key: "link", value: .string("connected")),
                (key: "ackedEpoch", value: .number(String(progress.acked.epoch))),
                (key: "ackedLSN", value: .number(String(progress.acked.lsn))),
                (key: "shippedLSN", value: .number(String(progress.shipped.lsn))),
                (key: "lagRecords", value: .number(String(progress.lagRecords(sourceLSN: committed)))),
                (key: "lagMillis", value: .number(String(progress.lagMillis(nowMillis: now)))),
                (key: "lastHeardMillisAgo", value: heard),
            ]))
        }
        let role = self.role
        let own: JSONValue = .object([
            (key: "region", value: .string(region)),
            (key: "role", value: .string(role)),
            (key: "epoch", value: .number(String(storage.epoch))),
            (key: "lsn", value: .number(String(committed))),
            (key: "durableLSN", value: .number(String(storage.durableLSN))),
            (key: "subscribers", value: .array(subscriberEntries)),
        ])
        let positions = storage.read { $0.sources }
        var held: [JSONValue] = [own]
        let peers = Dictionary(settings.peers.map { ($0.region, $0) }, uniquingKeysWith: { first, _ in first })
        var following: JSONValue = .null
        for (sourceRegion, state) in replicaLinks.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            if sourceRegion == region, let primary = primaryPeer {
                // A standby's link to its primary: its own log's end is its position.
                let sourceLSN = state.sourcePosition?.lsn
                let lag: JSONValue = sourceLSN.map { .number(String($0 > committed ? $0 - committed : 0)) } ?? .null
                following = .object([
                    (key: "primary", value: .string("\(primary.nodeId) at \(primary.address)")),
                    (key: "link", value: .string(state.connected ? "connected" : "disconnected")),
                    (key: "primaryLSN", value: sourceLSN.map { .number(String($0)) } ?? .null),
                    (key: "lagRecords", value: lag),
                    (key: "lastHeardMillisAgo", value: state.lastHeardWallMillis.map { .number(String(max(0, now - $0))) } ?? .null),
                    (key: "lastError", value: state.lastError.map { .string($0) } ?? .null),
                ])
                continue
            }
            guard let peer = peers[sourceRegion] else { continue }
            let durable = positions[sourceRegion].map { LogPosition(epoch: $0.epoch, lsn: $0.lsn) }
            let applied = [durable, state.acknowledged].compactMap { $0 }.max()
            let sourceLSN = state.sourcePosition?.lsn
            var lag = JSONValue.null
            if let sourceLSN, let applied { lag = .number(String(sourceLSN > applied.lsn ? sourceLSN - applied.lsn : 0)) }
            let epoch: JSONValue = applied.map { .number(String($0.epoch)) } ?? .null
            let lsn: JSONValue = applied.map { .number(String($0.lsn)) } ?? .null
            let source: JSONValue = sourceLSN.map { .number(String($0)) } ?? .null
            let heard: JSONValue = state.lastHeardWallMillis.map { .number(String(max(0, now - $0))) } ?? .null
            let lastError: JSONValue = state.lastError.map { .string($0) } ?? .null
            held.append(.object([
                (key: "region", value: .string(sourceRegion)),
                (key: "role", value: .string("replica")),
                (key: "source", value: .string("\(peer.nodeId) at \(peer.address)")),
                (key: "epoch", value: epoch),
                (key: "lsn", value: lsn),
                (key: "sourceLSN", value: source),
                (key: "lagRecords", value: lag),
                (key: "link", value: .string(state.connected ? "connected" : "disconnected")),
                (key: "lastHeardMillisAgo", value: heard),
                (key: "lastError", value: lastError),
            ]))
        }
        return .object([
            (key: "nodeId", value: .string(nodeId)),
            (key: "region", value: .string(region)),
            (key: "role", value: .string(role)),
            (key: "epoch", value: .number(String(term.history.current))),
            (key: "highestSeenEpoch", value: .number(String(term.highestSeen))),
            (key: "confirming", value: .bool(storage.isConfirming)),
            (key: "epochHistory", value: .string(term.history.description)),
            (key: "committedLSN", value: .number(String(committed))),
            (key: "durableLSN", value: .number(String(storage.durableLSN))),
            (key: "replication", value: .string(boundAddress.description)),
            (key: "following", value: following),
            (key: "logs", value: .array(held)),
            (key: "divergence", value: Self.divergenceStatus(storage)),
        ])
    }
}
