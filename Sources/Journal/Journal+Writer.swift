internal import Platform
import Synchronization

/// What only the writer thread touches: the writer's decisions and the active segment's file.
struct WriterState: Sendable {
    var core: JournalWriterCore
    var active: any JournalFile
}

/// How writing one batch ended (see `Journal.commit`).
enum BatchCommit: Sendable, Equatable {
    /// Written and fdatasynced.
    case durable
    /// The write failed with this error; the segment was cut back to where the batch began, and
    /// the cut is durable.
    case failed(Errno)
    /// An fdatasync, or the cut back after a failed write, failed: what the disk holds is
    /// unknown. The threaded journal stops the process; a ``SteppedJournal`` reports `.crashed`.
    case unknown(reason: String)
}

extension Journal {
    /// Writes one batch's frames at `offset` of the active segment `name` with one write and
    /// makes them durable with one fdatasync; after a failed write, cuts the segment back to
    /// `offset` durably: the failed records' bytes must never be read, even after a crash. Each
    /// outcome but `.unknown` made one fdatasync.
    ///
    /// After a failed fdatasync the kernel may have dropped the dirty pages and cleared the error
    /// (PostgreSQL's "fsyncgate", 2018): a retry can succeed without the data being on disk. So
    /// a failed sync is never retried: the only safe answer is to stop and let recovery read what
    /// the disk really holds.
    static func commit(_ frames: [UInt8], to file: any JournalFile, name: String, at offset: Int, lsns: ClosedRange<UInt64>) -> BatchCommit {
        do throws(Errno) {
            try file.write(frames, at: offset)
        } catch {
            do throws(Errno) {
                try file.truncate(to: offset)
            } catch let truncateError {
                return .unknown(reason: "journal: \(name): write failed (\(error)) and truncating back to \(offset) failed (\(truncateError)); the segment's tail is unknown: crash and recover")
            }
            do throws(Errno) {
                try file.synchronize()
            } catch let syncError {
                return .unknown(reason: "journal: fdatasync of \(name) failed (\(syncError)) after rolling back a failed write (\(error)); durability is unknown, crashing to recover from the log")
            }
            return .failed(error)
        }
        do throws(Errno) {
            try file.synchronize()
        } catch {
            return .unknown(reason: "journal: fdatasync of \(name) failed (\(error)) after appending LSNs \(lsns.lowerBound)…\(lsns.upperBound); durability is unknown, crashing to recover from the log")
        }
        return .durable
    }

    /// How rolling to a new segment failed.
    enum RollError: Error {
        /// Creating it failed; nothing was left behind.
        case create(Errno)
        /// The directory fsync after its rename failed: whether the segment's name survives a
        /// crash is unknown, and records would go into it. The reason is for the crash message.
        case syncDirectory(String)
    }

    /// Creates segment `firstLSN` (header epoch `epoch`) and fsyncs the directory.
    static func rollSegment(directory: String, storage: any JournalStorage, firstLSN: UInt64, epoch: UInt64, lastEpoch: UInt64) throws(RollError) -> SegmentEntry {
        let name = JournalFormat.segmentName(firstLSN: firstLSN)
        let file: any JournalFile
        do throws(Errno) {
            file = try createSegment(directory: directory, storage: storage, firstLSN: firstLSN, epoch: epoch)
        } catch {
            throw .create(error)
        }
        do throws(Errno) {
            try storage.syncDirectory(directory)
        } catch {
            throw .syncDirectory("journal: fsync of directory \(directory) failed after creating \(name) (\(error)); crashing to recover from the log")
        }
        return SegmentEntry.empty(name: name, firstLSN: firstLSN, file: file, epoch: lastEpoch)
    }
}

extension JournalCore {
    /// The group-commit loop: take everything queued (holding the lock only to swap arrays),
    /// write it in batches of one pwrite and one fdatasync each, as the writer core decides,
    /// complete, repeat. Exits once closing and drained.
    ///
    /// Once an append fails on I/O the journal halts: the appends after it in the round, and
    /// those still queued, fail without being written (the caller may have decided them against
    /// a state that included the failed one); truncations are still carried out.
    func runWriter(_ initial: WriterState) {
        var writer = initial
        var items: [QueueItem] = []
        var round = Round()
        while true {
            let halted = queue.withLock(waitingUntil: { !$0.items.isEmpty || $0.closing }) { state -> Bool in
                swap(&items, &state.items)
                return state.halt != nil
            }
            if items.isEmpty { break }  // closing, and nothing left
            // A halt takes the appends then queued out of the queue, and refuses new ones until
            // resume(): unless still halted, every append of this round was queued after a resume.
            if !halted { writer.core.resume() }
            for item in items {
                switch item {
                case .append(let type, let epoch, let payload, let completion):
                    round.completedAppends += 1
                    round.completedBytes += payload.count
                    add(type: type, epoch: epoch, payload: payload, completion: completion, writer: &writer, round: &round)
                case .truncate(let lsn, let completion):
                    flush(writer: &writer, round: &round)
                    completion(truncate(after: lsn, writer: &writer))
                }
            }
            flush(writer: &writer, round: &round)
            if let error = round.haltError {
                for case .append(_, _, let payload, let completion) in round.takenAtHalt {
                    round.completedAppends += 1
                    round.completedBytes += payload.count
                    fail(completion, with: error)
                }
            }
            items.removeAll(keepingCapacity: true)
            let (appends, bytes) = (round.completedAppends, round.completedBytes)
            queue.withLock { state in
                state.outstandingAppends -= appends
                state.outstandingBytes -= bytes
                precondition(state.outstandingAppends >= 0 && state.outstandingBytes >= 0, "queue accounting went negative")
            }
            round.reset()
        }
    }

