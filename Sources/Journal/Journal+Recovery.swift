import Checksum
internal import Platform

/// What recovery hands the running journal.
struct RecoveryOutcome {
    var table: SegmentTable
    var recovered: Recovered
    var writer: WriterState
    var lock: any JournalDirectoryLock
}

/// The files of a journal directory, sorted.
struct DirectoryListing {
    /// (first LSN, name), ascending.
    var segments: [(UInt64, String)] = []
    /// (LSN, name), ascending.
    var snapshots: [(UInt64, String)] = []
    var temporaries: [String] = []
    var unknown: [String] = []

    init(names: [String]) {
        for name in names {
            if let lsn = JournalFormat.parseSegmentName(name) {
                segments.append((lsn, name))
            } else if let lsn = JournalFormat.parseSnapshotName(name) {
                snapshots.append((lsn, name))
            } else if name.hasSuffix(JournalFormat.temporarySuffix) {
                temporaries.append(name)
            } else if name != JournalFormat.lockName {
                unknown.append(name)
            }
        }
        segments.sort { $0.0 < $1.0 }
        snapshots.sort { $0.0 < $1.0 }
    }
}

extension Journal {
    /// Recovery: lock, load the newest snapshot (refuse if it does not verify), check every
    /// segment from the one holding `snapshot + 1`, cut a torn tail off the last segment, and
    /// remove leftovers (temporary files, older snapshots, segments the snapshot covers).
    static func recover(
        directory: String, options: JournalOptions, storage: any JournalStorage,
        log: @Sendable (String) -> Void
    ) throws(JournalError) -> RecoveryOutcome {
        func io<T>(_ name: String?, _ body: () throws(Errno) -> T) throws(JournalError) -> T {
            do { return try body() } catch { throw JournalError.from(error, file: name) }
        }
        try io(nil) { () throws(Errno) in try storage.makeDirectory(directory) }
        let lock: any JournalDirectoryLock
        do {
            lock = try storage.lockDirectory(directory)
        } catch {
            if error.code == Errno.lockHeld { throw JournalError(.locked, file: directory, "another journal has this directory open") }
            throw JournalError.from(error, file: directory)
        }
        let listing = DirectoryListing(names: try io(directory) { () throws(Errno) in try storage.listDirectory(directory) })
        func path(_ name: String) -> String { directory + "/" + name }
        var removals: [String] = listing.temporaries
        for name in listing.unknown { log("journal: ignoring unknown file \(name)") }

        // The newest snapshot, verified, or refusal.
        var snapshot: JournalSnapshot?
        if let (lsn, name) = listing.snapshots.last {
            snapshot = try loadSnapshot(name: name, expectedLSN: lsn, storage: storage, path: path(name))
            removals += listing.snapshots.dropLast().map(\.1)
        }
        let snapshotLSN = snapshot?.lsn ?? 0

        // Segments before the one holding snapshot + 1 are covered by the snapshot.
        var segmentNames = listing.segments
        if snapshot != nil, let keep = segmentNames.lastIndex(where: { $0.0 <= snapshotLSN + 1 }), keep > 0 {
            removals += segmentNames[..<keep].map(\.1)
            segmentNames.removeFirst(keep)
        }

        var records: [JournalRecord] = []
        var entries: [SegmentEntry] = []
        var truncatedTail: TruncatedTail?
        if let first = segmentNames.first {
            if first.0 > snapshotLSN + 1 {
                let what = snapshot.map { "snapshot \($0.lsn)" } ?? "no snapshot"
                throw JournalError(.missingSegment, file: first.1, offset: 0,
                    "the log starts at LSN \(first.0) but records \(snapshotLSN + 1)…\(first.0 - 1) are missing (\(what))")
            }
        }
        for (position, (firstLSN, name)) in segmentNames.enumerated() {
            let isLast = position == segmentNames.count - 1
            var epochBefore: UInt64 = 0
            if let previous = entries.last {
                epochBefore = previous.lastEpoch
                guard firstLSN == previous.lastLSN + 1 else {
                    let kind: JournalError.Kind = firstLSN > previous.lastLSN + 1 ? .missingSegment : .lsnGap
                    throw JournalError(kind, file: name, offset: 0,
                        "starts at LSN \(firstLSN) but \(previous.name) ends at LSN \(previous.lastLSN)"
                            + (kind == .missingSegment ? ": a segment is missing" : ": segments overlap"))
                }
            } else if let snapshot, snapshot.lsn + 1 == firstLSN {
                epochBefore = snapshot.epoch
            }
            let file = try io(name) { () throws(Errno) in try storage.openFile(path(name), create: false) }
            var scan = try SegmentScanner.scan(file: file, name: name, epochBefore: epochBefore, isLast: isLast) { record in
                if record.lsn > snapshotLSN { records.append(record) }
            }
            if let problem = scan.problem {
                guard problem.isTornTail else {
                    throw JournalError(problem.kind, file: name, offset: problem.offset, problem.reason)
                }
                let dropped = scan.fileSize - problem.offset
                try io(name) { () throws(Errno) in
                    try file.truncate(to: problem.offset)
                    try file.synchronize()
                }
                log("\(name): truncated torn tail at offset \(problem.offset) (\(dropped) bytes): \(problem.reason)")
                truncatedTail = TruncatedTail(file: name, offset: problem.offset, droppedBytes: dropped)
                scan.problem = nil
            }
            entries.append(SegmentEntry(
                name: name, firstLSN: firstLSN, lastLSN: scan.lastLSN, endOffset: scan.validEnd, file: file,
                index: scan.index, epochBefore: epochBefore, lastEpoch: scan.lastEpoch
            ))
        }

        if let last = entries.last, last.lastLSN < snapshotLSN {
            throw JournalError(.lsnGap, file: last.name, "the log ends at LSN \(last.lastLSN), before the snapshot at LSN \(snapshotLSN)")
        }
        if entries.isEmpty, let snapshot {
            // The segment after a snapshot is never removed: none at all means files were lost,
            // and with them every record after the snapshot.
            throw JournalError(.missingSegment, file: JournalFormat.snapshotName(lsn: snapshot.lsn),
                               "a snapshot at LSN \(snapshot.lsn) but no segment after it: segments are missing")
        }
        if entries.isEmpty {
            // A new journal: its first segment.
            let epoch = snapshot?.epoch ?? 0
            let name = JournalFormat.segmentName(firstLSN: snapshotLSN + 1)
            let file = try io(name) { () throws(Errno) in
                let file = try createSegment(directory: directory, storage: storage, firstLSN: snapshotLSN + 1, epoch: epoch)
                try storage.syncDirectory(directory)
                return file
            }
            entries.append(SegmentEntry.empty(name: name, firstLSN: snapshotLSN + 1, file: file, epoch: epoch))
        }

        if !removals.isEmpty {
            for name in removals {
                do throws(Errno) {
                    try storage.remove(path(name))
                    log("journal: removed leftover \(name)")
                } catch {
                    log("journal: could not remove \(name): \(error)")
                }
            }
            do throws(Errno) { try storage.syncDirectory(directory) } catch { log("journal: directory sync after cleanup failed: \(error)") }
        }

        let active = entries[entries.count - 1]
        let lastDurable = active.lastLSN
        // Pair assertion: what we return is gap-free from the snapshot to the end.
        precondition(records.first.map { $0.lsn == snapshotLSN + 1 } ?? (lastDurable == snapshotLSN))
        precondition(records.last.map { $0.lsn == lastDurable } ?? true)
        let table = SegmentTable(
            segments: entries, lastDurableLSN: lastDurable, snapshotLSN: snapshotLSN,
            snapshotName: listing.snapshots.last?.1
        )
        let position = JournalWriterCore.Position(
            segmentName: active.name, size: active.endOffset, nextLSN: lastDurable + 1, lastEpoch: active.lastEpoch,
            lastIndexedOffset: active.index.last?.offset ?? SegmentScanner.noIndexedOffset
        )
        let writer = WriterState(core: JournalWriterCore(position: position, options: options), active: active.file)
        let recovered = Recovered(snapshot: snapshot, records: records, truncatedTail: truncatedTail)
        return RecoveryOutcome(table: table, recovered: recovered, writer: writer, lock: lock)
    }

