public import Replication
import SecretStore
import SeededRandom

/// The replica side of one replication link, as a value: this node (`region`) subscribing to
/// the log of `sourceRegion`. Everything the link remembers lives here; the transport (or the
/// simulator) moves bytes, performs the actions in order, and feeds back what happened.
///
/// ```
/// idle(retry at) ──tick──▶ connecting ──connected──▶ awaitingWelcome ──welcome──▶ streaming
///      ▲                        │                          │                          │
///      └──────── link ended (connect failed, refused, silent, closed, bad frame) ◀────┘
/// any ──stop──▶ stopped
/// ```
///
/// Guarantees (each one a property the simulator checks):
/// - An ack never names a position whose writes are not all durable: writes complete in the
///   order they were asked for, and an ack waits for every write of its batch and before it.
/// - Records are applied in increasing position; a batch going back closes the link.
/// - Notices go with the hello, then with acks: at once when they change, and again every
///   heartbeat period while any is pending (the source acknowledges each through its log,
///   which is what clears them here).
/// - The acknowledged position is logged on its own only by ``ReplicationDecisions/shouldLogPosition(acknowledged:logged:check:)``
///   (so two idle regions never log each other's position records forever).
/// - A lost link is made again after an exponential backoff with full jitter, drawn from the
///   link's own seeded generator (the seed is an input).
public struct ReplicaLink: Sendable {
    public struct Configuration: Sendable {
        public var nodeId: String
        /// This node's region.
        public var region: String
        /// The region whose log this link follows.
        public var sourceRegion: String
        public var heartbeatMillis: Int64
        public var deadAfterMillis: Int64
        public var backoffBaseSeconds = 0.1
        public var backoffCapSeconds = 5.0
        /// The highest epoch of its region this node has heard of, and its log's epoch history
        /// encoded (`Failover.EpochHistory`), for the hello: a primary that learns of a higher
        /// epoch from it is fenced.
        public var highestSeen: UInt64 = 0
        public var history: [UInt8] = []
        @_spi(Simulation) public var faults: ShippingFaults = []

        /// A standby of its own region's primary: it follows the whole log, record for record
        /// at the same positions (`.followed` writes), instead of another region's secrets.
        public var isStandby: Bool { sourceRegion == region }

        public init(nodeId: String, region: String, sourceRegion: String, heartbeatMillis: Int64, deadAfterMillis: Int64) {
            self.nodeId = nodeId
            self.region = region
            self.sourceRegion = sourceRegion
            self.heartbeatMillis = heartbeatMillis
            self.deadAfterMillis = deadAfterMillis
        }
    }

    public enum Phase: Sendable, Hashable {
        /// No link; a connect is due at this monotonic time.
        case idle(retryAtMillis: Int64)
        /// The transport is connecting (TCP, TLS, the peer's certificate).
        case connecting
        /// The hello is sent; the welcome is due.
        case awaitingWelcome(sinceMillis: Int64)
        case streaming
        case stopped
    }

    public enum Input: Sendable {
        /// Time passed (the transport ticks at least every heartbeat period).
        case tick
        /// The transport connected and checked the peer's certificate. `logged`: the position
        /// this node's durable state holds for the source; `notices`: its pending notices, as
        /// `ReplicaNoticeLists.encode` lists them.
        case connected(logged: LogPosition?, notices: [[UInt8]])
        case connectFailed(String)
        case received(ReplicationMessage)
        /// The oldest write not yet completed is durable (writes complete in order), for the
        /// link `generation` that asked for it.
        case durable(generation: UInt64)
        /// A write failed: the link ends (nothing after it may be acknowledged).
        case writeFailed(generation: UInt64, String)
        /// The pending notices for the source now (after a write, or whenever they may change).
        case notices([[UInt8]])
        /// The connection broke (an I/O error, the peer closed it).
        case closed(String)
        /// Bytes arrived, not yet a whole message (a large frame crossing a slow link): the
        /// source is not silent.
        case progress
        /// The node is stopping: log the acknowledged position if it must be, and stop.
        case stop
    }

    public enum Action: Sendable, Hashable {
        /// Open a connection to the source (then feed `.connected` or `.connectFailed`).
        case connect
        case send(ReplicationMessage)
        /// Ask the node for a write; feed `.durable(generation:)` when it is durable.
        case write(ReplicaWrite, generation: UInt64)
        /// Close the connection; the link has already ended.
        case close
        /// A link ended with an error not the same as the last one (repeats are not logged).
        case logError(String)
        case logInfo(String)
    }

