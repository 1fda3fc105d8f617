internal import Platform

/// The group-commit writer's decisions, as a value: which queued appends form the next batch
/// (the batch and segment byte limits), each one's LSN, frame and sparse-index entry, an epoch
/// below the log's (it fails alone), when to roll to a new segment, and what a failed write or
/// roll does (halt: every later append fails until `resume()`). Pure: no I/O, no clock, no
/// randomness. Its owner (the threaded ``Journal``'s writer thread, or a ``SteppedJournal``) does
/// the writes and syncs and reports how they went.
///
/// States and their legal transitions (any other is a precondition failure):
///
///     accepting ──admit → .rollFirst──▶ rolling ──rolled──▶ accepting
///                                               └─rollFailed──▶ halted
///     accepting ──beginWrite (batch not empty)──▶ writing ──batchWritten──▶ accepting
///                                                         └─batchFailed──▶ halted
///     halted ──resume──▶ accepting
///
/// `admit` is legal while accepting (it adds, refuses, or asks for a flush or a roll first) and
/// while halted (it refuses). `truncated` is legal while accepting or halted with an empty batch.
struct JournalWriterCore: Sendable {
    enum State: Sendable, Equatable {
        /// Adding appends to the batch (possibly empty).
        case accepting
        /// The owner is writing the batch: `batchWritten` or `batchFailed` comes next.
        case writing
        /// The owner is creating segment `firstLSN`: `rolled` or `rollFailed` comes next.
        case rolling(firstLSN: UInt64)
        /// A write or roll failed: appends fail with `error` until `resume()`. The batch is empty.
        case halted(JournalError)
    }

    /// Where the log ends on disk.
    struct Position: Sendable, Equatable {
        /// The active segment (the last one), where batches are written.
        var segmentName: String
        /// The durable end of the active segment, where the next batch is written.
        var size: Int
        var nextLSN: UInt64
        /// The epoch of the last durable record (the segment's or snapshot's before any).
        var lastEpoch: UInt64
        /// The offset of the active segment's last sparse-index entry.
        var lastIndexedOffset: Int

        var hasRecords: Bool { size > JournalFormat.segmentHeaderBytes }
    }

    /// What to do with one append.
    enum Admission: Sendable, Equatable {
        /// Its frame is in the batch, with this LSN once the batch is durable.
        case added(lsn: UInt64)
        /// It fails alone with this error: an epoch below the log's, or the journal is halted.
        case refused(JournalError)
        /// It does not fit in the batch (bytes) or in the active segment after it: write the
        /// batch first (`beginWrite`), then admit it again.
        case flushFirst
        /// The batch is empty and the record does not fit in the active segment: create segment
        /// `firstLSN` with `epoch` in its header, report `rolled()` or `rollFailed(_:)`, then
        /// admit it again.
        case rollFirst(firstLSN: UInt64, epoch: UInt64)
    }

    /// The batch handed to the owner by `beginWrite`: its frames are ``batchBytes``.
    struct PendingWrite: Sendable, Equatable {
        var offset: Int
        var firstLSN: UInt64
        var count: Int

        var lastLSN: UInt64 { firstLSN + UInt64(count) - 1 }
    }

    /// A batch made durable: what the segment table and the completions need.
    struct Written: Sendable, Equatable {
        var firstLSN: UInt64
        var lastLSN: UInt64
        var count: Int
        /// The active segment's new durable end.
        var end: Int
        /// The epoch of the batch's last record.
        var epoch: UInt64
        var index: [IndexEntry]
        /// Frame bytes written.
        var bytes: Int
        /// The line to log when this write ends an outage (halts since the last write).
        var resumedLogLine: String?
    }

    /// A failed write or roll, which halted the writer.
    struct Failure: Sendable, Equatable {
        /// What the failed append (or every append of the failed batch) completes with.
        var failure: JournalError
        /// What every later append fails with until `resume()`.
        var haltError: JournalError
        /// The line to log: only the first halt of an outage is logged, so that a caller that
        /// resumes and fails again in a loop while the disk is full cannot flood the log.
        var logLine: String?
    }

