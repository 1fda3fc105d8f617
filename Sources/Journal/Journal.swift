internal import Platform
import Synchronization

/// A region log on disk: checksummed records in segment files, group-committed by one writer
/// thread, with snapshots that let old segments go.
///
/// Guarantees: an append's completion reports success only after its record is written and
/// fdatasynced; LSNs are assigned in queue order, gap-free (a failed append consumes none);
/// `read` returns only durable records. A failed fdatasync is fatal (see
/// `JournalCore.synchronizeOrCrash`): the process stops and recovery reads the truth from disk.
///
/// Halt after a failed write: callers pipeline, deciding each append against a state that
/// includes the appends queued before it. So when an append fails on I/O (`.diskFull`, `.io`:
/// its write, or creating the next segment), no later append may reach the disk without it: the
/// journal halts. Every append queued after the failed one fails with the same kind of error
/// (none is written, no LSN is consumed), and so does every new append, at once, until the
/// caller calls ``resume()``. Argument errors (an epoch below the log's) fail only their own
/// append and do not halt.
public final class Journal: Sendable {
    /// The largest payload of one record: 8 MiB. A replica region logs a whole secret as one
    /// record when it receives its copy: up to 100 versions of 64 KiB values with their
    /// envelopes, metadata and a 20 KiB policy (about 6.6 MB).
    public static let maxPayloadBytes = 8 << 20
    /// The most payload bytes one `read` returns (it always returns at least one record).
    public static let maxReadBytes = 16 << 20

    let core: JournalCore

    private init(core: JournalCore) { self.core = core }

    deinit { core.close(waitForThreads: !core.isOnJournalThread) }

    /// Opens (creating if missing) the log in `directory`, runs recovery, and starts the
    /// group-commit writer and snapshot threads.
    ///
    /// - Parameters:
    ///   - directory: the journal's own directory, e.g. `dataDir/journal`; locked while open.
    ///   - log: receives operational messages (torn tail cut, segment rolled, snapshot written).
    /// - Returns: the journal and what recovery found: the newest snapshot and every later record.
    /// - Throws: `.badSnapshot`, `.corrupt`, `.missingSegment`, `.lsnGap` when the files are not
    ///   a log this journal may continue (never papered over); `.locked`; `.io`; `.invalidArgument`
    ///   for bad options.
    public static func open(
        directory: String,
        options: JournalOptions = JournalOptions(),
        storage: any JournalStorage = FileJournalStorage(),
        log: @escaping @Sendable (String) -> Void
    ) throws(JournalError) -> (Journal, Recovered) {
        try options.validate()
        let outcome = try recover(directory: directory, options: options, storage: storage, log: log)
        let core = JournalCore(directory: directory, options: options, storage: storage, log: log, table: outcome.table, lock: outcome.lock)
        let writerState = outcome.writer
        do throws(Errno) {
            let writer = try OSThread.start(name: "journal-writer") { core.runWriter(writerState) }
            core.threads.withLock { $0.writer = writer }
            let snapshotter = try OSThread.start(name: "journal-snap") { core.runSnapshotter() }
            core.threads.withLock { $0.snapshotter = snapshotter }
        } catch {
            core.close(waitForThreads: true)
            throw JournalError(.io, "starting journal threads: \(error)")
        }
        return (Journal(core: core), outcome.recovered)
    }

    /// Queues one record; the journal assigns the next LSN in queue order.
    ///
    /// `completion` runs on the writer thread once the record is durable (written and
    /// fdatasynced), with its LSN; or with an error, in which case nothing of the record is on
    /// disk or will ever be read and its LSN is not consumed. Completions of written appends and
    /// of appends failed by a write error run in queue order (an epoch error may complete before
    /// the batch queued ahead of it). Completions must not block: they delay the next group commit.
    ///
    /// Errors known at once complete on the caller's thread before `append` returns: argument
    /// errors (type 0, payload too large), `.overloaded`, `.closed`, and, while the journal is
    /// halted, the `.diskFull`/`.io` error of the append that halted it. Use
    /// ``tryAppend(type:epoch:payload:completion:)`` to get those returned instead. An epoch
    /// below the log's current epoch fails with `.invalidArgument` on the writer thread.
    ///
    /// A `.diskFull` or `.io` failure halts the journal (see the type's documentation): this
    /// append and every one queued after it fail; call ``resume()`` once you have seen all of
    /// their completions and the cause is dealt with.
    public func append(type: UInt16, epoch: UInt64, payload: [UInt8], completion: @escaping @Sendable (Result<UInt64, JournalError>) -> Void) {
        if let failure = tryAppend(type: type, epoch: epoch, payload: payload, completion: completion) {
            completion(.failure(failure))
        }
    }

