import Failover
public import Replication

/// The source side of one replication link, as a value: a subscriber of another region
/// connected to this node (`region`) for its log. The transport accepts the connection, checks
/// its certificate, moves frames, reads the log and the state for `.ship` and `.sendSnapshot`,
/// and feeds back what happened; every decision is here.
///
/// ```
/// awaitingHello ──hello──▶ snapshotting ──snapshotTaken──▶ streaming
///        │         └──────────────────(stream)──────────────▶ │
///        └──── refused / silent / bad frame / closed ──▶ closed ◀┘
/// ```
///
/// Guarantees:
/// - Only a configured peer, whose hello matches its certificate and asks for this region's
///   log, gets anything but a `refused`.
/// - Records are shipped in LSN order, never more than `windowRecords` unacknowledged; an ack
///   that goes back or beyond what was shipped closes the link.
/// - Where it starts: ``ReplicationDecisions/catchUp(subscriber:source:oldestRetainedLSN:)``.
/// - A heartbeat goes out whenever nothing was sent for a heartbeat period; a subscriber
///   silent for `deadAfterMillis` is closed.
public struct SourceLink: Sendable {
    public struct Configuration: Sendable {
        public var nodeId: String
        /// This node's region: the log it serves.
        public var region: String
        /// The nodes allowed to subscribe: (node id, region).
        public var peers: [(nodeId: String, region: String)]
        public var heartbeatMillis: Int64
        public var deadAfterMillis: Int64
        /// Unacknowledged records a subscriber may have in flight.
        public var windowRecords: UInt64 = 4096
        /// Records read from the log per `.ship`.
        public var batchRecords: UInt64 = 512
        /// This region's standbys (node ids): they follow the whole log, record for record.
        public var standbys: [String] = []
        /// This log's epoch history, encoded (`Failover.EpochHistory`), sent in the welcome.
        public var history: [UInt8] = []

        public init(nodeId: String, region: String, peers: [(nodeId: String, region: String)], heartbeatMillis: Int64, deadAfterMillis: Int64) {
            self.nodeId = nodeId
            self.region = region
            self.peers = peers
            self.heartbeatMillis = heartbeatMillis
            self.deadAfterMillis = deadAfterMillis
        }
    }

    public enum Phase: Sendable, Hashable {
        case awaitingHello
        /// The welcome said snapshot; the transport is taking it.
        case snapshotting
        case streaming
        case closed
    }

    /// Who the peer's certificate names.
    public struct PeerName: Sendable, Hashable {
        public var nodeId: String
        public var region: String
        public init(nodeId: String, region: String) {
            self.nodeId = nodeId
            self.region = region
        }
    }

    public enum Input: Sendable {
        /// The connection is accepted and its TLS handshake done; `peer`: who its certificate
        /// names (nil: no node).
        case opened(peer: PeerName?)
        case received(ReplicationMessage)
        /// The log's newest committed position, and the first LSN it can still read (records
        /// before it are compacted). Fed before the hello and whenever the log grows.
        case log(committed: LogPosition, oldestRetainedLSN: UInt64)
        /// The transport took the snapshot asked for: the committed state at this position. Its
        /// parts are sent next (fed before sending: the ack may come back first).
        case snapshotTaken(LogPosition)
        case tick
        case closed(String)
    }

    /// A refusal: the kind (for a summarized log line per address) and the message.
    public struct Refusal: Sendable, Hashable {
        public var kind: String
        public var message: String
    }

    public enum Action: Sendable, Hashable {
        case send(ReplicationMessage)
        /// The hello is acceptable; the transport may still refuse the link (too many links).
        case admitted(Hello)
        /// A replica region's notices, to be recorded in this region's log.
        case recordNotices([UInt8], from: String)
        /// Take the committed state's copies for the subscriber's region, feed
        /// `.snapshotTaken`, and send them as snapshot parts.
        case sendSnapshot(region: String)
        /// Read records `from...through` (committed, consecutive) and send them as
        /// ``Shipping/batches(_:for:fill:export:)`` says.
        case ship(from: UInt64, through: UInt64, region: String)
        /// The link is over; close it. `refusal`: it was refused (log once per address).
        case close(reason: String, refusal: Refusal?)
        case logInfo(String)
    }

    public let configuration: Configuration
    public private(set) var phase: Phase = .awaitingHello
    public private(set) var peer: PeerName?
    /// The subscriber's progress, once it said hello.
    public private(set) var progress: SubscriberProgress?
    public private(set) var connectedAtWallMillis: Int64 = 0
    private var openedMillis: Int64 = 0
    private var lastSentMillis: Int64 = 0
    private var committed = LogPosition.start
    private var oldestRetainedLSN: UInt64 = 1
    /// The next LSN to ship.
    private var next: UInt64 = 1

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Whether the window is full: nothing more is shipped until an ack.
    public var windowFull: Bool { (progress?.inFlightRecords ?? 0) >= configuration.windowRecords }

    /// The LSN the link waits for before it can ship again (the log must grow past it).
    public var waitingBeyondLSN: UInt64 { next - 1 }

