internal import Platform

/// The region log of ``Journal``, driven step by step by its owner on the owner's one thread:
/// no threads, no locks, no waiting. The same files, frames, group-commit decisions
/// (`JournalWriterCore`), snapshot files and recovery as ``Journal``, so that a deterministic
/// simulator runs the real journal over a ``MemoryJournalStorage`` and crashes it anywhere.
///
/// The owner queues appends with ``enqueue(type:epoch:payload:)`` and writes one group commit
/// (one write, one sync) per ``flush()``, which returns each taken append's outcome in queue
/// order. It decides when to snapshot (``isSnapshotDue`` says when the thresholds of
/// ``JournalOptions`` are crossed) and calls ``writeSnapshot(lsn:epoch:state:)``.
///
/// Where ``Journal`` stops the process (a failed fdatasync or directory fsync, or a failed cut
/// back after a failed write: what the disk holds is unknown), this journal reports an error of
/// kind `.crashed` instead and does nothing more: every later call fails, and the owner should
/// crash the simulated node (``MemoryJournalStorage/crash(tornWrite:)``) and open the journal
/// again. A failed write halts appends as in ``Journal`` until ``resume()``.
///
/// Not Sendable: one thread owns it. Truncation (``Journal/truncate(after:)``) is not offered.
public final class SteppedJournal {
    /// Names one queued append, in queue order.
    public struct Ticket: Hashable, Comparable, Sendable {
        public let number: UInt64

        public static func < (lhs: Ticket, rhs: Ticket) -> Bool { lhs.number < rhs.number }
    }

    /// How one append ended: its LSN, once durable, or the error (as ``Journal``'s completion).
    /// An error of kind `.crashed` means unknown: the record may or may not be in the log after
    /// recovery. Any other error means it is not and never will be, and used no LSN.
    public struct Outcome: Sendable, Equatable {
        public var ticket: Ticket
        public var result: Result<UInt64, JournalError>
    }

    /// What one ``flush()`` did.
    public struct FlushReport: Sendable, Equatable {
        /// Every append the flush took from the queue, in queue order.
        public var outcomes: [Outcome] = []
        /// Set when the journal crashed in this flush or before it: the appends whose frames
        /// were written have `.crashed` outcomes, the rest of the queue `.closed` ones.
        public var crash: JournalError?
    }

    private struct Queued {
        var ticket: Ticket
        var type: UInt16
        var epoch: UInt64
        var payload: [UInt8]
    }

    /// open → crashed (a sync failed: nothing more is done) → closed; open → closed.
    private enum Lifecycle {
        case open
        case crashed(JournalError)
        case closed
    }

    let directory: String
    let options: JournalOptions
    let storage: any JournalStorage
    let log: @Sendable (String) -> Void
    private var lifecycle = Lifecycle.open
    private var table: SegmentTable
    /// nil once closed (the active segment's file is released).
    private var writer: WriterState?
    private var schedule: SnapshotSchedule
    private var directoryLock: (any JournalDirectoryLock)?
    /// The queue is `queue[queueHead...]`: taking from the front moves the head.
    private var queue: [Queued] = []
    private var queueHead = 0
    private var queuedBytes = 0
    private var nextTicket: UInt64 = 1
    /// Counters since open, as ``Journal/statistics``.
    public private(set) var statistics = JournalStatistics()

    private init(directory: String, options: JournalOptions, storage: any JournalStorage, log: @escaping @Sendable (String) -> Void, outcome: RecoveryOutcome) {
        self.directory = directory
        self.options = options
        self.storage = storage
        self.log = log
        self.table = outcome.table
        self.writer = outcome.writer
        self.schedule = SnapshotSchedule(options: options)
        self.directoryLock = outcome.lock
    }

    /// Opens (creating if missing) the log in `directory` and runs ``Journal``'s recovery.
    ///
    /// - Returns: the journal and what recovery found, as ``Journal/open(directory:options:storage:log:)``.
    /// - Throws: as ``Journal/open(directory:options:storage:log:)``.
    public static func open(
        directory: String,
        options: JournalOptions = JournalOptions(),
        storage: any JournalStorage,
        log: @escaping @Sendable (String) -> Void
    ) throws(JournalError) -> (SteppedJournal, Recovered) {
        try options.validate()
        let outcome = try Journal.recover(directory: directory, options: options, storage: storage, log: log)
        let journal = SteppedJournal(directory: directory, options: options, storage: storage, log: log, outcome: outcome)
        return (journal, outcome.recovered)
    }