    /// Queues one record like ``append(type:epoch:payload:completion:)``, but returns an error
    /// known at once instead of completing with it: for callers that append while holding a lock
    /// their completion takes.
    ///
    /// - Returns: `nil` when the record was queued: `completion` then runs later, on the writer
    ///   thread, exactly once. Otherwise the error (argument errors, `.overloaded`, `.closed`, or
    ///   the halt's `.diskFull`/`.io`), and `completion` is never called.
    public func tryAppend(
        type: UInt16, epoch: UInt64, payload: [UInt8], completion: @escaping @Sendable (Result<UInt64, JournalError>) -> Void
    ) -> JournalError? {
        guard let failure = core.enqueue(type: type, epoch: epoch, payload: payload, completion: completion) else { return nil }
        core.statistics.withLock { $0.failedAppends += 1 }
        return failure
    }

    /// Appends one record and returns its LSN once durable. See `append(type:epoch:payload:completion:)`.
    public func append(type: UInt16, epoch: UInt64, payload: [UInt8]) async throws(JournalError) -> UInt64 {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<UInt64, JournalError>, Never>) in
            append(type: type, epoch: epoch, payload: payload) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Lets appends through again after a failed write halted the journal. Call it once the
    /// failures are dealt with: you have seen the failure completion of every append you queued
    /// before the halt (each one not yet completed fails) and dropped what you derived from
    /// them; for `.diskFull`, space should also be back, or the next append halts the journal
    /// again. Idempotent; does nothing when not halted. May be called from a completion.
    public func resume() {
        core.queue.withLock { $0.halt = nil }
    }

    /// Whether a failed write halted the journal and ``resume()`` was not called since: appends
    /// fail at once meanwhile.
    public var isHalted: Bool { core.queue.withLock { $0.halt != nil } }

    /// The LSN of the newest durable record (0 when the log is empty).
    public var lastDurableLSN: UInt64 { core.durableLSN.load(ordering: .acquiring) }

    /// Counters since open.
    public var statistics: JournalStatistics { core.statistics.withLock { $0 } }

    /// The oldest LSN ``read(from:maxRecords:)`` can still return (the records before it are
    /// compacted into the snapshot); the next LSN when no segment holds a record yet.
    public var oldestRetainedLSN: UInt64 {
        core.table.withLock { $0.segments.first?.firstLSN ?? $0.lastDurableLSN + 1 }
    }

    /// Durable records with LSN ≥ `lsn`, in order: at most `maxRecords`, and about
    /// `maxReadBytes` of payload.
    ///
    /// - Throws: `.missingSegment` ("compacted") when `lsn` is below the oldest retained record;
    ///   `.corrupt` if a frame no longer verifies; `.io`; `.closed`.
    public func read(from lsn: UInt64, maxRecords: Int = 10_000) throws(JournalError) -> [JournalRecord] {
        try core.read(from: lsn, maxRecords: maxRecords)
    }

    /// Discards the durable records after `lsn` (a fenced primary dropping its divergent tail),
    /// durably (file fdatasync and directory fsync) before returning. Runs on the writer thread
    /// in queue order: appends queued before the call are written first. Carried out even when a
    /// failed write halted the journal. Not callable from a completion.
    ///
    /// - Throws: `.invalidArgument` when `lsn` is below the newest snapshot (its state includes
    ///   the records to discard); `.closed`.
    public func truncate(after lsn: UInt64) throws(JournalError) {
        precondition(!core.isOnJournalThread, "truncate(after:) from a journal thread would deadlock")
        let done = ConditionLock<Result<Void, JournalError>?>(nil)
        let queued = core.queue.withLock { state -> Bool in
            if state.closing { return false }
            state.items.append(.truncate(after: lsn) { result in
                done.withLock { $0 = result }
                done.broadcast()
            })
            return true
        }
        guard queued else { throw JournalError(.closed, "journal is closed") }
        core.queue.signal()
        let result = done.withLock(waitingUntil: { $0 != nil }) { $0! }
        try result.get()
    }

