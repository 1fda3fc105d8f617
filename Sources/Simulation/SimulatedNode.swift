import Journal
@_spi(Simulation) import LogShipping
import Replication
import SecretStore

/// What a queued write answers when it is durable.
enum Completion {
    /// A client's write (its operation number).
    case client(Int)
    /// A replica link's write: the source region's index and the link generation.
    case replica(source: Int, generation: UInt64, logged: LogPosition?)
    /// Notices recorded, a position, anything no one waits for.
    case none
}

/// One write between its decision and its durability: the facts applied to `pending` at once,
/// to `committed` once the journal says the record is durable.
struct QueuedWrite {
    var facts: [Fact]
    /// False for a write with no facts (an idempotent retry, a record already applied): it
    /// completes in order with the writes before it, and appends nothing.
    var appended: Bool
    var completion: Completion
}

/// One region's node: the real journal over a memory disk, the secrets' state as the node
/// keeps it (pending and committed, as `JournalSecretStorage` pipelines them), its replica
/// links (one per other region) and the source links its subscribers opened.
final class SimulatedNode {
    let index: Int
    let region: String
    let nodeId: String
    let disk = MemoryJournalStorage()
    static let directory = "/journal"
    static let epoch: UInt64 = 1

    var journal: SteppedJournal?
    /// Bumped at every crash and stop: events of an earlier life are ignored.
    var incarnation = 0
    var committed = SecretState()
    var committedLSN: UInt64 = 0
    var pending = SecretState()
    var queued: [QueuedWrite] = []
    var flushScheduled = false
    var recordsSinceSnapshot = 0
    /// Appends that failed in this life (the storage's `appendFailures`).
    var appendFailures: UInt64 = 0
    /// Under the nearly-full-disk fault: half the group commits fail with ENOSPC.
    var nearlyFull = false
    /// When each replica link's last write was scheduled to reach the storage.
    var lastWriteScheduled: [Int: Int64] = [:]
    /// How long a group commit takes (milliseconds, low and high): slow for a while under the
    /// slow-disk fault, so that writes are still in flight when a link ends and another begins.
    var diskLatency: (low: Int64, high: Int64) = (1, 4)
    /// Replica links by source region index (nil for its own region).
    var replicaLinks: [ReplicaLink?]
    /// The connection each replica link is on, by source region index.
    var replicaConnections: [Int?]
    /// Source links by connection id.
    var sourceLinks: [Int: SourceLink] = [:]

    init(index: Int, region: String, regions: Int) {
        self.index = index
        self.region = region
        nodeId = "\(region)-a"
        replicaLinks = Array(repeating: nil, count: regions)
        replicaConnections = Array(repeating: nil, count: regions)
    }

    var isUp: Bool { journal != nil }

    static var journalOptions: JournalOptions {
        // Small segments and frequent snapshots, so that compaction (and snapshot catch-up) happens.
        var options = JournalOptions()
        options.segmentBytes = 4 << 10
        options.snapshotEveryRecords = 1 << 30
        options.snapshotEveryBytes = 1 << 40
        return options
    }

    /// Opens the log (recovery over whatever the disk kept) and rebuilds the state from it.
    func open() -> Result<Recovered, SimulationError> {
        let recovered: Recovered
        do {
            let (journal, found) = try SteppedJournal.open(directory: Self.directory, options: Self.journalOptions, storage: disk, log: { _ in })
            self.journal = journal
            recovered = found
        } catch {
            return .failure(SimulationError("the log does not reopen: \(error)"))
        }
        var state = SecretState()
        var lsn: UInt64 = 0
        if let snapshot = recovered.snapshot {
            switch SecretState.decode(snapshot.state) {
            case .success(let decoded): state = decoded
            case .failure(let error): return .failure(SimulationError("snapshot at LSN \(snapshot.lsn) does not decode: \(error)"))
            }
            lsn = snapshot.lsn
        }
        for record in recovered.records {
            switch RegionLogRecord.routedFacts(type: record.type, payload: record.payload) {
            case .success(let entries):
                for entry in entries where !state.apply(entry.fact) {
                    return .failure(SimulationError("record \(record.lsn): \(entry.fact.kindName) about a secret the state does not hold"))
                }
            case .failure(let error):
                return .failure(SimulationError("record \(record.lsn) does not decode: \(error)"))
            }
            lsn = record.lsn
        }
        committed = state
        pending = state
        committedLSN = lsn
        queued = []
        flushScheduled = false
        recordsSinceSnapshot = 0
        sourceLinks = [:]
        replicaConnections = Array(repeating: nil, count: replicaConnections.count)
        return .success(recovered)
    }

    /// The process dies: nothing in memory survives.
    func die() {
        journal = nil
        incarnation += 1
        queued = []
        flushScheduled = false
        sourceLinks = [:]
        replicaConnections = Array(repeating: nil, count: replicaConnections.count)
        for index in replicaLinks.indices where replicaLinks[index] != nil { replicaLinks[index] = nil }
    }

    var committedPosition: LogPosition { LogPosition(epoch: Self.epoch, lsn: committedLSN) }
}

/// A simulated node that cannot go on (its log does not reopen).
struct SimulationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