    public mutating func step(_ input: Input, now: LinkInstant) -> [Action] {
        var actions: [Action] = []
        switch (input, phase) {
        case (_, .closed):
            break
        case (.opened(let name), .awaitingHello):
            openedMillis = now.monotonicMillis
            lastSentMillis = now.monotonicMillis
            connectedAtWallMillis = now.wallMillis
            guard let name else {
                refuse(kind: "a certificate that names no node", message: "its certificate names no node",
                       reply: "the certificate names no strongroom node", &actions)
                break
            }
            peer = name
        case (.log(let position, let oldest), _):
            committed = max(committed, position)
            oldestRetainedLSN = oldest
            progress?.sourceAdvanced(to: position, atMillis: now.wallMillis)
            if phase == .streaming { ship(now: now, &actions) }
        case (.received(.hello(let hello)), .awaitingHello):
            welcome(hello, now: now, &actions)
        case (.received, .awaitingHello):
            refuse(kind: "no hello", message: "sent no hello", reply: nil, &actions)
        case (.snapshotTaken(let position), .snapshotting):
            progress?.recordShipped(through: position)
            next = position.lsn + 1
            lastSentMillis = now.monotonicMillis
            phase = .streaming
            ship(now: now, &actions)
        case (.received(let message), _):
            receive(message, now: now, &actions)
        case (.tick, .awaitingHello):
            if now.monotonicMillis - openedMillis > configuration.deadAfterMillis {
                refuse(kind: "no hello", message: "sent no hello", reply: nil, &actions)
            }
        case (.tick, _):
            guard let progress else { break }
            let silent = progress.silentMillis(nowMillis: now.wallMillis, sinceMillis: connectedAtWallMillis)
            if silent > configuration.deadAfterMillis {
                close("\(progress.region) silent for \(silent) ms; closing its link", &actions)
            } else if now.monotonicMillis - lastSentMillis >= configuration.heartbeatMillis {
                lastSentMillis = now.monotonicMillis
                actions.append(.send(.heartbeat(Heartbeat(position: committed, sentAtMillis: now.wallMillis))))
            }
        case (.closed, _):
            phase = .closed
        case (.opened, _), (.snapshotTaken, _):
            break
        }
        return actions
    }

    private mutating func welcome(_ hello: Hello, now: LinkInstant, _ actions: inout [Action]) {
        guard let peer else { return }
        // Names compared as bytes: String equality would accept canonically equivalent spellings.
        guard hello.nodeId.utf8.elementsEqual(peer.nodeId.utf8), hello.region.utf8.elementsEqual(peer.region.utf8) else {
            return refuse(kind: "a hello that does not match the certificate",
                          message: "its hello claims node \(hello.nodeId) of \(hello.region), its certificate names \(peer.nodeId) of \(peer.region)",
                          reply: "the hello does not match the certificate", &actions)
        }
        if hello.region == configuration.region {
            return welcomeStandby(hello, now: now, &actions)
        }
        // Only the configured peers: a certificate of the cluster CA alone does not make a node
        // one of this cluster's regions (it would receive that region's data keys).
        guard configuration.peers.contains(where: { $0.nodeId.utf8.elementsEqual(hello.nodeId.utf8) && $0.region == hello.region }) else {
            return refuse(kind: "not a configured peer", message: "\(hello.nodeId) of \(hello.region) is not a configured peer",
                          reply: "node \(hello.nodeId) of \(hello.region) is not a peer of this node", &actions)
        }
        guard hello.sourceRegion == configuration.region else { return refuseAnotherLog(hello, &actions) }
        actions.append(.admitted(hello))
        if !hello.notices.isEmpty { actions.append(.recordNotices(hello.notices, from: hello.region)) }
        var decision = ReplicationDecisions.catchUp(subscriber: hello.position, source: committed, oldestRetainedLSN: oldestRetainedLSN)
        if case .stream(let after) = decision, after.lsn > 0, !configuration.history.isEmpty,
           case .success(let history) = EpochHistory.decode(configuration.history), let epoch = history.epoch(at: after.lsn),
           epoch != after.epoch {
            // Its record at that LSN is of another epoch than this log's: it holds records of an
            // old primary this log set aside (k = 0), so it starts again from a snapshot.
            decision = .snapshot(reason: "the subscriber at \(after) holds another history than this log's (epoch \(epoch) at LSN \(after.lsn))")
        }
        let start: LogPosition
        switch decision {
        case .stream(let after): start = after
        case .snapshot: start = .start
        }
        progress = SubscriberProgress(nodeId: hello.nodeId, region: hello.region, position: start, source: committed, nowMillis: now.wallMillis)
        lastSentMillis = now.monotonicMillis
        actions.append(.logInfo("replication: \(hello.nodeId) of \(hello.region) subscribed at \(hello.position.map(\.description) ?? "nothing"); "
            + { if case .snapshot(let reason) = decision { "sending a snapshot: \(reason)" } else { "streaming" } }()))
        switch decision {
        case .stream(let after):
            stream(after: after, now: now, &actions)
        case .snapshot:
            actions.append(.send(.welcome(Welcome(nodeId: configuration.nodeId, region: configuration.region, mode: .snapshot,
                                                  sourcePosition: committed, history: configuration.history))))
            actions.append(.sendSnapshot(region: hello.region))
            phase = .snapshotting
        }
    }