    /// The batch being assembled: frames in one buffer.
    private struct Batch: Sendable {
        var buffer: [UInt8] = []
        var count = 0
        var index: [IndexEntry] = []
        /// The epoch of the last record in the batch (the log's while empty).
        var epoch: UInt64
        /// The last indexed offset before the batch, restored if the batch fails.
        var indexedOffsetAtStart = SegmentScanner.noIndexedOffset

        var isEmpty: Bool { count == 0 }

        mutating func reset(epoch: UInt64) {
            buffer.removeAll(keepingCapacity: true)
            index.removeAll(keepingCapacity: true)
            count = 0
            self.epoch = epoch
        }
    }

    private(set) var state: State = .accepting
    private(set) var position: Position
    private var batch: Batch
    /// Halts since the last successful write (see `Failure.logLine`).
    private var haltsSinceWrite = 0
    let segmentBytes: Int
    let maxBatchBytes: Int

    init(position: Position, options: JournalOptions) {
        self.position = position
        self.segmentBytes = options.segmentBytes
        self.maxBatchBytes = options.maxBatchBytes
        self.batch = Batch(epoch: position.lastEpoch)
        batch.buffer.reserveCapacity(min(options.maxBatchBytes, 1 << 20))
    }

    /// Appends admitted into the batch and not yet written.
    var batchCount: Int { batch.count }

    /// The frames of the batch being written (between `beginWrite` and its outcome).
    var batchBytes: [UInt8] {
        guard case .writing = state else { preconditionFailure("batchBytes while \(state)") }
        return batch.buffer
    }

    /// Decides what to do with one append (its type and payload size were checked on enqueue).
    mutating func admit(type: UInt16, epoch: UInt64, payload: [UInt8]) -> Admission {
        switch state {
        case .accepting: break
        case .halted(let error): return .refused(error)
        case .writing, .rolling: preconditionFailure("admit while \(state)")
        }
        guard epoch >= batch.epoch else {
            // A caller error, decided against the records before it: it fails alone.
            return .refused(JournalError(.invalidArgument, "epoch \(epoch) is below the log's epoch \(batch.epoch)"))
        }
        let frameBytes = RecordFrame.overheadBytes + payload.count
        if !batch.isEmpty
            && (batch.buffer.count + frameBytes > maxBatchBytes || position.size + batch.buffer.count + frameBytes > segmentBytes)
        {
            return .flushFirst
        }
        if batch.isEmpty && position.hasRecords && position.size + frameBytes > segmentBytes {
            state = .rolling(firstLSN: position.nextLSN)
            return .rollFirst(firstLSN: position.nextLSN, epoch: epoch)
        }
        if batch.isEmpty { batch.indexedOffsetAtStart = position.lastIndexedOffset }
        let lsn = position.nextLSN + UInt64(batch.count)
        let offset = position.size + batch.buffer.count
        if offset - position.lastIndexedOffset >= SegmentScanner.indexSpacing {
            batch.index.append(IndexEntry(lsn: lsn, offset: offset))
            position.lastIndexedOffset = offset
        }
        RecordFrame.encode(type, epoch: epoch, lsn: lsn, batchFirstLSN: position.nextLSN, payload: payload, into: &batch.buffer)
        batch.count += 1
        batch.epoch = epoch
        return .added(lsn: lsn)
    }

    /// Hands out the batch to write with one write at `offset` and one sync, or nil when it is
    /// empty. accepting → writing.
    mutating func beginWrite() -> PendingWrite? {
        guard !batch.isEmpty else { return nil }
        guard case .accepting = state else { preconditionFailure("beginWrite while \(state)") }
        state = .writing
        return PendingWrite(offset: position.size, firstLSN: position.nextLSN, count: batch.count)
    }

