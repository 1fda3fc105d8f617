import Foundation
import Testing
@testable import Journal
import Platform

@Suite struct JournalSnapshotTests {
    /// snapshotNow writes the snapshot, removes the segments it covers; reads below it say
    /// "compacted"; reopening loads it and replays only the later records.
    @Test func snapshotReplayAndSegmentDeletion() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = JournalOptions(segmentBytes: 4096)
        let source = FixedSnapshotSource()
        do {
            let (journal, _) = try openJournal(directory, options: options)
            expectJournalError(.invalidArgument) { try journal.snapshotNow() }
            journal.setSnapshotSource(source)
            try await appendAll(journal, 1...40, epoch: 2, size: 300)
            let before = directory.segments()
            source.set(lsn: 41, epoch: 2, state: [1])
            expectJournalError(.invalidArgument) { try journal.snapshotNow() }  // ahead of the log
            source.set(lsn: 30, epoch: 2, state: Array("state at 30".utf8))
            try journal.snapshotNow()
            #expect(journal.statistics.snapshots == 1)
            let after = directory.segments()
            #expect(after.count < before.count)
            let firstKept = try #require(after.first.flatMap { JournalFormat.parseSegmentName($0) })
            #expect(firstKept <= 31)
            #expect(journal.oldestRetainedLSN == firstKept && firstKept > 1)
            #expect(try journal.read(from: firstKept, maxRecords: 1).map(\.lsn) == [firstKept])
            expectJournalError(.missingSegment) { _ = try journal.read(from: firstKept - 1, maxRecords: 1) }
            #expect(directory.files().contains(JournalFormat.snapshotName(lsn: 30)))
            let error = expectJournalError(.missingSegment) { _ = try journal.read(from: 1) }
            #expect(error?.message.contains("compacted") == true)
            #expect(try readAll(journal, from: 31).map(\.lsn) == Array(31...40))
            // Not newer: nothing happens.
            try journal.snapshotNow()
            #expect(journal.statistics.snapshots == 1)
            // A truncate below the snapshot is refused: its state includes those records.
            expectJournalError(.invalidArgument) { try journal.truncate(after: 20) }
            try journal.truncate(after: 35)
            journal.close()
        }
        let (journal, recovered) = try openJournal(directory, options: options)
        defer { journal.close() }
        #expect(recovered.snapshot == JournalSnapshot(lsn: 30, epoch: 2, state: Array("state at 30".utf8)))
        #expect(recovered.records.map(\.lsn) == Array(31...35))
        #expect(recovered.records.map(\.payload) == (31...35).map { payload($0, size: 300) })
    }

    /// A newer snapshot replaces the older file; segments wholly covered go.
    @Test func newerSnapshotReplacesOlder() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let source = FixedSnapshotSource()
        let (journal, _) = try openJournal(directory, options: JournalOptions(segmentBytes: 4096))
        journal.setSnapshotSource(source)
        try await appendAll(journal, 1...20, size: 300)
        source.set(lsn: 10, epoch: 1, state: [10])
        try journal.snapshotNow()
        source.set(lsn: 20, epoch: 1, state: [20])
        try journal.snapshotNow()
        journal.close()
        let snapshots = directory.files().filter { $0.hasPrefix("snapshot-") }
        #expect(snapshots == [JournalFormat.snapshotName(lsn: 20)])
        let (reopened, recovered) = try openJournal(directory, options: JournalOptions(segmentBytes: 4096))
        defer { reopened.close() }
        #expect(recovered.snapshot?.lsn == 20)
        #expect(recovered.records.isEmpty)
        #expect(reopened.lastDurableLSN == 20)
        #expect(try await reopened.append(type: 1, epoch: 1, payload: []) == 21)
    }

    /// The segment after a snapshot is never removed: a snapshot with no segment at all means
    /// lost files (every record after it), and recovery refuses rather than start a new log.
    @Test func snapshotWithoutAnySegmentIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let source = FixedSnapshotSource()
        let (journal, _) = try openJournal(directory, options: JournalOptions(segmentBytes: 4096))
        journal.setSnapshotSource(source)
        try await appendAll(journal, 1...20, size: 300)
        source.set(lsn: 15, epoch: 1, state: [15])
        try journal.snapshotNow()
        journal.close()
        for name in directory.segments() {
            try FileManager.default.removeItem(atPath: directory.journal + "/" + name)
        }
        let error = expectJournalError(.missingSegment) { _ = try openJournal(directory) }
        #expect(error?.file == JournalFormat.snapshotName(lsn: 15))
    }

    /// Past snapshotEveryRecords the snapshot thread asks the source by itself.
    @Test func thresholdTriggersABackgroundSnapshot() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let source = FixedSnapshotSource()
        let (journal, _) = try openJournal(directory, options: JournalOptions(snapshotEveryRecords: 10))
        defer { journal.close() }
        journal.setSnapshotSource(source)
        for n in 1...12 {
            let lsn = try await journal.append(type: 1, epoch: 1, payload: payload(n))
            source.set(lsn: lsn, epoch: 1, state: Array("state \(lsn)".utf8))
        }
        try await waitUntil { journal.statistics.snapshots >= 1 }
        #expect(directory.files().contains { $0.hasPrefix("snapshot-") })
    }

    /// The newest snapshot not verifying is refused, never papered over with an older one.
    @Test(arguments: ["state", "header", "short"])
    func corruptSnapshotIsRefused(_ damage: String) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let source = FixedSnapshotSource()
        do {
            let (journal, _) = try openJournal(directory)
            journal.setSnapshotSource(source)
            try await appendAll(journal, 1...10)
            source.set(lsn: 5, epoch: 1, state: Array("five".utf8))
            try journal.snapshotNow()
            source.set(lsn: 8, epoch: 1, state: Array("eight".utf8))
            try journal.snapshotNow()
            journal.close()
        }
        let name = JournalFormat.snapshotName(lsn: 8)
        var bytes = directory.bytes(name)
        switch damage {
        case "state": bytes[bytes.count - 1] ^= 0x20
        case "header": bytes[13] ^= 0x01
        default: bytes.removeLast(2)
        }
        directory.write(bytes, to: name)
        let error = expectJournalError(.badSnapshot) { _ = try openJournal(directory) }
        #expect(error?.file == name)
    }
}
