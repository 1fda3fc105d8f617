public import Replication
public import SecretStore

/// A moment as a link sees it: a monotonic clock for its timers and the wall clock for what it
/// tells its peer (heartbeats) and the status. Both in milliseconds, both passed in: the links
/// read no clock.
public struct LinkInstant: Sendable, Hashable {
    /// Milliseconds on a clock that never goes back (deadlines, backoff).
    public var monotonicMillis: Int64
    /// Milliseconds since the Unix epoch (heartbeats' sent-at, lag, last heard).
    public var wallMillis: Int64

    /// An instant.
    public init(monotonicMillis: Int64, wallMillis: Int64) {
        self.monotonicMillis = monotonicMillis
        self.wallMillis = wallMillis
    }
}

/// Deliberately broken behaviours, for the simulator's tests that show each checker catching
/// one. Only a caller that imports this module with `@_spi(Simulation)` can set them; the
/// production nodes never do (`scripts/check-layout` checks that only the simulator imports the
/// SPI).
@_spi(Simulation) public struct ShippingFaults: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The source ships every fact to every subscriber, whatever its routes say.
    public static let shipOutsideReplicaSet = ShippingFaults(rawValue: 1 << 0)
    /// A snapshot's last part does not remove the copies the snapshot no longer holds.
    public static let keepCopiesMissingFromSnapshot = ShippingFaults(rawValue: 1 << 1)
    /// A replica applies a record again when it is delivered again (no position check).
    public static let reapplyRecords = ShippingFaults(rawValue: 1 << 2)
    /// A replica logs its acknowledged position at every gap (the idle-position rule forgotten).
    public static let logPositionAtEveryGap = ShippingFaults(rawValue: 1 << 3)
    /// The simulated node answers a client's write before its record is durable.
    public static let acknowledgeBeforeDurable = ShippingFaults(rawValue: 1 << 4)
    /// A replica applies a label move without taking the label off the version it leaves.
    public static let keepLabelOnFormerVersion = ShippingFaults(rawValue: 1 << 5)
    /// A replica link gives up reconnecting after its third failed link.
    public static let stopReconnecting = ShippingFaults(rawValue: 1 << 6)
    /// A replica write is decided even when an append failed after its frame's writes began
    /// (the storage's failure count ignored).
    public static let decideAfterFailure = ShippingFaults(rawValue: 1 << 7)

    /// Each fault by name, for the simulator's command line.
    public static let named: [(name: String, fault: ShippingFaults)] = [
        ("ship-outside-replica-set", .shipOutsideReplicaSet),
        ("keep-copies-missing-from-snapshot", .keepCopiesMissingFromSnapshot),
        ("reapply-records", .reapplyRecords),
        ("log-position-at-every-gap", .logPositionAtEveryGap),
        ("acknowledge-before-durable", .acknowledgeBeforeDurable),
        ("keep-label-on-former-version", .keepLabelOnFormerVersion),
        ("stop-reconnecting", .stopReconnecting),
        ("decide-after-failure", .decideAfterFailure),
    ]
}

/// The records of a region log, as its facts are written (record types) and read back.
public enum RegionLogRecord {
    /// A write's facts (the format before replication): `Fact.encode(list:)`.
    public static let decisionType: UInt16 = 1
    /// A write's facts, each with the regions it ships to: `Fact.encode(routed:routes:)`.
    public static let routedType: UInt16 = 2

    /// The facts of a record of `type`, each with the regions it is routed to (none for type 1).
    public static func routedFacts(type: UInt16, payload: [UInt8]) -> Result<[(fact: Fact, routes: [String])], RecordError> {
        switch type {
        case decisionType:
            return Fact.decodeList(payload).map { $0.map { (fact: $0, routes: []) } }.mapError { RecordError("\($0)") }
        case routedType:
            return Fact.decodeRouted(payload).mapError { RecordError("\($0)") }
        default:
            return .failure(RecordError("type \(type), which this node does not know"))
        }
    }
}