    /// Sets the object asked for snapshots once a threshold of records or bytes is crossed.
    public func setSnapshotSource(_ source: any SnapshotSource) {
        core.control.withLock { $0.source = source }
    }

    /// Takes a snapshot now on the calling thread (for tests and operators); waits for one in
    /// progress first. Does nothing when the source has nothing newer than the last snapshot.
    ///
    /// - Throws: `.invalidArgument` without a source or when the source is ahead of the durable
    ///   log; `.io`/`.diskFull` when writing fails (the previous snapshot stays in force).
    public func snapshotNow() throws(JournalError) {
        precondition(!core.isOnJournalThread, "snapshotNow() from a journal thread would deadlock")
        let source = core.control.withLock(waitingUntil: { !$0.busy || $0.closing }) { state -> (any SnapshotSource)?? in
            if state.closing { return .some(nil) }
            guard let source = state.source else { return nil }
            state.busy = true
            return .some(source)
        }
        guard let maybeSource = source else { throw JournalError(.invalidArgument, "no snapshot source is set") }
        guard let source = maybeSource else { throw JournalError(.closed, "journal is closed") }
        defer {
            core.control.withLock { $0.busy = false }
            core.control.broadcast()
        }
        try core.takeSnapshot(from: source)
    }

    /// Stops accepting appends, writes everything already queued (completing each), stops the
    /// threads and releases the directory. Idempotent. Called from a completion it only begins
    /// closing and returns (joining the writer from itself would deadlock).
    public func close() {
        core.close(waitForThreads: !core.isOnJournalThread)
    }
}

extension JournalCore {
    var isOnJournalThread: Bool {
        threads.withLock { ($0.writer?.isCurrent ?? false) || ($0.snapshotter?.isCurrent ?? false) }
    }

    /// Queues an append; returns the error known at once instead, if any (nothing is queued then).
    func enqueue(type: UInt16, epoch: UInt64, payload: [UInt8], completion: @escaping @Sendable (Result<UInt64, JournalError>) -> Void) -> JournalError? {
        if let error = Journal.argumentError(type: type, payloadBytes: payload.count) { return error }
        let outcome = queue.withLock { state -> (error: JournalError?, wake: Bool) in
            if state.closing { return (JournalError(.closed, "journal is closed"), false) }
            if let halt = state.halt { return (halt, false) }
            guard state.outstandingAppends < options.maxQueuedAppends,
                state.outstandingBytes + payload.count <= options.maxQueuedBytes
            else {
                return (JournalError(.overloaded, "\(state.outstandingAppends) appends (\(state.outstandingBytes) bytes) already queued"), false)
            }
            state.outstandingAppends += 1
            state.outstandingBytes += payload.count
            state.items.append(.append(type: type, epoch: epoch, payload: payload, completion: completion))
            return (nil, state.items.count == 1)
        }
        // The writer sleeps only when the queue is empty, so only the first item needs to wake it.
        if outcome.wake { queue.signal() }
        return outcome.error
    }

    /// open → closing: refuse new work, let the writer drain, stop the snapshotter; with
    /// `waitForThreads`, join both and release files and the directory lock (→ closed).
    func close(waitForThreads: Bool) {
        queue.withLock { $0.closing = true }
        queue.broadcast()
        control.withLock { $0.closing = true }
        control.broadcast()
        guard waitForThreads else { return }
        // The first closer that can wait joins the threads; later ones return at once.
        let joins = lifecycle.withLock { state -> Bool in
            guard state == .open else { return false }
            state = .closing
            return true
        }
        guard joins else { return }
        let (writer, snapshotter) = threads.withLock { ($0.writer, $0.snapshotter) }
        writer?.join()
        snapshotter?.join()
        // A snapshotNow() on another thread may still be writing: let it finish before the
        // directory lock is released to whoever opens the journal next.
        control.withLock(waitingUntil: { !$0.busy }) { _ in }
        table.withLock { table in
            table.closed = true
            table.segments.removeAll()
        }
        directoryLock.withLock { $0 = nil }
        lifecycle.withLock { $0 = .closed }
    }

