internal import Platform
import Synchronization

/// What only the writer thread touches: the segment being appended to and the next LSN.
struct WriterState: Sendable {
    var active: any JournalFile
    var activeName: String
    /// The durable end of the active segment, where the next batch is written.
    var activeSize: Int
    var nextLSN: UInt64
    var lastEpoch: UInt64
    var lastIndexedOffset: Int
    /// Halts since the last successful write: only the first of an outage is logged, so a caller
    /// that resumes and fails again in a loop while the disk is full cannot flood the log.
    var haltsSinceWrite = 0
    let segmentBytes: Int
    let maxBatchBytes: Int

    init(active: any JournalFile, activeName: String, activeSize: Int, nextLSN: UInt64, lastEpoch: UInt64, lastIndexedOffset: Int, options: JournalOptions) {
        self.active = active
        self.activeName = activeName
        self.activeSize = activeSize
        self.nextLSN = nextLSN
        self.lastEpoch = lastEpoch
        self.lastIndexedOffset = lastIndexedOffset
        self.segmentBytes = options.segmentBytes
        self.maxBatchBytes = options.maxBatchBytes
    }

    var activeHasRecords: Bool { activeSize > JournalFormat.segmentHeaderBytes }
}

/// One group commit being assembled: frames in one buffer, completions beside them.
struct Batch {
    var buffer: [UInt8] = []
    var completions: [@Sendable (Result<UInt64, JournalError>) -> Void] = []
    var index: [IndexEntry] = []
    var payloadBytes = 0
    /// The epoch of the last record in the batch (the writer's epoch while empty).
    var epoch: UInt64 = 0
    /// The writer's last indexed offset before the batch, restored if the batch fails.
    var indexedOffsetAtStart = SegmentScanner.noIndexedOffset

    var isEmpty: Bool { completions.isEmpty }

    mutating func reset(epoch: UInt64) {
        buffer.removeAll(keepingCapacity: true)
        completions.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        payloadBytes = 0
        self.epoch = epoch
    }
}

/// How the writer halted the journal in the current round (see `QueueState.halt`).
struct Halt {
    /// What every later append of the round fails with.
    let error: JournalError
    /// The appends that were still queued when it halted, in queue order: they fail too.
    let queued: [QueueItem]
}

extension JournalCore {
    /// The group-commit loop: take everything queued (holding the lock only to swap arrays),
    /// write it in batches of one pwrite and one fdatasync each, complete, repeat. Exits once
    /// closing and drained.
    ///
    /// Once an append fails on I/O the journal halts: the appends after it in the round, and
    /// those still queued, fail without being written (the caller may have decided them against
    /// a state that included the failed one); truncations are still carried out.
    func runWriter(_ initial: WriterState) {
        var writer = initial
        var items: [QueueItem] = []
        var batch = Batch()
        batch.buffer.reserveCapacity(min(options.maxBatchBytes, 1 << 20))
        while true {
            queue.withLock(waitingUntil: { !$0.items.isEmpty || $0.closing }) { state in
                swap(&items, &state.items)
            }
            if items.isEmpty { break }  // closing, and nothing left
            var completedAppends = 0
            var completedBytes = 0
            var halt: Halt?
            batch.reset(epoch: writer.lastEpoch)
            for item in items {
                switch item {
                case .append(let type, let epoch, let payload, let completion):
                    completedAppends += 1
                    completedBytes += payload.count
                    if let halt {
                        fail(completion, with: halt.error)
                    } else {
                        halt = add(type: type, epoch: epoch, payload: payload, completion: completion, to: &batch, writer: &writer)
                    }
                case .truncate(let lsn, let completion):
                    if halt == nil { halt = flush(&batch, writer: &writer) }
                    completion(truncate(after: lsn, writer: &writer))
                    batch.reset(epoch: writer.lastEpoch)
                }
            }
            if halt == nil { halt = flush(&batch, writer: &writer) }
            if let halt {
                for case .append(_, _, let payload, let completion) in halt.queued {
                    completedAppends += 1
                    completedBytes += payload.count
                    fail(completion, with: halt.error)
                }
            }
            items.removeAll(keepingCapacity: true)
            queue.withLock { state in
                state.outstandingAppends -= completedAppends
                state.outstandingBytes -= completedBytes
                precondition(state.outstandingAppends >= 0 && state.outstandingBytes >= 0, "queue accounting went negative")
            }
        }
    }