/// A record of the region log that cannot be read, or cannot be shipped.
public struct RecordError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One record as the source reads it from its own log.
public struct LoggedRecord: Sendable, Hashable {
    public var position: LogPosition
    public var type: UInt16
    public var payload: [UInt8]

    public init(position: LogPosition, type: UInt16, payload: [UInt8]) {
        self.position = position
        self.type = type
        self.payload = payload
    }
}

/// What the source sends a subscriber: pure, over records it read and the state they led to.
/// Values are put in transfer form by `export` (the transport's sealer; the simulator's stand-in).
public enum Shipping {
    /// The frames that carry `records` (consecutive LSNs, all committed) to `region`: per record,
    /// only the facts routed to it, a copy filled in with its values. A record with
    /// nothing for the region is left out, except the last one, sent empty so that the
    /// subscriber's position (and its lag) moves on. Each batch fits one frame. `fill` is
    /// `SecretState.filledCopy` of the committed state (a copy is logged without its values).
    ///
    /// - Throws: `RecordError` for a record that does not decode or is larger than a frame;
    ///   whatever `export` throws.
    public static func batches(
        _ records: [LoggedRecord], for region: String, fill: (Secret) -> Secret?, export: (Fact) throws -> Fact
    ) throws -> [RecordBatch] {
        try batches(records, for: region, fill: fill, export: export, faults: [])
    }

    /// Records are sent in frames of about this size (a larger record goes alone, in a frame up
    /// to `ReplicationProtocol.maximumFrameBytes`): a frame is applied and acknowledged only
    /// once whole, so over a slow link that keeps dying (128 kbit/s with drops) small frames
    /// still make progress between the links' ends, where frames of hundreds of KiB never did.
    public static let batchTargetBytes = 32 << 10

    /// Records for a standby of this region: every record as it is (a record from before
    /// replication re-encoded with its routes, none), at its own position, so that the standby's
    /// log is the same log. Values stay wrapped under the region's keyring, which its nodes share.
    public static func standbyBatches(_ records: [LoggedRecord]) throws -> [RecordBatch] {
        var entries: [ShippedRecord] = []
        for record in records {
            let payload: [UInt8]
            if record.type == RegionLogRecord.routedType {
                payload = record.payload
            } else {
                switch RegionLogRecord.routedFacts(type: record.type, payload: record.payload) {
                case .success(let entries): payload = Fact.encode(routed: entries.map(\.fact), routes: entries.map(\.routes))
                case .failure(let error): throw RecordError("record at LSN \(record.position.lsn) does not decode: \(error)")
                }
            }
            entries.append(ShippedRecord(position: record.position, payload: payload))
        }
        return try frames(entries, for: "a standby")
    }

    /// Shipped records in frames of about ``batchTargetBytes`` (a larger record alone); a
    /// record no frame holds is an error.
    static func frames(_ entries: [ShippedRecord], for subscriber: String) throws -> [RecordBatch] {
        var out: [RecordBatch] = []
        var batch: [ShippedRecord] = []
        var size = RecordBatch.frameOverheadBytes
        for entry in entries {
            guard RecordBatch.frameOverheadBytes + entry.encodedByteCount <= ReplicationProtocol.maximumFrameBytes else {
                throw RecordError("record at LSN \(entry.position.lsn) is \(entry.encodedByteCount) bytes for \(subscriber), more than a frame holds")
            }
            if !batch.isEmpty && size + entry.encodedByteCount > Shipping.batchTargetBytes {
                out.append(RecordBatch(records: batch))
                batch = []
                size = RecordBatch.frameOverheadBytes
            }
            batch.append(entry)
            size += entry.encodedByteCount
        }
        if !batch.isEmpty { out.append(RecordBatch(records: batch)) }
        return out
    }

