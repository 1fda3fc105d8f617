import Checksum
import Foundation
import Testing
@testable import Journal
import TestSupport

@Suite struct JournalRecoveryTests {
    /// Writes `count` records (payload(n)) into a fresh journal and closes it.
    func populate(_ directory: TemporaryDirectory, count: Int, options: JournalOptions = JournalOptions(), size: Int = 40) async throws {
        let (journal, _) = try openJournal(directory, options: options)
        try await appendAll(journal, 1...count, size: size)
        journal.close()
    }

    /// Cutting the last segment anywhere inside its last frame is a torn tail: recovery cuts it
    /// back to the end of the previous record, logs it and reports it.
    @Test func tornTailAtEveryOffsetOfTheLastFrame() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await populate(directory, count: 5)
        let name = try #require(directory.segments().last)
        let original = directory.bytes(name)
        let lastFrame = try #require(frameOffsets(original).last)
        for cut in (lastFrame + 1)..<original.count {
            directory.write(Array(original.prefix(cut)), to: name)
            let log = LogLines()
            let (journal, recovered) = try openJournal(directory, log: log)
            #expect(recovered.records.map(\.lsn) == [1, 2, 3, 4])
            #expect(recovered.truncatedTail == TruncatedTail(file: name, offset: lastFrame, droppedBytes: cut - lastFrame))
            #expect(log.all.contains { $0.hasPrefix("\(name): truncated torn tail at offset \(lastFrame) (\(cut - lastFrame) bytes)") })
            #expect(journal.lastDurableLSN == 4)
            journal.close()
            #expect(directory.bytes(name).count == lastFrame)
            directory.write(original, to: name)
        }
    }

    @Test(arguments: ["zeros", "garbage", "torn-and-zeros"])
    func trailingJunkIsCut(_ kind: String) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await populate(directory, count: 5)
        let name = try #require(directory.segments().last)
        let original = directory.bytes(name)
        var generator = SplitMix64(seed: 99)
        let junk: [UInt8] = switch kind {
        case "zeros": [UInt8](repeating: 0, count: 4096)
        case "garbage": (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        default: Array(RecordFrame.encode(JournalRecord(lsn: 6, epoch: 1, type: 1, payload: payload(6))).prefix(30)) + [UInt8](repeating: 0, count: 500)
        }
        directory.write(original + junk, to: name)
        let (journal, recovered) = try openJournal(directory)
        #expect(recovered.records.map(\.lsn) == Array(1...5))
        #expect(recovered.truncatedTail?.offset == original.count)
        #expect(recovered.truncatedTail?.droppedBytes == junk.count)
        #expect(try await journal.append(type: 1, epoch: 1, payload: payload(6)) == 6)
        journal.close()
        let (again, second) = try openJournal(directory)
        again.close()
        #expect(second.records.map(\.lsn) == Array(1...6))
        #expect(second.truncatedTail == nil)
    }

    /// A damaged frame followed by a valid one is not a torn tail: refuse, naming file and offset.
    @Test func corruptionBeforeAValidRecordIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await populate(directory, count: 5)
        let name = try #require(directory.segments().last)
        var bytes = directory.bytes(name)
        let third = frameOffsets(bytes)[2]
        bytes[third + 30] ^= 0x10
        directory.write(bytes, to: name)
        let error = expectJournalError(.corrupt) { _ = try openJournal(directory) }
        #expect(error?.file == name)
        #expect(error?.offset == third)
        #expect(error?.description.hasPrefix("\(name) at offset \(third): checksum mismatch") == true)
        #expect(error?.message.contains("a valid record (LSN 4) of a later batch follows") == true)
    }

    @Test func corruptionInANonLastSegmentIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = JournalOptions(segmentBytes: 4096)
        try await populate(directory, count: 30, options: options, size: 300)
        let name = try #require(directory.segments().first)
        var bytes = directory.bytes(name)
        let last = try #require(frameOffsets(bytes).last)
        bytes[last + 40] ^= 0x01  // the last frame of the first segment: nothing after it in this file
        directory.write(bytes, to: name)
        let error = expectJournalError(.corrupt) { _ = try openJournal(directory, options: options) }
        #expect(error?.file == name && error?.offset == last)
    }

    @Test func corruptSegmentHeaderIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await populate(directory, count: 3)
        let name = try #require(directory.segments().last)
        var bytes = directory.bytes(name)
        bytes[14] ^= 0x04  // inside the first-LSN field
        directory.write(bytes, to: name)
        let error = expectJournalError(.corrupt) { _ = try openJournal(directory) }
        #expect(error?.file == name && error?.offset == 0)
        #expect(error?.message.contains("header") == true)
    }

    @Test func missingMiddleSegmentIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = JournalOptions(segmentBytes: 4096)
        try await populate(directory, count: 40, options: options, size: 300)
        let segments = directory.segments()
        #expect(segments.count >= 3)
        try FileManager.default.removeItem(atPath: directory.journal + "/" + segments[1])
        let error = expectJournalError(.missingSegment) { _ = try openJournal(directory, options: options) }
        #expect(error?.file == segments[2])
        #expect(error?.message.contains(segments[0]) == true)
    }

    @Test func missingFirstSegmentIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let options = JournalOptions(segmentBytes: 4096)
        try await populate(directory, count: 40, options: options, size: 300)
        let segments = directory.segments()
        try FileManager.default.removeItem(atPath: directory.journal + "/" + segments[0])
        let error = expectJournalError(.missingSegment) { _ = try openJournal(directory, options: options) }
        #expect(error?.file == segments[1])
    }

    /// Hand-made segments: an LSN gap inside a segment, and overlapping segments.
    @Test func lsnGapIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.journal, withIntermediateDirectories: true)
        var bytes = JournalFormat.encodeSegmentHeader(.init(firstLSN: 1, epoch: 1))
        for lsn: UInt64 in [1, 2, 4] { bytes += RecordFrame.encode(JournalRecord(lsn: lsn, epoch: 1, type: 1, payload: [UInt8(lsn)])) }
        let name = JournalFormat.segmentName(firstLSN: 1)
        directory.write(bytes, to: name)
        let offset = frameOffsets(bytes)[2]
        let error = expectJournalError(.lsnGap) { _ = try openJournal(directory) }
        #expect(error?.file == name && error?.offset == offset)
        #expect(error?.message == "expected LSN 3, found 4")

        // Overlap: a second segment that claims to start at LSN 2 after one ending at 3.
        var first = JournalFormat.encodeSegmentHeader(.init(firstLSN: 1, epoch: 1))
        for lsn: UInt64 in [1, 2, 3] { first += RecordFrame.encode(JournalRecord(lsn: lsn, epoch: 1, type: 1, payload: [])) }
        directory.write(first, to: name)
        var second = JournalFormat.encodeSegmentHeader(.init(firstLSN: 2, epoch: 1))
        second += RecordFrame.encode(JournalRecord(lsn: 2, epoch: 1, type: 1, payload: []))
        directory.write(second, to: JournalFormat.segmentName(firstLSN: 2))
        let overlap = expectJournalError(.lsnGap) { _ = try openJournal(directory) }
        #expect(overlap?.file == JournalFormat.segmentName(firstLSN: 2))
    }

    @Test func epochGoingBackInTheLogIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.journal, withIntermediateDirectories: true)
        var bytes = JournalFormat.encodeSegmentHeader(.init(firstLSN: 1, epoch: 1))
        bytes += RecordFrame.encode(JournalRecord(lsn: 1, epoch: 3, type: 1, payload: []))
        bytes += RecordFrame.encode(JournalRecord(lsn: 2, epoch: 2, type: 1, payload: []))
        directory.write(bytes, to: JournalFormat.segmentName(firstLSN: 1))
        expectJournalError(.corrupt) { _ = try openJournal(directory) }
    }

    /// A leftover temporary segment (crash during a roll) is removed, not read.
    @Test func temporaryFilesAreRemoved() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await populate(directory, count: 3)
        directory.write([1, 2, 3], to: JournalFormat.segmentName(firstLSN: 4) + ".tmp")
        let (journal, recovered) = try openJournal(directory)
        journal.close()
        #expect(recovered.records.count == 3)
        #expect(!directory.files().contains { $0.hasSuffix(".tmp") })
    }
}