    /// One round of the writer loop: the batch's completions beside the core's frames, and the
    /// queue accounting.
    struct Round {
        var completions: [@Sendable (Result<UInt64, JournalError>) -> Void] = []
        var completedAppends = 0
        var completedBytes = 0
        /// The appends a halt took out of the queue (in queue order): they fail at the round's
        /// end, with `haltError`.
        var takenAtHalt: [QueueItem] = []
        var haltError: JournalError?

        mutating func reset() {
            completions.removeAll(keepingCapacity: true)
            completedAppends = 0
            completedBytes = 0
            takenAtHalt.removeAll()
            haltError = nil
        }
    }

    /// Halts the journal after `failed`: from now on appends fail at once until
    /// ``Journal/resume()``, and the appends still queued are taken out to fail (they were
    /// queued before the halt, so they may depend on the failed one). Truncations stay queued.
    private func halt(_ failed: JournalWriterCore.Failure, round: inout Round) {
        let queued = queue.withLock { state -> [QueueItem] in
            state.halt = failed.haltError
            let queued = state.items.filter(\.isAppend)
            state.items.removeAll(where: \.isAppend)
            return queued
        }
        round.takenAtHalt += queued
        round.haltError = failed.haltError
        if let line = failed.logLine { log(line) }
    }

    /// Completes one append that was not written.
    private func fail(_ completion: @Sendable (Result<UInt64, JournalError>) -> Void, with error: JournalError) {
        statistics.withLock { $0.failedAppends += 1 }
        completion(.failure(error))
    }

    /// Adds one append to the batch as the writer core decides, first writing the batch or
    /// rolling to a new segment when it says so. A failed write or roll halts the journal; the
    /// append then fails (with the roll's error, or as not written after the failed batch).
    private func add(
        type: UInt16, epoch: UInt64, payload: [UInt8], completion: @escaping @Sendable (Result<UInt64, JournalError>) -> Void,
        writer: inout WriterState, round: inout Round
    ) {
        while true {
            switch writer.core.admit(type: type, epoch: epoch, payload: payload) {
            case .added:
                round.completions.append(completion)
                return
            case .refused(let error):
                fail(completion, with: error)
                return
            case .flushFirst:
                flush(writer: &writer, round: &round)
            case .rollFirst(let firstLSN, let headerEpoch):
                let entry: SegmentEntry
                do throws(Journal.RollError) {
                    entry = try Journal.rollSegment(
                        directory: directory, storage: storage, firstLSN: firstLSN, epoch: headerEpoch,
                        lastEpoch: writer.core.position.lastEpoch)
                } catch {
                    switch error {
                    case .syncDirectory(let reason): fatalError(reason)
                    case .create(let cause):
                        let failed = writer.core.rollFailed(cause)
                        halt(failed, round: &round)
                        fail(completion, with: failed.failure)
                        return
                    }
                }
                table.withLock { $0.rolled(to: entry) }
                writer.core.rolled()
                writer.active = entry.file
                statistics.withLock {
                    $0.segmentsRolled += 1
                    $0.syncs += 1
                }
                log("journal: rolled to \(entry.name)")
            }
        }
    }

    /// Writes the batch with one pwrite and makes it durable with one fdatasync, then publishes
    /// and completes it. A failed write is rolled back, halts the journal and fails every record
    /// of the batch without consuming LSNs. A failed fdatasync is fatal.
    private func flush(writer: inout WriterState, round: inout Round) {
        guard let pending = writer.core.beginWrite() else { return }
        let name = writer.core.position.segmentName
        switch Journal.commit(writer.core.batchBytes, to: writer.active, name: name, at: pending.offset, lsns: pending.firstLSN...pending.lastLSN) {
        case .unknown(let reason):
            fatalError(reason)
        case .failed(let error):
            statistics.withLock { $0.syncs += 1 }
            let failed = writer.core.batchFailed(error)
            // Halted before any completion runs: an append its caller makes on seeing the
            // failure is refused rather than queued behind the failed batch.
            halt(failed, round: &round)
            for completion in round.completions { fail(completion, with: failed.failure) }
            round.completions.removeAll(keepingCapacity: true)
        case .durable:
            statistics.withLock { $0.syncs += 1 }
            let written = writer.core.batchWritten()
            table.withLock { $0.appended(written) }
            durableLSN.store(written.lastLSN, ordering: .releasing)
            statistics.withLock { $0.recordBatch(records: written.count, bytes: written.bytes) }
            for (position, completion) in round.completions.enumerated() {
                completion(.success(written.firstLSN + UInt64(position)))
            }
            round.completions.removeAll(keepingCapacity: true)
            noteAppended(records: written.count, bytes: written.bytes)
            if let line = written.resumedLogLine { log(line) }
        }
    }

    /// fdatasync, or crash (see `Journal.commit` for why a failed fdatasync is never retried).
    func synchronizeOrCrash(_ file: any JournalFile, name: String, after what: String) {
        do throws(Errno) {
            try file.synchronize()
        } catch {
            fatalError("journal: fdatasync of \(name) failed (\(error)) after \(what); durability is unknown, crashing to recover from the log")
        }
        statistics.withLock { $0.syncs += 1 }
    }
}