    public let configuration: Configuration
    public private(set) var phase: Phase
    /// Bumped whenever a link ends: completions of an earlier link's writes are ignored.
    public private(set) var generation: UInt64 = 0

    // What the status shows.
    public private(set) var connected = false
    public private(set) var lastError: String?
    /// The source's newest position, from its welcome, heartbeats and records.
    public private(set) var sourcePosition: LogPosition?
    /// The newest position acknowledged to the source, on this link or an earlier one of this
    /// process (empty records included, which are acknowledged without being logged).
    public private(set) var acknowledged: LogPosition?
    public private(set) var lastHeardWallMillis: Int64?
    public private(set) var connects = 0

    /// The newest position this node's log holds for the source (durable).
    public private(set) var logged: LogPosition?
    private var backoff: Backoff
    private var random: SplitMix64
    private var linkStartedMillis: Int64 = 0
    private var lastHeardMillis: Int64 = 0
    private var lastHeartbeatSentMillis: Int64 = 0
    private var positionCheckedMillis: Int64 = 0
    /// The position of the hello (streaming starts after it).
    private var helloPosition: LogPosition?
    /// The newest record position received on this link (records must go forward).
    private var received: LogPosition?
    /// Writes asked for and not yet durable, per batch: how many remain, and the position the
    /// batch acknowledges (nil: a snapshot part before the last, or a position record).
    private var batches: [(remaining: Int, acknowledges: LogPosition?)] = []
    /// The position record being written, if any.
    private var loggingPosition: LogPosition?
    private var snapshotParts: UInt32 = 0
    /// Links ended so far (for the simulator's broken variant that gives up).
    private var linksEnded = 0
    private var snapshotCopied: Set<String> = []
    private var currentNotices: [[UInt8]] = []
    private var lastNotices: [[UInt8]] = []
    private var lastNoticesSentMillis: Int64 = 0

    /// A link that connects at the first tick. `seed` drives its backoff's jitter.
    public init(_ configuration: Configuration, seed: UInt64) {
        self.configuration = configuration
        backoff = Backoff(base: configuration.backoffBaseSeconds, cap: configuration.backoffCapSeconds)
        random = SplitMix64(seed: seed)
        phase = .idle(retryAtMillis: .min)
    }

    public mutating func step(_ input: Input, now: LinkInstant) -> [Action] {
        var actions: [Action] = []
        let millis = now.monotonicMillis
        switch (input, phase) {
        case (_, .stopped):
            break
        case (.stop, _):
            if case .streaming = phase, !configuration.isStandby, let acknowledged, snapshotParts == 0,
               ReplicationDecisions.shouldLogPosition(acknowledged: acknowledged, logged: loggedOrLogging, check: .nodeStopping) {
                actions.append(.write(.position(acknowledged), generation: generation))
            }
            if isLinked { actions.append(.close) }
            connected = false
            phase = .stopped
        case (.tick, .idle(let retryAt)):
            if millis >= retryAt {
                phase = .connecting
                actions.append(.connect)
            }
        case (.tick, .awaitingWelcome(let since)):
            if millis - since > configuration.deadAfterMillis {
                end("no welcome within \(Double(configuration.deadAfterMillis) / 1000) s", now: now, &actions)
            }
        case (.tick, .streaming):
            // A standby's position is its log's end: never a record of its own.
            if !configuration.isStandby && millis - positionCheckedMillis >= configuration.heartbeatMillis {
                checkPosition(.periodic, now: now, &actions)
            }
            if millis - lastHeardMillis > configuration.deadAfterMillis {
                end("nothing heard for \(Double(configuration.deadAfterMillis) / 1000) s", now: now, &actions)
            } else if millis - max(lastHeardMillis, lastHeartbeatSentMillis) >= configuration.heartbeatMillis {
                sendHeartbeat(now: now, &actions)
                if let acknowledged { acknowledge(acknowledged, always: false, now: now, &actions) }
            }
        case (.tick, _):
            break
        case (.connected(let durable, let notices), .connecting):
            logged = durable
            currentNotices = notices
            let position = ReplicationDecisions.resumePosition(logged: durable, acknowledged: acknowledged)
            helloPosition = position
            received = nil
            linkStartedMillis = millis
            lastHeardMillis = millis
            lastHeartbeatSentMillis = millis
            positionCheckedMillis = millis
            // The hello carries the first list only; the others go with the first ack.
            lastNotices = Array(notices.prefix(1))
            lastNoticesSentMillis = millis
            actions.append(.send(.hello(Hello(nodeId: configuration.nodeId, region: configuration.region,
                                              sourceRegion: configuration.sourceRegion, position: position,
                                              notices: notices.first ?? [], highestSeen: configuration.highestSeen,
                                              history: configuration.history))))
            phase = .awaitingWelcome(sinceMillis: millis)
        case (.connectFailed(let reason), .connecting):
            end(reason, now: now, &actions)
        case (.received(let message), .awaitingWelcome):
            heard(now)
            switch message {
            case .welcome(let welcome):
                if welcome.mode == .stream {
                    acknowledged = helloPosition ?? .start
                    received = helloPosition ?? .start
                }
                connected = true
                lastError = nil
                sourcePosition = welcome.sourcePosition
                connects += 1
                phase = .streaming
                actions.append(.logInfo("replication: subscribed to \(configuration.sourceRegion) at \(helloPosition.map(\.description) ?? "nothing") "
                    + "(\(welcome.mode == .snapshot ? "snapshot first" : "streaming"); source at \(welcome.sourcePosition))"))
            case .refused(let reason):
                end("refused: \(reason)", now: now, &actions)
            default:
                end("expected a welcome", now: now, &actions)
            }
        case (.received(let message), .streaming):
            heard(now)
            receive(message, now: now, &actions)
        case (.durable(let written), _):
            guard written == generation, isLinked, let index = batches.firstIndex(where: { $0.remaining > 0 }) else { break }
            batches[index].remaining -= 1
            drainAcknowledgements(now: now, &actions)
        case (.writeFailed(let written, let reason), _):
            guard written == generation, isLinked else { break }
            end("replicated record not stored: \(reason)", now: now, &actions)
        case (.notices(let notices), _):
            currentNotices = notices
        case (.progress, .awaitingWelcome):
            heard(now)
        case (.progress, .streaming):
            heard(now)
            // Nothing goes back while a frame crawls in (no ack until it is whole): a heartbeat
            // tells the source this side is alive.
            if millis - lastHeartbeatSentMillis >= configuration.heartbeatMillis { sendHeartbeat(now: now, &actions) }
        case (.progress, _):
            break
        case (.closed(let reason), .connecting), (.closed(let reason), .awaitingWelcome), (.closed(let reason), .streaming):
            end(reason, now: now, &actions)
        case (.connected, _), (.connectFailed, _), (.received, _), (.closed, _):
            // A late event of a link that already ended.
            break
        }
        return actions
    }

