internal import Platform
import Synchronization

extension JournalCore {
    /// The snapshot thread: sleeps until the writer asks (a threshold was crossed) or the
    /// journal closes.
    func runSnapshotter() {
        enum Step { case exit, skip, run(any SnapshotSource) }
        while true {
            let step = control.withLock(waitingUntil: { $0.requested || $0.closing }) { state -> Step in
                if state.closing { return .exit }
                state.requested = false
                guard let source = state.source, !state.busy else { return .skip }
                state.busy = true
                return .run(source)
            }
            switch step {
            case .exit: return
            case .skip: continue
            case .run(let source):
                do throws(JournalError) {
                    try takeSnapshot(from: source)
                } catch {
                    log("journal: snapshot failed: \(error)")
                    control.withLock { $0.schedule.restart() }
                }
                control.withLock { $0.busy = false }
                control.broadcast()
            }
        }
    }

    /// Counts appended records toward the snapshot thresholds and wakes the snapshot thread
    /// when one is crossed. Called by the writer after each batch.
    func noteAppended(records: Int, bytes: Int) {
        let wake = control.withLock { state -> Bool in
            state.schedule.noteAppended(records: records, bytes: bytes)
            guard state.source != nil, !state.requested, !state.busy, state.schedule.isDue else { return false }
            state.requested = true
            return true
        }
        if wake { control.broadcast() }
    }

    /// Captures, writes (temporary file, fdatasync, rename, fsync directory) and installs one
    /// snapshot, then removes the segments it covers and the older snapshot. The caller holds
    /// `busy`. Returns quietly when the source has nothing newer than the last snapshot.
    func takeSnapshot(from source: any SnapshotSource) throws(JournalError) {
        // A truncation that starts and ends while the source copies its state could leave the
        // copy holding discarded records: compare the truncation count before and after.
        let truncationsBefore = table.withLock { $0.truncations }
        let captured = source.captureSnapshot()
        let name = JournalFormat.snapshotName(lsn: captured.lsn)
        let proceed = table.withLock { table -> Result<Bool, JournalError> in
            if table.closed { return .failure(JournalError(.closed, "journal is closed")) }
            if table.truncating || table.truncations != truncationsBefore {
                return .failure(JournalError(.invalidArgument, "a truncation ran while the snapshot was captured"))
            }
            let admitted = table.admitsSnapshot(lsn: captured.lsn, stateBytes: captured.state.count)
            if case .success(true) = admitted { table.pendingSnapshotLSN = captured.lsn }
            return admitted
        }
        guard try proceed.get() else { return }

        do throws(JournalError) {
            try Journal.writeSnapshotFile(directory: directory, storage: storage, lsn: captured.lsn, epoch: captured.epoch, state: captured.state)
        } catch {
            table.withLock { $0.pendingSnapshotLSN = nil }
            throw error
        }
        do throws(Errno) {
            try storage.syncDirectory(directory)
        } catch {
            fatalError(Journal.snapshotDirectorySyncFailure(directory: directory, name: name, error: error))
        }

        let obsolete = table.withLock { $0.installSnapshot(lsn: captured.lsn, name: name) }
        control.withLock { $0.schedule.restart() }
        statistics.withLock { $0.snapshots += 1 }
        Journal.removeObsolete(obsolete, directory: directory, storage: storage, log: log)
        log(Journal.snapshotWritten(name: name, lsn: captured.lsn, stateBytes: captured.state.count, removedSegments: obsolete.segments.count))
    }
}

extension Journal {
    /// Writes a snapshot file atomically: header and state into a temporary file, fdatasync,
    /// rename. Any error leaves no file behind under the snapshot's name, and the previous
    /// snapshot stays in force. The caller then fsyncs the directory: the snapshot is installed
    /// only once that succeeds (see `snapshotDirectorySyncFailure`).
    static func writeSnapshotFile(directory: String, storage: any JournalStorage, lsn: UInt64, epoch: UInt64, state: [UInt8]) throws(JournalError) {
        let name = JournalFormat.snapshotName(lsn: lsn)
        let final = directory + "/" + name
        let temporary = final + JournalFormat.temporarySuffix
        do throws(Errno) {
            let file = try storage.openFile(temporary, create: true)
            try file.truncate(to: 0)
            let header = JournalFormat.encodeSnapshotHeader(lsn: lsn, epoch: epoch, state: state)
            try file.write(header, at: 0)
            try file.write(state, at: header.count)
            // Not fatal: nothing relies on this file until the rename below is durable.
            try file.synchronize()
            // rename(2) either happens or does not: on failure the snapshot name does not exist.
            try storage.rename(temporary, to: final)
        } catch {
            try? storage.remove(temporary)
            throw JournalError.from(error, file: name)
        }
    }

    /// Why a failed directory fsync after a snapshot's rename is a crash: the renamed snapshot
    /// may or may not survive one, and recovery would trust it, so the journal cannot go on
    /// believing the old snapshot is the newest.
    static func snapshotDirectorySyncFailure(directory: String, name: String, error: Errno) -> String {
        "journal: fsync of \(directory) after installing \(name) failed (\(error)); crashing to recover from the log"
    }

    /// Removes the segments an installed snapshot covers and the older snapshot, then fsyncs the
    /// directory. Failures are only logged: a removal that does not happen or is not durable is
    /// harmless, since recovery removes segments the newest snapshot covers, and older snapshots.
    static func removeObsolete(
        _ obsolete: (segments: [String], oldSnapshot: String?), directory: String, storage: any JournalStorage,
        log: (String) -> Void
    ) {
        let files = obsolete.segments + (obsolete.oldSnapshot.map { [$0] } ?? [])
        guard !files.isEmpty else { return }
        for file in files {
            do throws(Errno) { try storage.remove(directory + "/" + file) } catch { log("journal: could not remove \(file): \(error)") }
        }
        do throws(Errno) { try storage.syncDirectory(directory) } catch { log("journal: directory sync after snapshot cleanup failed: \(error)") }
    }

    static func snapshotWritten(name: String, lsn: UInt64, stateBytes: Int, removedSegments: Int) -> String {
        "journal: wrote \(name) (LSN \(lsn), \(stateBytes) bytes); removed \(removedSegments) covered segments"
    }
}