    /// The batch is written and synced: its LSNs are used. writing → accepting.
    mutating func batchWritten() -> Written {
        guard case .writing = state else { preconditionFailure("batchWritten while \(state)") }
        let first = position.nextLSN
        let last = first + UInt64(batch.count) - 1
        position.nextLSN = last + 1
        position.size += batch.buffer.count
        position.lastEpoch = batch.epoch
        let written = Written(
            firstLSN: first, lastLSN: last, count: batch.count, end: position.size, epoch: batch.epoch, index: batch.index,
            bytes: batch.buffer.count,
            resumedLogLine: haltsSinceWrite > 0 ? "journal: appends are written again (after \(haltsSinceWrite) halts)" : nil
        )
        haltsSinceWrite = 0
        batch.reset(epoch: position.lastEpoch)
        state = .accepting
        return written
    }

    /// The batch's write failed with `error` (the owner cuts the segment back to where the batch
    /// began): none of its LSNs is used, and the writer halts. writing → halted.
    mutating func batchFailed(_ error: Errno) -> Failure {
        guard case .writing = state else { preconditionFailure("batchFailed while \(state)") }
        let failure = JournalError.from(error, file: position.segmentName, offset: position.size)
        position.lastIndexedOffset = batch.indexedOffsetAtStart
        batch.reset(epoch: position.lastEpoch)
        return halt(after: failure)
    }

    /// The segment asked for by `.rollFirst` exists, durably. rolling → accepting.
    mutating func rolled() {
        guard case .rolling(let firstLSN) = state else { preconditionFailure("rolled while \(state)") }
        precondition(batch.isEmpty && firstLSN == position.nextLSN, "rolled with records pending")
        position.segmentName = JournalFormat.segmentName(firstLSN: firstLSN)
        position.size = JournalFormat.segmentHeaderBytes
        position.lastIndexedOffset = SegmentScanner.noIndexedOffset
        state = .accepting
    }

    /// Creating the segment asked for by `.rollFirst` failed with `error` (nothing was left
    /// behind): the writer halts. rolling → halted.
    mutating func rollFailed(_ error: Errno) -> Failure {
        guard case .rolling(let firstLSN) = state else { preconditionFailure("rollFailed while \(state)") }
        return halt(after: JournalError.from(error, file: JournalFormat.segmentName(firstLSN: firstLSN), offset: 0))
    }

    /// halted → accepting; does nothing while accepting.
    mutating func resume() {
        switch state {
        case .accepting: break
        case .halted: state = .accepting
        case .writing, .rolling: preconditionFailure("resume while \(state)")
        }
    }

    /// The owner discarded the records after `position.nextLSN - 1` (truncation): the log now
    /// ends at `position`. Halted stays halted.
    mutating func truncated(to position: Position) {
        switch state {
        case .accepting, .halted: break
        case .writing, .rolling: preconditionFailure("truncated while \(state)")
        }
        precondition(batch.isEmpty, "truncated with records pending")
        self.position = position
        batch.reset(epoch: position.lastEpoch)
    }

    private mutating func halt(after failure: JournalError) -> Failure {
        let error = JournalError.notWritten(after: failure)
        state = .halted(error)
        haltsSinceWrite += 1
        return Failure(
            failure: failure, haltError: error,
            logLine: haltsSinceWrite == 1 ? "journal: halted after a failed append (\(failure)); appends fail until resume()" : nil
        )
    }
}

/// When a snapshot is due: once `snapshotEveryRecords` records or `snapshotEveryBytes` frame
/// bytes were appended since the last snapshot (or the last failed attempt). Pure. Kept apart
/// from ``JournalWriterCore`` because the threaded journal counts on its writer thread but
/// restarts the count on its snapshot thread: it holds this under the snapshot control's lock.
struct SnapshotSchedule: Sendable, Equatable {
    let everyRecords: Int
    let everyBytes: Int
    private(set) var recordsSince = 0
    private(set) var bytesSince = 0

    init(options: JournalOptions) {
        everyRecords = options.snapshotEveryRecords
        everyBytes = options.snapshotEveryBytes
    }

    var isDue: Bool { recordsSince >= everyRecords || bytesSince >= everyBytes }

    mutating func noteAppended(records: Int, bytes: Int) {
        recordsSince += records
        bytesSince += bytes
    }

    /// A snapshot was written, or one failed: count again from zero (a failure is tried again
    /// after another threshold's worth of appends, not after every batch).
    mutating func restart() {
        recordsSince = 0
        bytesSince = 0
    }
}