    /// ``batches(_:for:fill:export:)`` with faults, for the simulator.
    @_spi(Simulation) public static func batches(
        _ records: [LoggedRecord], for region: String, fill: (Secret) -> Secret?, export: (Fact) throws -> Fact,
        faults: ShippingFaults
    ) throws -> [RecordBatch] {
        guard let last = records.last else { return [] }
        var entries: [ShippedRecord] = []
        for record in records {
            var shipped: [Fact] = []
            switch RegionLogRecord.routedFacts(type: record.type, payload: record.payload) {
            case .success(let entries):
                for entry in entries where entry.routes.contains(region) || faults.contains(.shipOutsideReplicaSet) {
                    var fact = entry.fact
                    // A copy is logged without its values: filled in from the state now.
                    if case let .replicaSeeded(seedRegion, force, copy) = fact {
                        guard let filled = fill(copy) else { continue }
                        fact = .replicaSeeded(region: seedRegion, forceOverwrite: force, secret: filled)
                    }
                    shipped.append(try export(fact))
                }
            case .failure(let error):
                throw RecordError("record at LSN \(record.position.lsn) does not decode: \(error)")
            }
            guard !shipped.isEmpty || record.position == last.position else { continue }
            entries.append(ShippedRecord(position: record.position, payload: Fact.encode(list: shipped)))
        }
        return try frames(entries, for: region)
    }

    /// A filtered snapshot for `region`: the copies of `state`'s primary secrets replicated to it
    /// (not failed there), in parts that each fit a frame and a journal record, at `position`;
    /// and how many secrets they hold.
    public static func snapshotParts(
        of state: SecretState, for region: String, at position: LogPosition, maximumPartBytes: Int, export: (Fact) throws -> Fact
    ) throws -> (parts: [SnapshotPart], secrets: Int) {
        let seeds = state.secrets.values
            .filter { !$0.isReplica && $0.replicas.contains { $0.region == region && $0.state != .failed } }
            .sorted { $0.arn < $1.arn }
            .map { Fact.replicaSeeded(region: region, forceOverwrite: false, secret: $0) }
        var parts: [[UInt8]] = []
        var current: [Fact] = []
        var size = 0
        for seed in seeds {
            let exported = try export(seed)
            let bytes = exported.encode().count
            if !current.isEmpty && size + bytes > maximumPartBytes {
                parts.append(Fact.encode(list: current))
                current = []
                size = 0
            }
            current.append(exported)
            size += bytes
        }
        parts.append(Fact.encode(list: current))
        let snapshot = parts.enumerated().map { index, payload in
            SnapshotPart(position: position, index: UInt32(index), isLast: index == parts.count - 1, payload: payload)
        }
        return (snapshot, seeds.count)
    }
}

/// One write a replica link asks of its node: a record of the local log, decided (by
/// ``facts(in:from:localRegion:seal:)``) against the state it is appended to.
public enum ReplicaWrite: Sendable, Hashable {
    /// A source record's facts, at its position.
    case records(facts: [Fact], position: LogPosition)
    /// A snapshot part's copies; the last part also removes the copies the snapshot did not
    /// hold (`copied`: the local ARNs of every part) and sets the position.
    case snapshotPart(seeds: [Fact], position: LogPosition, isLast: Bool, copied: Set<String>)
    /// The acknowledged position alone (records with nothing for this region are not logged).
    case position(LogPosition)
    /// A standby's copy of its primary's record (the region's own log): appended as it is, at
    /// the same epoch and LSN, nothing decided.
    case followed(ShippedRecord)

    /// The position this write logs, when it logs one.
    public var loggedPosition: LogPosition? {
        switch self {
        case .records(_, let position): position
        case .snapshotPart(_, let position, let isLast, _): isLast ? position : nil
        case .position(let position): position
        case .followed(let record): record.position
        }
    }