    /// Reads and verifies a snapshot file; any problem is `.badSnapshot`.
    static func loadSnapshot(name: String, expectedLSN: UInt64, storage: any JournalStorage, path: String) throws(JournalError) -> JournalSnapshot {
        func bad(_ reason: String, offset: Int? = 0) -> JournalError { JournalError(.badSnapshot, file: name, offset: offset, reason) }
        let file: any JournalFile
        let headerBytes: [UInt8]
        let size: Int
        do {
            file = try storage.openFile(path, create: false)
            size = try file.size()
            headerBytes = try file.readBytes(at: 0, count: JournalFormat.snapshotHeaderBytes)
        } catch {
            throw bad("unreadable: \(error)", offset: nil)
        }
        let header: JournalFormat.SnapshotHeader
        switch headerBytes.withUnsafeBytes({ JournalFormat.decodeSnapshotHeader($0) }) {
        case .success(let decoded): header = decoded
        case .failure(let problem): throw bad(problem.reason)
        }
        guard header.lsn == expectedLSN else { throw bad("header says LSN \(header.lsn), the file name disagrees") }
        guard size == JournalFormat.snapshotHeaderBytes + header.stateBytes else {
            throw bad("file is \(size) bytes, header promises \(JournalFormat.snapshotHeaderBytes + header.stateBytes)", offset: JournalFormat.snapshotHeaderBytes)
        }
        let state: [UInt8]
        do { state = try file.readBytes(at: JournalFormat.snapshotHeaderBytes, count: header.stateBytes) } catch { throw bad("unreadable: \(error)", offset: JournalFormat.snapshotHeaderBytes) }
        guard state.count == header.stateBytes else { throw bad("state is short", offset: JournalFormat.snapshotHeaderBytes) }
        let computed = CRC32C.checksum(state)
        guard computed == header.stateChecksum else {
            throw bad("state checksum mismatch (stored \(RecordFrame.hex(header.stateChecksum)), computed \(RecordFrame.hex(computed)))", offset: JournalFormat.snapshotHeaderBytes)
        }
        return JournalSnapshot(lsn: header.lsn, epoch: header.epoch, state: state)
    }

    /// Creates a segment atomically: header into a temporary file, fdatasync, rename. A file
    /// with a segment name therefore always has a whole header. The caller fsyncs the directory
    /// (recovery may fail on error; the writer must crash, since records follow).
    static func createSegment(directory: String, storage: any JournalStorage, firstLSN: UInt64, epoch: UInt64) throws(Errno) -> any JournalFile {
        let name = JournalFormat.segmentName(firstLSN: firstLSN)
        let final = directory + "/" + name
        let temporary = final + JournalFormat.temporarySuffix
        do {
            let file = try storage.openFile(temporary, create: true)
            try file.truncate(to: 0)
            let header = JournalFormat.encodeSegmentHeader(.init(firstLSN: firstLSN, epoch: epoch))
            try file.write(header, at: 0)
            // A failure here concerns a temporary file that is thrown away: not fatal.
            try file.synchronize()
            try storage.rename(temporary, to: final)
            return file
        } catch {
            try? storage.remove(temporary)
            throw error
        }
    }
}
