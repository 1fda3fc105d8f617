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
                    // Try again after another threshold's worth of appends, not after every batch.
                    control.withLock { $0.recordsSince = 0; $0.bytesSince = 0 }
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
            state.recordsSince += records
            state.bytesSince += bytes
            guard state.source != nil, !state.requested, !state.busy,
                state.recordsSince >= options.snapshotEveryRecords || state.bytesSince >= options.snapshotEveryBytes
            else { return false }
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
            guard captured.lsn <= table.lastDurableLSN else {
                return .failure(JournalError(.invalidArgument, "snapshot source is at LSN \(captured.lsn), beyond the durable log (\(table.lastDurableLSN))"))
            }
            guard captured.state.count <= JournalFormat.maxSnapshotStateBytes else {
                return .failure(JournalError(.invalidArgument, "snapshot state of \(captured.state.count) bytes exceeds the limit"))
            }
            if captured.lsn <= table.snapshotLSN { return .success(false) }
            table.pendingSnapshotLSN = captured.lsn
            return .success(true)
        }
        guard try proceed.get() else { return }

        let final = path(name)
        let temporary = final + JournalFormat.temporarySuffix
        do throws(Errno) {
            let file = try storage.openFile(temporary, create: true)
            try file.truncate(to: 0)
            let header = JournalFormat.encodeSnapshotHeader(lsn: captured.lsn, epoch: captured.epoch, state: captured.state)
            try file.write(header, at: 0)
            try file.write(captured.state, at: header.count)
            // Not fatal: nothing relies on this file until the rename below is durable.
            try file.synchronize()
            // rename(2) either happens or does not: on failure the snapshot name does not exist.
            try storage.rename(temporary, to: final)
        } catch {
            try? storage.remove(temporary)
            table.withLock { $0.pendingSnapshotLSN = nil }
            throw JournalError.from(error, file: name)
        }
        do throws(Errno) {
            try storage.syncDirectory(directory)
        } catch {
            // The renamed snapshot may or may not survive a crash, and recovery would trust it:
            // the journal cannot go on believing the old snapshot is the newest.
            fatalError("journal: fsync of \(directory) after installing \(name) failed (\(error)); crashing to recover from the log")
        }

        // Installed. Segments wholly at or below the snapshot, and the older snapshot, go.
        let (removed, oldSnapshot) = table.withLock { table -> ([String], String?) in
            let old = table.snapshotName
            table.snapshotLSN = captured.lsn
            table.snapshotName = name
            table.pendingSnapshotLSN = nil
            var removed: [String] = []
            while table.segments.count >= 2 && table.segments[1].firstLSN <= captured.lsn + 1 {
                removed.append(table.segments.removeFirst().name)
            }
            return (removed, old)
        }
        control.withLock { $0.recordsSince = 0; $0.bytesSince = 0 }
        statistics.withLock { $0.snapshots += 1 }
        // A removal that does not happen or is not durable is harmless: recovery removes
        // segments the newest snapshot covers, and older snapshots.
        for file in removed + (oldSnapshot.map { [$0] } ?? []) {
            do throws(Errno) { try storage.remove(path(file)) } catch { log("journal: could not remove \(file): \(error)") }
        }
        if !removed.isEmpty || oldSnapshot != nil {
            do throws(Errno) { try storage.syncDirectory(directory) } catch { log("journal: directory sync after snapshot cleanup failed: \(error)") }
        }
        log("journal: wrote \(name) (LSN \(captured.lsn), \(captured.state.count) bytes); removed \(removed.count) covered segments")
    }
}
