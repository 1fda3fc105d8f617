/// Tunables of a ``Journal``. Every queue and buffer has a limit here.
public struct JournalOptions: Sendable, Equatable {
    /// Roll to a new segment file when the next batch would take the current one past this.
    public var segmentBytes: Int
    /// Ask the ``SnapshotSource`` for a snapshot once this many records were appended since the
    /// last one.
    public var snapshotEveryRecords: Int
    /// … or once this many frame bytes were appended since the last one.
    public var snapshotEveryBytes: Int
    /// One group commit writes at most this much (a single larger record is written alone).
    public var maxBatchBytes: Int
    /// Appends queued or being written beyond this fail at once with `.overloaded`.
    public var maxQueuedAppends: Int
    /// Payload bytes queued or being written beyond this fail at once with `.overloaded`.
    public var maxQueuedBytes: Int

    public init(
        segmentBytes: Int = 64 << 20,
        snapshotEveryRecords: Int = 100_000,
        snapshotEveryBytes: Int = 256 << 20,
        maxBatchBytes: Int = 8 << 20,
        maxQueuedAppends: Int = 100_000,
        maxQueuedBytes: Int = 512 << 20
    ) {
        self.segmentBytes = segmentBytes
        self.snapshotEveryRecords = snapshotEveryRecords
        self.snapshotEveryBytes = snapshotEveryBytes
        self.maxBatchBytes = maxBatchBytes
        self.maxQueuedAppends = maxQueuedAppends
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// Whether every value is in range; the reason otherwise.
    func validate() throws(JournalError) {
        func require(_ ok: Bool, _ message: String) throws(JournalError) {
            if !ok { throw JournalError(.invalidArgument, "journal options: \(message)") }
        }
        try require(segmentBytes >= 4096 && segmentBytes <= 1 << 30, "segmentBytes must be 4 KiB…1 GiB")
        try require(snapshotEveryRecords >= 1, "snapshotEveryRecords must be ≥ 1")
        try require(snapshotEveryBytes >= 1, "snapshotEveryBytes must be ≥ 1")
        try require(maxBatchBytes >= 4096 && maxBatchBytes <= 256 << 20, "maxBatchBytes must be 4 KiB…256 MiB")
        try require(maxQueuedAppends >= 1, "maxQueuedAppends must be ≥ 1")
        try require(maxQueuedBytes >= Journal.maxPayloadBytes, "maxQueuedBytes must hold one largest payload")
    }
}