    /// See ``Journal/read(from:maxRecords:)``.
    func read(from requested: UInt64, maxRecords: Int) throws(JournalError) -> [JournalRecord] {
        // A truncation can shorten a file under a reader and the writer can then refill it with
        // records not yet durable: a read that overlapped one is done again (truncation is rare:
        // a fenced primary discarding its tail).
        for _ in 0..<Self.maxReadAttempts {
            let started = table.withLock { ($0.truncating, $0.truncations) }
            if started.0 {
                OSThread.sleep(seconds: 0.001)
                continue
            }
            let result: Result<[JournalRecord], JournalError>
            do { result = .success(try readOnce(from: requested, maxRecords: maxRecords)) } catch { result = .failure(error) }
            if table.withLock({ !$0.truncating && $0.truncations == started.1 }) { return try result.get() }
        }
        throw JournalError(.io, "read from LSN \(requested) kept overlapping truncations")
    }

    static let maxReadAttempts = 1000

    private func readOnce(from requested: UInt64, maxRecords: Int) throws(JournalError) -> [JournalRecord] {
        let view = table.withLock { table -> Result<SegmentTable, JournalError> in
            if table.closed { return .failure(JournalError(.closed, "journal is closed")) }
            return .success(table)
        }
        return try Journal.readRecords(in: try view.get(), from: requested, maxRecords: maxRecords)
    }
}

extension Journal {
    /// Why an append with this type and payload size can never be written, if it cannot.
    static func argumentError(type: UInt16, payloadBytes: Int) -> JournalError? {
        guard type != 0 else { return JournalError(.invalidArgument, "record type 0 is reserved") }
        guard payloadBytes <= maxPayloadBytes else {
            return JournalError(.invalidArgument, "payload of \(payloadBytes) bytes exceeds \(maxPayloadBytes)")
        }
        return nil
    }

    /// The durable records of `table` from `requested` on: at most `maxRecords`, and about
    /// ``maxReadBytes`` of payload (see ``read(from:maxRecords:)``). Reads only the files.
    static func readRecords(in table: SegmentTable, from requested: UInt64, maxRecords: Int) throws(JournalError) -> [JournalRecord] {
        guard maxRecords >= 1 else { throw JournalError(.invalidArgument, "maxRecords must be ≥ 1") }
        let lsn = max(requested, 1)
        let (segments, durable, snapshotLSN) = (table.segments, table.lastDurableLSN, table.snapshotLSN)
        guard lsn <= durable else { return [] }
        guard let position = segmentPosition(segments, containing: lsn) else {
            throw JournalError(.missingSegment,
                "LSN \(lsn) was compacted: the oldest retained record is \(segments.first?.firstLSN ?? durable + 1) (snapshot at LSN \(snapshotLSN))")
        }
        var records: [JournalRecord] = []
        var payloadBytes = 0
        var expected = lsn
        for segment in segments[position...] where segment.lastLSN >= expected {
            let start = segment.index.last(where: { $0.lsn <= expected }) ?? IndexEntry(lsn: segment.firstLSN, offset: JournalFormat.segmentHeaderBytes)
            var next = start.lsn
            var offset = start.offset
            var reader = WindowReader(file: segment.file, limit: segment.endOffset)
            while offset < segment.endOffset {
                let decoded: RecordFrame.Decoded
                do { decoded = try reader.withBytes(at: offset) { RecordFrame.decode($0) } } catch {
                    throw JournalError.from(error, file: segment.name, offset: offset)
                }
                guard case .record(let record, let frameBytes) = decoded, record.lsn == next else {
                    let reason: String
                    switch decoded {
                    case .corrupt(let why): reason = why
                    case .needMoreBytes: reason = "incomplete frame before the durable end"
                    case .record(let record, _): reason = "expected LSN \(next), found \(record.lsn)"
                    }
                    throw JournalError(.corrupt, file: segment.name, offset: offset, reason)
                }
                if record.lsn >= expected {
                    payloadBytes += record.payload.count
                    records.append(record)
                    expected = record.lsn + 1
                    if records.count >= maxRecords || payloadBytes >= Journal.maxReadBytes || record.lsn >= durable {
                        return records
                    }
                }
                next += 1
                offset += frameBytes
            }
        }
        return records
    }

    private static func segmentPosition(_ segments: [SegmentEntry], containing lsn: UInt64) -> Int? {
        guard let first = segments.first, lsn >= first.firstLSN else { return nil }
        return segments.lastIndex { $0.firstLSN <= lsn }
    }
}