    /// Halts the journal after an append failed with `failure`: from now on appends fail at once
    /// until ``Journal/resume()``, and the appends still queued are taken out to fail (they were
    /// queued before the halt, so they may depend on the failed one). Truncations stay queued.
    private func halt(after failure: JournalError, writer: inout WriterState) -> Halt {
        let error = JournalError.notWritten(after: failure)
        let queued = queue.withLock { state -> [QueueItem] in
            state.halt = error
            let queued = state.items.filter(\.isAppend)
            state.items.removeAll(where: \.isAppend)
            return queued
        }
        writer.haltsSinceWrite += 1
        if writer.haltsSinceWrite == 1 {
            log("journal: halted after a failed append (\(failure)); appends fail until resume()")
        }
        return Halt(error: error, queued: queued)
    }

    /// Completes one append that was not written.
    private func fail(_ completion: @Sendable (Result<UInt64, JournalError>) -> Void, with error: JournalError) {
        statistics.withLock { $0.failedAppends += 1 }
        completion(.failure(error))
    }

    /// Adds one append to the batch, first flushing it when the record would overflow the batch
    /// or the segment, and rolling to a new segment when an empty batch would overflow it.
    ///
    /// - Returns: the halt when that flush or roll failed; the append is then completed (with
    ///   the roll's error, or as not written after the failed flush).
    private func add(
        type: UInt16, epoch: UInt64, payload: [UInt8], completion: @escaping @Sendable (Result<UInt64, JournalError>) -> Void,
        to batch: inout Batch, writer: inout WriterState
    ) -> Halt? {
        guard epoch >= batch.epoch else {
            // A caller error, decided against the records before it: it fails alone.
            fail(completion, with: JournalError(.invalidArgument, "epoch \(epoch) is below the log's epoch \(batch.epoch)"))
            return nil
        }
        let frameBytes = RecordFrame.overheadBytes + payload.count
        if !batch.isEmpty
            && (batch.buffer.count + frameBytes > writer.maxBatchBytes
                || writer.activeSize + batch.buffer.count + frameBytes > writer.segmentBytes)
        {
            if let halt = flush(&batch, writer: &writer) {
                fail(completion, with: halt.error)
                return halt
            }
            batch.reset(epoch: writer.lastEpoch)
        }
        if batch.isEmpty && writer.activeHasRecords && writer.activeSize + frameBytes > writer.segmentBytes {
            do throws(Errno) {
                try roll(epoch: epoch, writer: &writer)
            } catch {
                let failure = JournalError.from(error, file: JournalFormat.segmentName(firstLSN: writer.nextLSN), offset: 0)
                let halted = halt(after: failure, writer: &writer)
                fail(completion, with: failure)
                return halted
            }
        }
        if batch.isEmpty { batch.indexedOffsetAtStart = writer.lastIndexedOffset }
        let lsn = writer.nextLSN + UInt64(batch.completions.count)
        let offset = writer.activeSize + batch.buffer.count
        if offset - writer.lastIndexedOffset >= SegmentScanner.indexSpacing {
            batch.index.append(IndexEntry(lsn: lsn, offset: offset))
            writer.lastIndexedOffset = offset
        }
        RecordFrame.encode(type, epoch: epoch, lsn: lsn, batchFirstLSN: writer.nextLSN, payload: payload, into: &batch.buffer)
        batch.completions.append(completion)
        batch.payloadBytes += payload.count
        batch.epoch = epoch
        return nil
    }

