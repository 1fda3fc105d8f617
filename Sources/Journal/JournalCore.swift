internal import Platform
import Synchronization

/// One segment file as the journal tracks it in memory.
struct SegmentEntry: Sendable {
    var name: String
    var firstLSN: UInt64
    /// `firstLSN - 1` while the segment holds no record.
    var lastLSN: UInt64
    /// The end of the last durable record; readers never look past it.
    var endOffset: Int
    var file: any JournalFile
    /// Sparse (LSN, offset) entries, ascending.
    var index: [IndexEntry]
    /// The epoch of the record before `firstLSN` (lower bound for the first record's epoch).
    var epochBefore: UInt64
    /// The epoch of the last record (`epochBefore` when empty).
    var lastEpoch: UInt64

    var isEmpty: Bool { lastLSN < firstLSN }

    /// A new segment, before its first record: `epoch` is the last record's before it.
    static func empty(name: String, firstLSN: UInt64, file: any JournalFile, epoch: UInt64) -> SegmentEntry {
        SegmentEntry(
            name: name, firstLSN: firstLSN, lastLSN: firstLSN - 1, endOffset: JournalFormat.segmentHeaderBytes,
            file: file, index: [], epochBefore: epoch, lastEpoch: epoch
        )
    }
}

/// What readers, the writer and the snapshotter share, under one `Mutex`. Held only for
/// in-memory changes, never across I/O.
struct SegmentTable: Sendable {
    /// Ascending by LSN, contiguous; never empty while open. The last one is being appended to.
    var segments: [SegmentEntry]
    var lastDurableLSN: UInt64
    /// The newest snapshot on disk (LSN 0: none).
    var snapshotLSN: UInt64
    var snapshotName: String?
    /// The LSN of a snapshot being written: truncation may not go below it.
    var pendingSnapshotLSN: UInt64?
    /// A truncation is running: snapshots must not capture state that it is discarding.
    var truncating = false
    /// Truncations begun so far: readers and snapshots that saw another count retry or fail.
    var truncations: UInt64 = 0
    var closed = false

    /// The index of the segment that holds `lsn` (the last with `firstLSN ≤ lsn`).
    func segmentIndex(containing lsn: UInt64) -> Int? {
        var low = 0
        var high = segments.count - 1
        var found: Int?
        while low <= high {
            let middle = (low + high) / 2
            if segments[middle].firstLSN <= lsn {
                found = middle
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return found
    }

    /// Records a batch made durable in the active (last) segment.
    mutating func appended(_ written: JournalWriterCore.Written) {
        let position = segments.count - 1
        precondition(segments[position].lastLSN + 1 == written.firstLSN, "writer and segment table disagree")
        segments[position].lastLSN = written.lastLSN
        segments[position].endOffset = written.end
        segments[position].lastEpoch = written.epoch
        segments[position].index += written.index
        lastDurableLSN = written.lastLSN
    }

    /// Adds a segment just rolled to; it follows the last one.
    mutating func rolled(to entry: SegmentEntry) {
        precondition(segments.last.map { $0.lastLSN + 1 == entry.firstLSN } ?? false, "rolled segment is not contiguous")
        segments.append(entry)
    }

    /// Whether a snapshot at `lsn` of `stateBytes` may be written: false when it is not newer
    /// than the newest one (nothing to do); an error when it is beyond the durable log or too
    /// large.
    func admitsSnapshot(lsn: UInt64, stateBytes: Int) -> Result<Bool, JournalError> {
        guard lsn <= lastDurableLSN else {
            return .failure(JournalError(.invalidArgument, "snapshot source is at LSN \(lsn), beyond the durable log (\(lastDurableLSN))"))
        }
        guard stateBytes <= JournalFormat.maxSnapshotStateBytes else {
            return .failure(JournalError(.invalidArgument, "snapshot state of \(stateBytes) bytes exceeds the limit"))
        }
        return .success(lsn > snapshotLSN)
    }

    /// Makes the snapshot at `lsn`, named `name` and durable, the newest, and drops the segments
    /// it wholly covers (every one before the segment holding `lsn + 1`).
    ///
    /// - Returns: the files that are no longer needed: those segments and the older snapshot.
    mutating func installSnapshot(lsn: UInt64, name: String) -> (segments: [String], oldSnapshot: String?) {
        let old = snapshotName
        snapshotLSN = lsn
        snapshotName = name
        pendingSnapshotLSN = nil
        var removed: [String] = []
        while segments.count >= 2 && segments[1].firstLSN <= lsn + 1 {
            removed.append(segments.removeFirst().name)
        }
        return (removed, old)
    }
}

/// One queued request for the writer thread, in submission order.
enum QueueItem: Sendable {
    case append(type: UInt16, epoch: UInt64, payload: [UInt8], completion: @Sendable (Result<UInt64, JournalError>) -> Void)
    case truncate(after: UInt64, completion: @Sendable (Result<Void, JournalError>) -> Void)

    var isAppend: Bool {
        if case .append = self { true } else { false }
    }
}

/// The append queue. States: open (`closing == false`) → closing (no new items; the writer drains
/// what is queued) → the writer exits when `items` is empty. Independently, while open: running
/// (`halt == nil`) → halted (the writer set it when an append failed on I/O, and took the appends
/// then queued out of `items` to fail them) → running (``Journal/resume()``); halted again at the
/// next such failure.
struct QueueState: Sendable {
    var items: [QueueItem] = []
    /// Appends queued or being written, and their payload bytes: the memory bound.
    var outstandingAppends = 0
    var outstandingBytes = 0
    var closing = false
    /// While set, appends fail at once with this error (naming the append that failed).
    var halt: JournalError?
}

/// The snapshot thread's inputs. `requested` is set by the writer past a threshold; `busy` while
/// one snapshot is being taken (the thread's or ``Journal/snapshotNow()``).
struct SnapshotControl: Sendable {
    var source: (any SnapshotSource)?
    var schedule: SnapshotSchedule
    var requested = false
    var busy = false
    var closing = false
}

/// The state behind a ``Journal``, shared with its threads.
final class JournalCore: Sendable {
    let directory: String
    let options: JournalOptions
    let storage: any JournalStorage
    let log: @Sendable (String) -> Void

    let queue: ConditionLock<QueueState>
    let table: Mutex<SegmentTable>
    let control: ConditionLock<SnapshotControl>
    let durableLSN: Atomic<UInt64>
    let statistics = Mutex(JournalStatistics())
    let threads = Mutex<(writer: OSThread?, snapshotter: OSThread?)>((nil, nil))
    let lifecycle = Mutex<Lifecycle>(.open)
    let directoryLock: Mutex<(any JournalDirectoryLock)?>

    /// open → closing (a closer that may block is joining the threads) → closed (joined, files
    /// and lock released). Only forward. Queue and snapshot control carry their own `closing`
    /// flags, set by every close, so a close from a journal thread still stops new work.
    enum Lifecycle: Sendable { case open, closing, closed }

    init(
        directory: String, options: JournalOptions, storage: any JournalStorage,
        log: @escaping @Sendable (String) -> Void, table: SegmentTable, lock: any JournalDirectoryLock
    ) {
        self.directory = directory
        self.options = options
        self.storage = storage
        self.log = log
        self.queue = ConditionLock(QueueState())
        self.durableLSN = Atomic(table.lastDurableLSN)
        self.table = Mutex(table)
        self.control = ConditionLock(SnapshotControl(schedule: SnapshotSchedule(options: options)))
        self.directoryLock = Mutex(lock)
    }

    func path(_ name: String) -> String { directory + "/" + name }
}
