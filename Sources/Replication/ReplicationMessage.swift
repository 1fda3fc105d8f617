/// One frame's worth of the replication protocol. A link carries one source region's log from
/// the source node to one subscriber node; ``ReplicationProtocol/encode(_:)`` and
/// ``FrameDecoder`` put messages on and take them off the wire.
///
/// Order on a link: the subscriber sends `hello` first; the source answers `welcome` (or
/// `refused`); then the source sends `records` (stream mode) or `snapshot` parts followed by
/// `records` (snapshot mode), the subscriber sends `ack`s, and both send `heartbeat`s. `refused`
/// may come from either side at any time, and the link closes after it.
public enum ReplicationMessage: Sendable, Hashable {
    /// Subscriber → source, the first frame.
    case hello(Hello)
    /// Source → subscriber, the answer to `hello`.
    case welcome(Welcome)
    /// Either way, then the link closes: the reason, for the log (at most
    /// ``ReplicationProtocol/maximumReasonBytes`` of UTF-8; longer reasons are cut on encoding).
    case refused(String)
    /// Source → subscriber: records of the source's log, in LSN order.
    case records(RecordBatch)
    /// Source → subscriber: one part of a snapshot of the source's state.
    case snapshot(SnapshotPart)
    /// Subscriber → source: what the subscriber has made durable.
    case ack(Ack)
    /// Both ways: liveness and the sender's newest durable position.
    case heartbeat(Heartbeat)
    /// A node of the region → another, the first and only frame of its connection: a question
    /// about the receiver's term (epoch 0), or a fence (a promotion's new epoch, which the
    /// receiver makes durable before it answers and never goes below again).
    case term(TermQuery)
    /// The answer to `term`, then the connection closes.
    case termAnswer(TermAnswer)
}

/// A promotion's fence, or a node's question about another node of its region's term.
public struct TermQuery: Sendable, Hashable {
    /// The asking node (must match its certificate).
    public var nodeId: String
    /// Its region (must match its certificate and the receiver's).
    public var region: String
    /// The epoch to fence with; 0 asks without fencing.
    public var epoch: UInt64

    public init(nodeId: String, region: String, epoch: UInt64) {
        self.nodeId = nodeId
        self.region = region
        self.epoch = epoch
    }
}

/// Where a region node stands: its role, the highest epoch it heard of (before and after the
/// fence it answers), and where its log ends once nothing more will be appended under the
/// fence (its in-flight appends finished).
public struct TermAnswer: Sendable, Hashable {
    public var nodeId: String
    /// "primary", "standby" or "fenced".
    public var role: String
    /// The highest epoch it had heard of before this query.
    public var highestSeenBefore: UInt64
    /// The highest epoch it has heard of now (durable).
    public var highestSeen: UInt64
    /// Where its log ends (durable).
    public var end: LogPosition

    public init(nodeId: String, role: String, highestSeenBefore: UInt64, highestSeen: UInt64, end: LogPosition) {
        self.nodeId = nodeId
        self.role = role
        self.highestSeenBefore = highestSeenBefore
        self.highestSeen = highestSeen
        self.end = end
    }
}

/// The subscriber's opening frame: who it is and where it stands in the log it wants.
public struct Hello: Sendable, Hashable {
    /// The protocol the subscriber speaks: ``ReplicationProtocol/version``. The decoder refuses
    /// other versions with ``FrameError/Code-swift.struct/unsupportedVersion`` (their layout after
    /// this field may differ), so the source can answer `refused`.
    public var protocolVersion: UInt16
    /// The subscriber's node id (must match its certificate).
    public var nodeId: String
    /// The subscriber's region (must match its certificate).
    public var region: String
    /// The region whose log it wants.
    public var sourceRegion: String
    /// Its durable position in that log; nil when it has nothing of it (it needs a snapshot).
    public var position: LogPosition?
    /// Opaque to this module.
    public var notices: [UInt8]
    /// The highest epoch of its region the subscriber has heard of (version 2; 0 from version 1).
    public var highestSeen: UInt64
    /// The subscriber's epoch history of this log, encoded (`Failover.EpochHistory`; a standby's
    /// only; version 2).
    public var history: [UInt8]

    /// A hello; `protocolVersion` defaults to the version this module speaks.
    public init(
        protocolVersion: UInt16 = ReplicationProtocol.version, nodeId: String, region: String, sourceRegion: String,
        position: LogPosition?, notices: [UInt8] = [], highestSeen: UInt64 = 0, history: [UInt8] = []
    ) {
        self.protocolVersion = protocolVersion
        self.nodeId = nodeId
        self.region = region
        self.sourceRegion = sourceRegion
        self.position = position
        self.notices = notices
        self.highestSeen = protocolVersion >= 2 ? highestSeen : 0
        self.history = protocolVersion >= 2 ? history : []
    }
}