    /// A standby of this region asks for the whole log after its own log's end. It gets the
    /// records as they are, or a refusal: a standby takes no snapshot of another node's state
    /// (its log must be the primary's), so one whose records are compacted away here is seeded
    /// again from a copy of the primary's data directory.
    private mutating func welcomeStandby(_ hello: Hello, now: LinkInstant, _ actions: inout [Action]) {
        guard configuration.standbys.contains(where: { $0.utf8.elementsEqual(hello.nodeId.utf8) }) else {
            return refuse(kind: "not a configured standby", message: "\(hello.nodeId) of \(hello.region) is not a standby of this node",
                          reply: "node \(hello.nodeId) is not a standby of \(configuration.nodeId)", &actions)
        }
        guard hello.sourceRegion == configuration.region else { return refuseAnotherLog(hello, &actions) }
        let position = hello.position ?? .start
        if case .snapshot(let reason) = ReplicationDecisions.catchUp(subscriber: position, source: committed, oldestRetainedLSN: oldestRetainedLSN) {
            // The welcome first, with this log's epoch history: a standby whose log has records
            // this one does not (an old primary's tail) finds the fork point in it and sets them
            // aside; then the refusal.
            actions.append(.send(.welcome(Welcome(nodeId: configuration.nodeId, region: configuration.region, mode: .stream,
                                                  sourcePosition: committed, history: configuration.history))))
            return refuse(kind: "a standby this log cannot stream to",
                          message: "standby \(hello.nodeId) cannot follow: \(reason)",
                          reply: "this primary cannot stream to the standby (\(reason)); seed it from a copy of the primary's data directory", &actions)
        }
        actions.append(.admitted(hello))
        progress = SubscriberProgress(nodeId: hello.nodeId, region: hello.region, position: position, source: committed, nowMillis: now.wallMillis)
        lastSentMillis = now.monotonicMillis
        actions.append(.logInfo("replication: standby \(hello.nodeId) follows from \(position)"))
        stream(after: position, now: now, &actions)
    }

    /// Welcomes the subscriber to records after `position` and ships what the window allows.
    private mutating func stream(after position: LogPosition, now: LinkInstant, _ actions: inout [Action]) {
        actions.append(.send(.welcome(Welcome(nodeId: configuration.nodeId, region: configuration.region, mode: .stream,
                                              sourcePosition: committed, history: configuration.history))))
        next = position.lsn + 1
        phase = .streaming
        ship(now: now, &actions)
    }

    private mutating func refuseAnotherLog(_ hello: Hello, _ actions: inout [Action]) {
        refuse(kind: "asked for another log",
               message: "\(hello.nodeId) asked for the log of \(hello.sourceRegion), this node serves \(configuration.region)'s",
               reply: "this node serves the log of \(configuration.region)", &actions)
    }

    private mutating func receive(_ message: ReplicationMessage, now: LinkInstant, _ actions: inout [Action]) {
        guard var current = progress else { return }
        switch message {
        case .ack(let ack):
            do {
                try current.recordAck(ack.position, atMillis: now.wallMillis)
            } catch {
                progress = current
                return close("link from \(current.region): \(error)", &actions)
            }
            progress = current
            // Every time: the subscriber repeats pending notices at most once a heartbeat
            // period, and a repeat is recorded as a no-op plus a fresh acknowledgement.
            if !ack.notices.isEmpty { actions.append(.recordNotices(ack.notices, from: current.region)) }
            if phase == .streaming { ship(now: now, &actions) }
        case .heartbeat:
            current.heard(atMillis: now.wallMillis)
            progress = current
        case .refused(let reason):
            close("\(current.region) closed its link: \(reason)", &actions)
        default:
            close("\(current.region) sent an unexpected message; closing its link", &actions)
        }
    }

    /// Ships what the window allows of the committed records not yet shipped.
    private mutating func ship(now: LinkInstant, _ actions: inout [Action]) {
        guard var current = progress else { return }
        while current.inFlightRecords < configuration.windowRecords && committed.lsn >= next {
            let through = min(committed.lsn, next + configuration.batchRecords - 1)
            // Noted before sending: the ack may be read before the send returns.
            current.recordShipped(through: LogPosition(epoch: committed.epoch, lsn: through))
            actions.append(.ship(from: next, through: through, region: current.region))
            next = through + 1
            lastSentMillis = now.monotonicMillis
        }
        progress = current
    }

    private mutating func refuse(kind: String, message: String, reply: String?, _ actions: inout [Action]) {
        if let reply { actions.append(.send(.refused(reply))) }
        actions.append(.close(reason: message, refusal: Refusal(kind: kind, message: message)))
        phase = .closed
    }

    private mutating func close(_ reason: String, _ actions: inout [Action]) {
        actions.append(.close(reason: reason, refusal: nil))
        phase = .closed
    }
}
