/// Supplies the state a snapshot records. The journal calls it on its snapshot thread (or the
/// thread of ``Journal/snapshotNow()``).
public protocol SnapshotSource: AnyObject, Sendable {
    /// Must return quickly (a copy of the state under the owner's lock): the state as of `lsn`,
    /// i.e. including exactly the records ≤ `lsn`, all of which must already be durable.
    func captureSnapshot() -> (lsn: UInt64, epoch: UInt64, state: [UInt8])
}

/// A snapshot as recovery loaded it.
public struct JournalSnapshot: Sendable, Equatable {
    /// The state includes exactly the records ≤ `lsn`.
    public var lsn: UInt64
    public var epoch: UInt64
    public var state: [UInt8]

    public init(lsn: UInt64, epoch: UInt64, state: [UInt8]) {
        self.lsn = lsn
        self.epoch = epoch
        self.state = state
    }
}

/// A torn tail that recovery cut off the last segment.
public struct TruncatedTail: Sendable, Equatable {
    /// The segment's file name.
    public var file: String
    /// Where the file now ends: the end of its last valid record.
    public var offset: Int
    /// How many bytes were cut.
    public var droppedBytes: Int
}

/// What ``Journal/open(directory:options:storage:log:)`` found.
public struct Recovered: Sendable {
    /// The newest snapshot, if any (its checksums verified).
    public var snapshot: JournalSnapshot?
    /// Every record after the snapshot (or from LSN 1), in LSN order.
    public var records: [JournalRecord]
    /// A torn tail that recovery cut (also logged).
    public var truncatedTail: TruncatedTail?
}

/// Counters for monitoring and the benchmark. Rates are the caller's to compute from two samples:
/// the journal reads no clock.
public struct JournalStatistics: Sendable, Equatable {
    /// Records made durable.
    public var appends: UInt64 = 0
    /// Appends that failed (disk full, I/O error, not written after an earlier failure or while
    /// halted, bad argument, overload, closed), whether completed with the error or given it by
    /// `tryAppend`.
    public var failedAppends: UInt64 = 0
    /// Group commits written (each one pwrite and one fdatasync).
    public var batches: UInt64 = 0
    /// fdatasync calls on segment files, including segment creation and rollbacks.
    public var syncs: UInt64 = 0
    /// Frame bytes made durable.
    public var bytesWritten: UInt64 = 0
    /// The most records one batch held.
    public var largestBatch: Int = 0
    /// `batchSizeHistogram[i]` counts batches of 2^i ..< 2^(i+1) records (the last bucket is open).
    public var batchSizeHistogram: [UInt64] = Array(repeating: 0, count: 18)
    /// Segment files created by rolling.
    public var segmentsRolled: UInt64 = 0
    /// Snapshots written.
    public var snapshots: UInt64 = 0

    mutating func recordBatch(records: Int, bytes: Int) {
        appends += UInt64(records)
        batches += 1
        bytesWritten += UInt64(bytes)
        largestBatch = max(largestBatch, records)
        let bucket = min(batchSizeHistogram.count - 1, Int.bitWidth - 1 - records.leadingZeroBitCount)
        batchSizeHistogram[bucket] += 1
    }
}