    // MARK: Appending

    /// Queues one record for a later ``flush()``; LSNs are assigned in queue order when written.
    ///
    /// - Returns: its ticket, or the error known at once (nothing is queued then): argument
    ///   errors (type 0, payload too large), `.overloaded` past ``JournalOptions``' queue bounds,
    ///   the halt's `.diskFull`/`.io` while halted, `.closed` once closed or crashed. An epoch
    ///   below the log's fails in the flush that takes it.
    public func enqueue(type: UInt16, epoch: UInt64, payload: [UInt8]) -> Result<Ticket, JournalError> {
        if let error = refusal(type: type, payloadBytes: payload.count) {
            statistics.failedAppends += 1
            return .failure(error)
        }
        let ticket = Ticket(number: nextTicket)
        nextTicket += 1
        queue.append(Queued(ticket: ticket, type: type, epoch: epoch, payload: payload))
        queuedBytes += payload.count
        return .success(ticket)
    }

    private func refusal(type: UInt16, payloadBytes: Int) -> JournalError? {
        if let error = Journal.argumentError(type: type, payloadBytes: payloadBytes) { return error }
        switch lifecycle {
        case .open: break
        case .crashed(let crash): return Self.notWritten(after: crash)
        case .closed: return JournalError(.closed, "journal is closed")
        }
        if let writer, case .halted(let error) = writer.core.state { return error }
        guard queuedAppends < options.maxQueuedAppends, queuedBytes + payloadBytes <= options.maxQueuedBytes else {
            return JournalError(.overloaded, "\(queuedAppends) appends (\(queuedBytes) bytes) already queued")
        }
        return nil
    }

    /// Appends queued and not yet taken by a flush.
    public var queuedAppends: Int { queue.count - queueHead }

    /// Writes one group commit: takes queued appends, in order, for as long as the writer core
    /// admits them into one batch (the batch and segment limits; rolling to a new segment first
    /// when the active one is full), writes the batch with one write and makes it durable with
    /// one sync. Appends the core refuses (an epoch below the log's) fail alone. A failed write
    /// fails the batch without using its LSNs and halts the journal: every other queued append
    /// fails too (it was queued before the halt and may depend on the failed ones), and new
    /// appends fail at once until ``resume()``. Appends beyond the batch stay queued.
    ///
    /// - Returns: the outcome of every append taken, in queue order; `crash` when the journal
    ///   crashed (see the type's documentation).
    public func flush() -> FlushReport {
        var flush = Flush()
        switch lifecycle {
        case .open: break
        case .crashed(let crash):
            failQueue(with: Self.notWritten(after: crash), into: &flush)
            return flush.report(crash: crash, statistics: &statistics)
        case .closed: return FlushReport()
        }
        admitQueued(into: &flush)
        if case .crashed(let crash) = lifecycle { return flush.report(crash: crash, statistics: &statistics) }
        guard let pending = writer!.core.beginWrite() else { return flush.report(crash: nil, statistics: &statistics) }
        let name = writer!.core.position.segmentName
        let lsns = pending.firstLSN...pending.lastLSN
        switch Journal.commit(writer!.core.batchBytes, to: writer!.active, name: name, at: pending.offset, lsns: lsns) {
        case .unknown(let reason):
            let crash = JournalError(.crashed, file: name, offset: pending.offset, reason)
            flush.completeBatch { _ in .failure(crash) }
            crashed(crash)
            failQueue(with: Self.notWritten(after: crash), into: &flush)
            return flush.report(crash: crash, statistics: &statistics)
        case .failed(let error):
            statistics.syncs += 1
            let failed = writer!.core.batchFailed(error)
            if let line = failed.logLine { log(line) }
            flush.completeBatch { _ in .failure(failed.failure) }
            admitQueued(into: &flush)  // halted: every one is refused
        case .durable:
            statistics.syncs += 1
            let written = writer!.core.batchWritten()
            table.appended(written)
            statistics.recordBatch(records: written.count, bytes: written.bytes)
            schedule.noteAppended(records: written.count, bytes: written.bytes)
            flush.completeBatch { position in .success(written.firstLSN + UInt64(position)) }
            if let line = written.resumedLogLine { log(line) }
        }
        return flush.report(crash: nil, statistics: &statistics)
    }