    /// Writes the batch with one pwrite and makes it durable with one fdatasync, then publishes
    /// and completes it. A failed write is rolled back (truncate + fdatasync), halts the journal
    /// and fails every record of the batch without consuming LSNs; the halt is returned. A failed
    /// fdatasync is fatal.
    private func flush(_ batch: inout Batch, writer: inout WriterState) -> Halt? {
        guard !batch.isEmpty else { return nil }
        let offset = writer.activeSize
        let count = batch.completions.count
        do throws(Errno) {
            try writer.active.write(batch.buffer, at: offset)
        } catch {
            rollBack(writer: writer, to: offset, after: error)
            let failure = JournalError.from(error, file: writer.activeName, offset: offset)
            writer.lastIndexedOffset = batch.indexedOffsetAtStart
            // Halted before any completion runs: an append its caller makes on seeing the
            // failure is refused rather than queued behind the failed batch.
            let halted = halt(after: failure, writer: &writer)
            for completion in batch.completions { fail(completion, with: failure) }
            batch.reset(epoch: writer.lastEpoch)
            return halted
        }
        synchronizeOrCrash(writer.active, name: writer.activeName, after: "appending LSNs \(writer.nextLSN)…\(writer.nextLSN + UInt64(count) - 1)")

        let first = writer.nextLSN
        let last = first + UInt64(count) - 1
        writer.nextLSN = last + 1
        writer.activeSize += batch.buffer.count
        writer.lastEpoch = batch.epoch
        let end = writer.activeSize
        let epoch = batch.epoch
        let newIndex = batch.index
        table.withLock { table in
            let position = table.segments.count - 1
            precondition(table.segments[position].lastLSN + 1 == first, "writer and segment table disagree")
            table.segments[position].lastLSN = last
            table.segments[position].endOffset = end
            table.segments[position].lastEpoch = epoch
            table.segments[position].index += newIndex
            table.lastDurableLSN = last
        }
        durableLSN.store(last, ordering: .releasing)
        let bytes = batch.buffer.count
        statistics.withLock { $0.recordBatch(records: count, bytes: bytes) }
        for (position, completion) in batch.completions.enumerated() {
            completion(.success(first + UInt64(position)))
        }
        noteAppended(records: count, bytes: bytes)
        batch.reset(epoch: writer.lastEpoch)
        if writer.haltsSinceWrite > 0 {
            log("journal: appends are written again (after \(writer.haltsSinceWrite) halts)")
            writer.haltsSinceWrite = 0
        }
        return nil
    }

    /// Puts the active segment back to `size` after a failed write, durably: the failed
    /// records' bytes must never be read, even after a crash.
    private func rollBack(writer: WriterState, to size: Int, after error: Errno) {
        do throws(Errno) {
            try writer.active.truncate(to: size)
        } catch let truncateError {
            fatalError("journal: \(writer.activeName): write failed (\(error)) and truncating back to \(size) failed (\(truncateError)); the segment's tail is unknown: crash and recover")
        }
        synchronizeOrCrash(writer.active, name: writer.activeName, after: "rolling back a failed write (\(error))")
    }

    /// fdatasync, or crash. After a failed fdatasync the kernel may have dropped the dirty
    /// pages and cleared the error (PostgreSQL's "fsyncgate", 2018): a retry can succeed without
    /// the data being on disk. The only safe answer is to stop and let recovery read what the
    /// disk really holds.
    func synchronizeOrCrash(_ file: any JournalFile, name: String, after what: String) {
        do throws(Errno) {
            try file.synchronize()
        } catch {
            fatalError("journal: fdatasync of \(name) failed (\(error)) after \(what); durability is unknown, crashing to recover from the log")
        }
        statistics.withLock { $0.syncs += 1 }
    }

    /// Starts a new segment at `writer.nextLSN`. Errors before the rename leave nothing behind;
    /// a failed directory fsync after it is fatal (records would go into a file whose name may
    /// not survive a crash).
    private func roll(epoch: UInt64, writer: inout WriterState) throws(Errno) {
        let firstLSN = writer.nextLSN
        let name = JournalFormat.segmentName(firstLSN: firstLSN)
        let file = try Journal.createSegment(directory: directory, storage: storage, firstLSN: firstLSN, epoch: epoch)
        do throws(Errno) {
            try storage.syncDirectory(directory)
        } catch {
            fatalError("journal: fsync of directory \(directory) failed after creating \(name) (\(error)); crashing to recover from the log")
        }
        let entry = SegmentEntry(
            name: name, firstLSN: firstLSN, lastLSN: firstLSN - 1, endOffset: JournalFormat.segmentHeaderBytes,
            file: file, index: [], epochBefore: writer.lastEpoch, lastEpoch: writer.lastEpoch
        )
        table.withLock { table in
            precondition(table.segments.last.map { $0.lastLSN + 1 == firstLSN } ?? false, "rolled segment is not contiguous")
            table.segments.append(entry)
        }
        writer.active = file
        writer.activeName = name
        writer.activeSize = JournalFormat.segmentHeaderBytes
        writer.lastIndexedOffset = SegmentScanner.noIndexedOffset
        statistics.withLock {
            $0.segmentsRolled += 1
            $0.syncs += 1
        }
        log("journal: rolled to \(name)")
    }
}
