internal import Platform

/// The offline check behind `strongroom journal verify`: reads every file of a journal
/// directory without changing anything, and reports per segment its LSN range, record count and
/// size, each snapshot, and every problem with file, offset and reason. Never prints payloads.
public enum JournalVerifier {
    /// Checks `directory`. `ok` is false when recovery would refuse to open it (a torn tail,
    /// which recovery repairs, is reported but is not a failure).
    public static func verify(directory: String) -> (ok: Bool, lines: [String]) {
        verify(directory: directory, storage: FileJournalStorage())
    }

    /// ``verify(directory:)`` over any storage.
    public static func verify(directory: String, storage: any JournalStorage) -> (ok: Bool, lines: [String]) {
        var lines: [String] = []
        var problems = 0
        func problem(_ text: String) {
            problems += 1
            lines.append("ERROR " + text)
        }
        let names: [String]
        do { names = try storage.listDirectory(directory) } catch {
            return (false, ["ERROR \(directory): cannot list: \(error)"])
        }
        let listing = DirectoryListing(names: names)
        for name in listing.unknown { lines.append("note: \(name): not a journal file, ignored") }
        for name in listing.temporaries { lines.append("note: \(name): leftover temporary file, recovery removes it") }

        var snapshotLSN: UInt64 = 0
        var snapshotEpoch: UInt64?
        for (position, (lsn, name)) in listing.snapshots.enumerated() {
            let isNewest = position == listing.snapshots.count - 1
            do throws(JournalError) {
                let snapshot = try Journal.loadSnapshot(name: name, expectedLSN: lsn, storage: storage, path: directory + "/" + name)
                lines.append("\(name): LSN \(snapshot.lsn), epoch \(snapshot.epoch), state \(snapshot.state.count) bytes: ok" + (isNewest ? "" : " (older, recovery removes it)"))
                if isNewest {
                    snapshotLSN = snapshot.lsn
                    snapshotEpoch = snapshot.epoch
                }
            } catch {
                if isNewest { problem(error.description) } else { lines.append("note: \(error.description) (older snapshot, not used)") }
            }
        }
        if listing.snapshots.isEmpty { lines.append("no snapshot") }

        if listing.segments.isEmpty { lines.append("no segments") }
        var previous: (name: String, lastLSN: UInt64, lastEpoch: UInt64)?
        var firstNeeded = true
        let keep = listing.snapshots.isEmpty ? 0 : (listing.segments.lastIndex { $0.0 <= snapshotLSN + 1 } ?? 0)
        for (position, (firstLSN, name)) in listing.segments.enumerated() {
            let covered = position < keep
            let isLast = position == listing.segments.count - 1
            if !covered && firstNeeded {
                firstNeeded = false
                if firstLSN > snapshotLSN + 1 {
                    problem("\(name) at offset 0: the log starts at LSN \(firstLSN) but records \(snapshotLSN + 1)…\(firstLSN - 1) are missing")
                }
            }
            if let previous, !covered, firstLSN != previous.lastLSN + 1 {
                problem("\(name) at offset 0: starts at LSN \(firstLSN) but \(previous.name) ends at LSN \(previous.lastLSN)"
                    + (firstLSN > previous.lastLSN + 1 ? ": a segment is missing" : ": segments overlap"))
            }
            let epochBefore = previous?.lastEpoch ?? (snapshotLSN + 1 == firstLSN ? snapshotEpoch ?? 0 : 0)
            do throws(JournalError) {
                let file: any JournalFile
                do { file = try storage.openFile(directory + "/" + name, create: false) } catch { throw JournalError.from(error, file: name) }
                let scan = try SegmentScanner.scan(file: file, name: name, epochBefore: epochBefore, isLast: isLast) { _ in }
                let range = scan.recordCount == 0 ? "no records" : "LSN \(scan.header.firstLSN)…\(scan.lastLSN), \(scan.recordCount) records"
                let status: String
                if let issue = scan.problem {
                    if issue.isTornTail {
                        status = "torn tail at offset \(issue.offset) (\(scan.fileSize - issue.offset) bytes: \(issue.reason)); recovery truncates it"
                    } else {
                        problem("\(name) at offset \(issue.offset): \(issue.reason)")
                        status = "damaged"
                    }
                } else {
                    status = "ok"
                }
                lines.append("\(name): \(range), \(scan.fileSize) bytes, epoch \(scan.header.epoch): \(status)" + (covered ? " (covered by the snapshot, recovery removes it)" : ""))
                previous = (name, scan.lastLSN, scan.lastEpoch)
            } catch {
                problem(error.description)
                previous = nil
            }
        }
        if let previous, previous.lastLSN < snapshotLSN {
            problem("\(previous.name): the log ends at LSN \(previous.lastLSN), before the snapshot at LSN \(snapshotLSN)")
        }
        lines.append(problems == 0 ? "OK" : "FAILED: \(problems) problem\(problems == 1 ? "" : "s")")
        return (problems == 0, lines)
    }
}