/// Power loss: the disk may keep an unsynced batch's pages in any order, so a hole can sit
/// between valid frames of the last batch. That batch was never acknowledged: cut it. Damage
/// followed by a frame of a later batch is damage to synced data: refuse.
@Suite struct JournalPowerLossTests {
    /// A segment holding records 1…3 in batches of their own, then one batch of records 4…8.
    func segment() -> (bytes: [UInt8], offsets: [Int]) {
        var bytes = JournalFormat.encodeSegmentHeader(.init(firstLSN: 1, epoch: 1))
        var offsets: [Int] = []
        for lsn: UInt64 in 1...8 {
            offsets.append(bytes.count)
            bytes += RecordFrame.encode(JournalRecord(lsn: lsn, epoch: 1, type: 1, payload: payload(Int(lsn), size: 100)),
                                        batchFirstLSN: lsn <= 3 ? lsn : 4)
        }
        return (bytes, offsets)
    }

    @Test(arguments: [4, 5, 6, 7])
    func holeInsideTheLastBatchIsATornTail(hole: Int) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.journal, withIntermediateDirectories: true)
        var (bytes, offsets) = segment()
        // Record `hole` (1-based LSN) never reached the platter: zeros where it should be.
        let start = offsets[hole - 1], end = offsets[hole]
        for i in start..<end { bytes[i] = 0 }
        let name = JournalFormat.segmentName(firstLSN: 1)
        directory.write(bytes, to: name)
        let (journal, recovered) = try openJournal(directory)
        #expect(recovered.records.map(\.lsn) == Array(1...UInt64(hole - 1)))
        #expect(recovered.truncatedTail?.offset == start)
        #expect(try journal.read(from: 1).count == hole - 1)
        journal.close()
    }

    @Test func damageFollowedByALaterBatchIsRefused() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.journal, withIntermediateDirectories: true)
        var (bytes, offsets) = segment()
        // Record 2 was synced (record 3's batch was written after it): damage there is real.
        bytes[offsets[1] + 40] ^= 0x01
        let name = JournalFormat.segmentName(firstLSN: 1)
        directory.write(bytes, to: name)
        let error = expectJournalError(.corrupt) { _ = try openJournal(directory) }
        #expect(error?.file == name && error?.offset == offsets[1])
        #expect(error?.message.contains("a valid record (LSN 3) of a later batch follows") == true)
    }

    @Test func batchFirstLSNMustPrecedeTheRecord() {
        var frame = RecordFrame.encode(JournalRecord(lsn: 5, epoch: 1, type: 1, payload: [1, 2, 3]))
        frame.storeLittleEndian(UInt64(6), at: 26)
        let crc = frame.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        frame.storeLittleEndian(crc, at: 4)
        guard case .corrupt(let reason) = RecordFrame.decode(frame) else {
            Issue.record("accepted a frame whose batch starts after it")
            return
        }
        #expect(reason.contains("batch first LSN 6"))
    }
}