    /// The facts of this write in `state` (the local region's, including every write queued
    /// before it): `SecretState.intake`'s translation.
    public func facts(in state: SecretState, from source: String, localRegion: String, seal: ReplicaSealer) -> [Fact] {
        facts(in: state, from: source, localRegion: localRegion, seal: seal, faults: [])
    }

    /// ``facts(in:from:localRegion:seal:)`` with faults, for the simulator.
    @_spi(Simulation) public func facts(
        in state: SecretState, from source: String, localRegion: String, seal: ReplicaSealer, faults: ShippingFaults
    ) -> [Fact] {
        switch self {
        case let .records(facts, position):
            var received = facts
            if faults.contains(.keepLabelOnFormerVersion) {
                received = facts.map { fact in
                    switch fact {
                    case let .versionAdded(arn, version, moves, date):
                        .versionAdded(arn: arn, version: version, moves: moves.map { LabelMove(label: $0.label, from: nil, to: $0.to) }, date: date)
                    case let .labelsMoved(arn, moves, date):
                        .labelsMoved(arn: arn, moves: moves.map { LabelMove(label: $0.label, from: nil, to: $0.to) }, date: date)
                    default:
                        fact
                    }
                }
            }
            return state.intake(received, from: source, epoch: position.epoch, lsn: position.lsn, localRegion: localRegion, seal: seal,
                                snapshot: faults.contains(.reapplyRecords))
        case let .snapshotPart(seeds, position, isLast, copied):
            var out = state.intake(seeds, from: source, epoch: position.epoch, lsn: position.lsn, localRegion: localRegion,
                                   seal: seal, snapshot: true)
                .filter { if case .replicatedThrough = $0 { false } else { true } }
            if isLast {
                if !faults.contains(.keepCopiesMissingFromSnapshot) {
                    out += state.intakeSnapshotEnd(from: source, copied: copied, localRegion: localRegion)
                }
                out.append(.replicatedThrough(sourceRegion: source, epoch: position.epoch, lsn: position.lsn))
            }
            return out
        case .position(let position):
            return state.intake([], from: source, epoch: position.epoch, lsn: position.lsn, localRegion: localRegion, seal: seal)
        case .followed(let record):
            // Nothing to decide: the primary's facts as they are (a standby appends the record).
            guard case .success(let entries) = RegionLogRecord.routedFacts(type: RegionLogRecord.routedType, payload: record.payload) else { return [] }
            return entries.map(\.fact)
        }
    }
}

/// A replica region's pending notices for one source, as the hello and acks carry them.
public enum ReplicaNoticeLists {
    /// One list of the notices without an access day, and one of those with one. A node of the
    /// previous version cannot read an access day and refuses a whole list it cannot read;
    /// apart, it still records the others (copies confirmed or refused, promotions) during an
    /// upgrade.
    public static func encode(_ progress: SourceProgress?, source: String) -> [[UInt8]] {
        guard let progress, !progress.notices.isEmpty else { return [] }
        let facts = progress.notices.sorted { $0.key < $1.key }.map {
            (fact: Fact.replicaNoticeSet(sourceRegion: source, primaryARN: $0.key, notice: $0.value),
             dated: $0.value.carriesAccessDay)
        }
        return [facts.filter { !$0.dated }, facts.filter(\.dated)].filter { !$0.isEmpty }.map { Fact.encode(list: $0.map(\.fact)) }
    }

    /// The notices of `bytes` (a hello's or an ack's list) that concern `region`'s secrets, by
    /// primary ARN; nil when the list does not decode.
    public static func decode(_ bytes: [UInt8], for region: String) -> [String: ReplicaNotice]? {
        guard case .success(let facts) = Fact.decodeList(bytes) else { return nil }
        var notices: [String: ReplicaNotice] = [:]
        for case let .replicaNoticeSet(sourceRegion, arn, notice?) in facts where sourceRegion == region {
            notices[arn] = notice
        }
        return notices
    }
}