    /// The outcomes of one flush being gathered: the batch's appends get theirs once it is written.
    private struct Flush {
        var outcomes: [(ticket: Ticket, result: Result<UInt64, JournalError>?)] = []
        /// Positions in `outcomes` of the appends in the batch, in order.
        var batch: [Int] = []

        mutating func completeBatch(_ result: (Int) -> Result<UInt64, JournalError>) {
            for (position, index) in batch.enumerated() { outcomes[index].result = result(position) }
            batch.removeAll()
        }

        func report(crash: JournalError?, statistics: inout JournalStatistics) -> FlushReport {
            precondition(batch.isEmpty, "a batch's appends were left without an outcome")
            let outcomes = outcomes.map { Outcome(ticket: $0.ticket, result: $0.result!) }
            statistics.failedAppends += UInt64(outcomes.count(where: { if case .failure = $0.result { true } else { false } }))
            return FlushReport(outcomes: outcomes, crash: crash)
        }
    }

    /// Takes queued appends into the writer core's batch, in order, until it asks for the batch
    /// to be written first or the queue is empty; refused appends complete at once; rolls to a
    /// new segment when the core asks.
    private func admitQueued(into flush: inout Flush) {
        while queueHead < queue.count {
            let item = queue[queueHead]
            switch writer!.core.admit(type: item.type, epoch: item.epoch, payload: item.payload) {
            case .added:
                takeFirst()
                flush.batch.append(flush.outcomes.count)
                flush.outcomes.append((item.ticket, nil))
            case .refused(let error):
                takeFirst()
                flush.outcomes.append((item.ticket, .failure(error)))
            case .flushFirst:
                return
            case .rollFirst(let firstLSN, let epoch):
                let entry: SegmentEntry
                do throws(Journal.RollError) {
                    entry = try Journal.rollSegment(
                        directory: directory, storage: storage, firstLSN: firstLSN, epoch: epoch,
                        lastEpoch: writer!.core.position.lastEpoch)
                } catch {
                    switch error {
                    case .syncDirectory(let reason):
                        let crash = JournalError(.crashed, file: JournalFormat.segmentName(firstLSN: firstLSN), reason)
                        crashed(crash)
                        failQueue(with: Self.notWritten(after: crash), into: &flush)
                        return
                    case .create(let cause):
                        let failed = writer!.core.rollFailed(cause)
                        if let line = failed.logLine { log(line) }
                        takeFirst()
                        flush.outcomes.append((item.ticket, .failure(failed.failure)))
                        continue
                    }
                }
                table.rolled(to: entry)
                writer!.core.rolled()
                writer!.active = entry.file
                statistics.segmentsRolled += 1
                statistics.syncs += 1
                log("journal: rolled to \(entry.name)")
            }
        }
    }