/// The source's answer to a hello: who it is and how the subscriber will catch up.
public struct Welcome: Sendable, Hashable {
    /// How the source will bring the subscriber up to date.
    public enum Mode: UInt8, Sendable {
        /// Records follow, starting after the subscriber's position.
        case stream = 1
        /// Snapshot parts follow, then records after the snapshot's position.
        case snapshot = 2
    }

    /// The source's node id.
    public var nodeId: String
    /// The source's region (the log's region).
    public var region: String
    /// Stream or snapshot.
    public var mode: Mode
    /// The source's newest durable record.
    public var sourcePosition: LogPosition
    /// The source's epoch history, encoded (`Failover.EpochHistory`), for a standby to find
    /// where its log and the primary's part; empty from a node of protocol version 1.
    public var history: [UInt8]

    /// A welcome.
    public init(nodeId: String, region: String, mode: Mode, sourcePosition: LogPosition, history: [UInt8] = []) {
        self.nodeId = nodeId
        self.region = region
        self.mode = mode
        self.sourcePosition = sourcePosition
        self.history = history
    }
}

/// One record of the source's log as it travels: its position there and its payload.
public struct ShippedRecord: Sendable, Hashable {
    /// Bytes a record takes in a `records` frame besides its payload: epoch, LSN, length.
    public static let encodedOverheadBytes = 20

    /// The record's position in the source's log (LSN ≥ 1).
    public var position: LogPosition
    /// The record's payload, opaque here.
    public var payload: [UInt8]

    /// A shipped record.
    public init(position: LogPosition, payload: [UInt8]) {
        self.position = position
        self.payload = payload
    }

    /// The bytes this record adds to a `records` frame: overhead plus payload.
    public var encodedByteCount: Int { Self.encodedOverheadBytes + payload.count }
}

/// Records of the source's log, strictly increasing in position (LSNs may skip records not
/// routed to the subscriber's region; epochs never go backwards).
public struct RecordBatch: Sendable, Hashable {
    /// Bytes of a `records` frame besides its records: the frame header and the count.
    public static let frameOverheadBytes = ReplicationProtocol.headerBytes + 4

    /// The records, in LSN order.
    public var records: [ShippedRecord]

    /// A batch.
    public init(records: [ShippedRecord]) { self.records = records }

    /// The size of this batch's frame: a sender adds records while this stays within
    /// ``ReplicationProtocol/maximumFrameBytes``.
    public var frameByteCount: Int { records.reduce(Self.frameOverheadBytes) { $0 + $1.encodedByteCount } }
}

/// One part of a snapshot of the source's state, taken at one position of its log.
public struct SnapshotPart: Sendable, Hashable {
    /// Bytes of a `snapshot` frame besides its payload: header, position, index, flag, length.
    public static let frameOverheadBytes = ReplicationProtocol.headerBytes + 8 + 8 + 4 + 1 + 4
    /// The largest payload one part can carry within ``ReplicationProtocol/maximumFrameBytes``.
    public static let maximumPayloadBytes = ReplicationProtocol.maximumFrameBytes - frameOverheadBytes

    /// The source position the snapshot is taken at (records after it follow the last part).
    public var position: LogPosition
    /// 0, 1, 2 … in order.
    public var index: UInt32
    /// Whether this is the final part.
    public var isLast: Bool
    /// Opaque to this module.
    public var payload: [UInt8]

    /// A snapshot part.
    public init(position: LogPosition, index: UInt32, isLast: Bool, payload: [UInt8]) {
        self.position = position
        self.index = index
        self.isLast = isLast
        self.payload = payload
    }
}

/// The subscriber's report of what it has made durable.
public struct Ack: Sendable, Hashable {
    /// The newest position of the source's log that the subscriber has made durable.
    public var position: LogPosition
    /// Opaque to this module.
    public var notices: [UInt8]

    /// An ack.
    public init(position: LogPosition, notices: [UInt8] = []) {
        self.position = position
        self.notices = notices
    }
}

/// Liveness, both ways.
public struct Heartbeat: Sendable, Hashable {
    /// The sender's newest durable position of this link's log.
    public var position: LogPosition
    /// The sender's wall clock in milliseconds since 1970, for lag in ms.
    public var sentAtMillis: Int64

    /// A heartbeat.
    public init(position: LogPosition, sentAtMillis: Int64) {
        self.position = position
        self.sentAtMillis = sentAtMillis
    }
}