    /// The durable position updated by a completed write (the node calls this with each
    /// durable write's `loggedPosition`, whichever link asked for it).
    public mutating func noteLogged(_ position: LogPosition) {
        logged = max(logged ?? position, position)
        if let loggingPosition, loggingPosition <= position { self.loggingPosition = nil }
    }

    private var isLinked: Bool {
        switch phase {
        case .connecting, .awaitingWelcome, .streaming: true
        case .idle, .stopped: false
        }
    }

    private var loggedOrLogging: LogPosition? {
        guard let loggingPosition else { return logged }
        return max(logged ?? loggingPosition, loggingPosition)
    }

    private mutating func heard(_ now: LinkInstant) {
        lastHeardMillis = now.monotonicMillis
        lastHeardWallMillis = now.wallMillis
    }

    private mutating func receive(_ message: ReplicationMessage, now: LinkInstant, _ actions: inout [Action]) {
        switch message {
        case .records(let batch):
            var writes = 0
            for record in batch.records {
                if let received, record.position <= received {
                    return end("record \(record.position) after \(received)", now: now, &actions)
                }
                received = record.position
                if configuration.isStandby {
                    // The primary's own record, appended as it is: its LSN must be the next of
                    // this log (the node checks it), whatever it holds.
                    actions.append(.write(.followed(record), generation: generation))
                    writes += 1
                    continue
                }
                guard case .success(let facts) = Fact.decodeList(record.payload) else {
                    return end("record \(record.position) does not decode", now: now, &actions)
                }
                // Nothing for this region: acknowledged once the writes before it are durable,
                // and not logged (after a restart the source skips it again).
                guard !facts.isEmpty else { continue }
                actions.append(.write(.records(facts: facts, position: record.position), generation: generation))
                writes += 1
            }
            guard let last = batch.records.last?.position else { return }
            sourcePosition = max(sourcePosition ?? last, last)
            batches.append((writes, last))
            drainAcknowledgements(now: now, &actions)
        case .snapshot(let part):
            guard !configuration.isStandby else {
                return end("a standby takes no snapshot catch-up (snapshot part \(part.index))", now: now, &actions)
            }
            guard part.index == snapshotParts else {
                return end("snapshot part \(part.index) out of order", now: now, &actions)
            }
            guard case .success(let seeds) = Fact.decodeList(part.payload),
                  seeds.allSatisfy({ if case .replicaSeeded = $0 { true } else { false } }) else {
                return end("snapshot part \(part.index) does not decode", now: now, &actions)
            }
            for case let .replicaSeeded(_, _, secret) in seeds {
                snapshotCopied.insert(Names.arn(secret.arn, inRegion: configuration.region))
            }
            actions.append(.write(.snapshotPart(seeds: seeds, position: part.position, isLast: part.isLast,
                                                copied: part.isLast ? snapshotCopied : []), generation: generation))
            snapshotParts += 1
            if part.isLast {
                batches.append((1, part.position))
                received = part.position
                snapshotParts = 0
                snapshotCopied = []
            } else {
                batches.append((1, nil))
            }
            drainAcknowledgements(now: now, &actions)
        case .heartbeat(let heartbeat):
            sourcePosition = heartbeat.position
            // Answered, so that the source hears from an idle subscriber too; pending notices
            // (a promotion while the source writes nothing) go with it.
            sendHeartbeat(now: now, &actions)
            if let acknowledged { acknowledge(acknowledged, always: false, now: now, &actions) }
        case .refused(let reason):
            end("closed by the source: \(reason)", now: now, &actions)
        default:
            end("unexpected message", now: now, &actions)
        }
    }