    private func takeFirst() {
        queuedBytes -= queue[queueHead].payload.count
        queueHead += 1
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead >= 1024 && queueHead * 2 >= queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    /// Fails every queued append with `error`.
    private func failQueue(with error: JournalError, into flush: inout Flush) {
        while queueHead < queue.count {
            flush.outcomes.append((queue[queueHead].ticket, .failure(error)))
            takeFirst()
        }
    }

    /// The point where ``Journal`` would stop the process.
    private func crashed(_ crash: JournalError) {
        lifecycle = .crashed(crash)
        log(crash.message)
    }

    private static func notWritten(after crash: JournalError) -> JournalError {
        JournalError(.closed, "not written: the journal crashed (\(crash)); crash the node and open it again")
    }

    /// Lets appends through again after a failed write halted the journal (see
    /// ``Journal/resume()``). Does nothing when not halted.
    public func resume() {
        if case .open = lifecycle { writer?.core.resume() }
    }

    /// Whether a failed write halted the journal and ``resume()`` was not called since.
    public var isHalted: Bool {
        if let writer, case .halted = writer.core.state { true } else { false }
    }

    // MARK: Reading

    /// The LSN of the newest durable record (0 when the log is empty).
    public var lastDurableLSN: UInt64 { table.lastDurableLSN }

    /// The oldest LSN ``read(from:maxRecords:)`` can return (see ``Journal/oldestRetainedLSN``).
    public var oldestRetainedLSN: UInt64 { table.segments.first?.firstLSN ?? table.lastDurableLSN + 1 }

    /// Durable records with LSN ≥ `lsn`, as ``Journal/read(from:maxRecords:)``.
    ///
    /// - Throws: as ``Journal/read(from:maxRecords:)``; `.closed` once closed or crashed.
    public func read(from lsn: UInt64, maxRecords: Int = 10_000) throws(JournalError) -> [JournalRecord] {
        try requireOpen()
        return try Journal.readRecords(in: table, from: lsn, maxRecords: maxRecords)
    }

    private func requireOpen() throws(JournalError) {
        switch lifecycle {
        case .open: return
        case .crashed(let crash): throw Self.notWritten(after: crash)
        case .closed: throw JournalError(.closed, "journal is closed")
        }
    }

    // MARK: Snapshots

    /// Whether the snapshot thresholds (``JournalOptions/snapshotEveryRecords`` and
    /// ``JournalOptions/snapshotEveryBytes``) were crossed since the last snapshot written.
    public var isSnapshotDue: Bool { schedule.isDue }

    /// Writes a snapshot of the state as of `lsn` (including exactly the records ≤ `lsn`, all
    /// durable) as ``Journal`` does: atomically (a temporary file, fdatasync, rename, directory
    /// fsync), then removes the segments it covers and the older snapshot.
    ///
    /// - Returns: false when `lsn` is not newer than the newest snapshot (nothing is written).
    /// - Throws: `.invalidArgument` when `lsn` is beyond the durable log or the state too large;
    ///   `.io`/`.diskFull` when writing fails (the previous snapshot stays in force, and
    ///   ``isSnapshotDue`` stays true); `.crashed` when the directory fsync after the rename
    ///   fails; `.closed`.
    @discardableResult
    public func writeSnapshot(lsn: UInt64, epoch: UInt64, state: [UInt8]) throws(JournalError) -> Bool {
        try requireOpen()
        guard try table.admitsSnapshot(lsn: lsn, stateBytes: state.count).get() else { return false }
        let name = JournalFormat.snapshotName(lsn: lsn)
        try Journal.writeSnapshotFile(directory: directory, storage: storage, lsn: lsn, epoch: epoch, state: state)
        do throws(Errno) {
            try storage.syncDirectory(directory)
        } catch {
            let crash = JournalError(.crashed, file: name, Journal.snapshotDirectorySyncFailure(directory: directory, name: name, error: error))
            crashed(crash)
            throw crash
        }
        let obsolete = table.installSnapshot(lsn: lsn, name: name)
        schedule.restart()
        statistics.snapshots += 1
        Journal.removeObsolete(obsolete, directory: directory, storage: storage, log: log)
        log(Journal.snapshotWritten(name: name, lsn: lsn, stateBytes: state.count, removedSegments: obsolete.segments.count))
        return true
    }

    // MARK: Closing

    /// Releases the files and the directory lock. Appends still queued are not written: they
    /// fail with `.closed` (returned, in queue order); flush until ``queuedAppends`` is 0 first
    /// for a clean stop. Idempotent.
    @discardableResult
    public func close() -> [Outcome] {
        var flush = Flush()
        failQueue(with: JournalError(.closed, "journal is closed"), into: &flush)
        let outcomes = flush.report(crash: nil, statistics: &statistics).outcomes
        lifecycle = .closed
        table.closed = true
        table.segments.removeAll()
        writer = nil
        directoryLock = nil
        return outcomes
    }
}
