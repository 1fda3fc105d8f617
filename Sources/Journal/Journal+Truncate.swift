internal import Platform
import Synchronization

extension JournalCore {
    /// Discards the durable records after `lsn`, on the writer thread (so no batch is in
    /// flight). Order on disk: remove later segments from the newest down and fsync the
    /// directory, then truncate the segment holding `lsn + 1` and fdatasync it; a crash at any
    /// point leaves a contiguous log that ends somewhere at or after `lsn`. Failures after the
    /// first change are fatal for the same reason a failed fdatasync is.
    func truncate(after lsn: UInt64, writer: inout WriterState) -> Result<Void, JournalError> {
        let plan = table.withLock { table -> Result<(segments: [SegmentEntry], position: Int), JournalError> in
            if table.closed { return .failure(JournalError(.closed, "journal is closed")) }
            if lsn >= table.lastDurableLSN { return .success(([], -1)) }
            let floor = max(table.snapshotLSN, table.pendingSnapshotLSN ?? 0)
            guard lsn >= floor else {
                return .failure(JournalError(.invalidArgument, "cannot truncate after LSN \(lsn): the snapshot at LSN \(floor) includes later records"))
            }
            guard let position = table.segmentIndex(containing: lsn + 1) else {
                return .failure(JournalError(.missingSegment, "LSN \(lsn + 1) is not in any retained segment"))
            }
            table.truncating = true
            table.truncations &+= 1
            return .success((table.segments, position))
        }
        guard case .success(let (segments, position)) = plan else {
            if case .failure(let error) = plan { return .failure(error) }
            return .success(())
        }
        if position < 0 { return .success(()) }
        defer { table.withLock { $0.truncating = false } }

        // Find where record lsn + 1 starts, and the epoch of record lsn.
        let target = segments[position]
        var cut = JournalFormat.segmentHeaderBytes
        var epochAtCut = target.epochBefore
        if lsn + 1 > target.firstLSN {
            // Start at or before record `lsn` itself, so that its epoch is read on the way.
            let start = target.index.last(where: { $0.lsn <= lsn }) ?? IndexEntry(lsn: target.firstLSN, offset: JournalFormat.segmentHeaderBytes)
            var reader = WindowReader(file: target.file, limit: target.endOffset)
            var offset = start.offset
            var found = false
            do throws(Errno) {
                while offset < target.endOffset {
                    let decoded = try reader.withBytes(at: offset) { RecordFrame.decode($0) }
                    guard case .record(let record, let frameBytes) = decoded else { break }
                    if record.lsn == lsn + 1 { found = true; break }
                    epochAtCut = record.epoch
                    offset += frameBytes
                }
            } catch {
                return .failure(JournalError.from(error, file: target.name, offset: offset))
            }
            guard found else {
                return .failure(JournalError(.corrupt, file: target.name, offset: offset, "record \(lsn + 1) not found where the index says"))
            }
            cut = offset
        }

        // Newest first, each removal made durable before the next: the directory never loses a
        // middle segment while keeping a later one, whatever order the disk would persist them in.
        for entry in segments[(position + 1)...].reversed() {
            do throws(Errno) {
                try storage.remove(path(entry.name))
                try storage.syncDirectory(directory)
            } catch {
                fatalError("journal: truncate after LSN \(lsn): removing \(entry.name) failed (\(error)); crashing to recover from the log")
            }
        }
        do throws(Errno) {
            try storage.syncDirectory(directory)
            try target.file.truncate(to: cut)
        } catch {
            fatalError("journal: truncate after LSN \(lsn): \(error); crashing to recover from the log")
        }
        synchronizeOrCrash(target.file, name: target.name, after: "truncating after LSN \(lsn)")

        table.withLock { table in
            // Look the segment up again: a snapshot may have removed older segments meanwhile.
            guard let current = table.segments.firstIndex(where: { $0.firstLSN == target.firstLSN }) else {
                preconditionFailure("the segment being truncated left the table")
            }
            table.segments.removeSubrange((current + 1)...)
            table.segments[current].lastLSN = lsn
            table.segments[current].endOffset = cut
            table.segments[current].lastEpoch = epochAtCut
            table.segments[current].index.removeAll { $0.lsn > lsn }
            table.lastDurableLSN = lsn
        }
        durableLSN.store(lsn, ordering: .releasing)
        writer.active = target.file
        writer.core.truncated(to: JournalWriterCore.Position(
            segmentName: target.name, size: cut, nextLSN: lsn + 1, lastEpoch: epochAtCut,
            lastIndexedOffset: target.index.last(where: { $0.lsn <= lsn })?.offset ?? SegmentScanner.noIndexedOffset
        ))
        log("journal: truncated after LSN \(lsn) (\(target.name) now ends at offset \(cut), \(segments.count - position - 1) later segments removed)")
        return .success(())
    }
}