    /// Acknowledges the batches whose writes (and every write before them) are durable.
    private mutating func drainAcknowledgements(now: LinkInstant, _ actions: inout [Action]) {
        var newest: LogPosition?
        while let first = batches.first, first.remaining == 0 {
            batches.removeFirst()
            if let position = first.acknowledges { newest = position }
        }
        guard let newest else { return }
        acknowledged = max(acknowledged ?? newest, newest)
        acknowledge(newest, always: true, now: now, &actions)
    }

    /// Acknowledges `position`, one ack per notice list due; with `always`, one ack even when no
    /// notice is due.
    private mutating func acknowledge(_ position: LogPosition, always: Bool, now: LinkInstant, _ actions: inout [Action]) {
        let lists = noticesDue(now: now)
        for notices in lists.isEmpty && always ? [[]] : lists {
            actions.append(.send(.ack(Ack(position: position, notices: notices))))
        }
    }

    private mutating func noticesDue(now: LinkInstant) -> [[UInt8]] {
        let current = currentNotices
        guard !current.isEmpty,
              current != lastNotices || now.monotonicMillis - lastNoticesSentMillis >= configuration.heartbeatMillis else {
            lastNotices = current
            return []
        }
        lastNotices = current
        lastNoticesSentMillis = now.monotonicMillis
        return current
    }

    private mutating func sendHeartbeat(now: LinkInstant, _ actions: inout [Action]) {
        lastHeartbeatSentMillis = now.monotonicMillis
        actions.append(.send(.heartbeat(Heartbeat(position: logged ?? .start, sentAtMillis: now.wallMillis))))
    }

    private mutating func checkPosition(_ check: ReplicationDecisions.PositionCheck, now: LinkInstant, _ actions: inout [Action]) {
        positionCheckedMillis = now.monotonicMillis
        guard let acknowledged, snapshotParts == 0 else { return }
        let everyGap = configuration.faults.contains(.logPositionAtEveryGap) && acknowledged > (loggedOrLogging ?? .start)
        guard everyGap || ReplicationDecisions.shouldLogPosition(acknowledged: acknowledged, logged: loggedOrLogging, check: check) else {
            return
        }
        loggingPosition = acknowledged
        actions.append(.write(.position(acknowledged), generation: generation))
        batches.append((1, nil))
    }

    /// The link is over: close it, and connect again after a backoff. A link that lived a while
    /// starts over from the shortest wait.
    private mutating func end(_ reason: String, now: LinkInstant, _ actions: inout [Action]) {
        if case .connecting = phase {} else { actions.append(.close) }
        if reason != lastError { actions.append(.logError("replication: link to \(configuration.sourceRegion): \(reason)")) }
        lastError = reason
        if connected && now.monotonicMillis - linkStartedMillis > configuration.deadAfterMillis { backoff.reset() }
        connected = false
        let delay = backoff.next(random: random.next())
        phase = .idle(retryAtMillis: now.monotonicMillis + Int64((delay * 1000).rounded(.up)))
        linksEnded += 1
        if configuration.faults.contains(.stopReconnecting) && linksEnded >= 3 { phase = .idle(retryAtMillis: .max) }
        generation += 1
        batches = []
        loggingPosition = nil
        snapshotParts = 0
        snapshotCopied = []
    }
}
