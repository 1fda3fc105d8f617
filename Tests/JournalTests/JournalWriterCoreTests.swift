import Testing
@testable import Journal
import Platform

/// The writer's decisions without any I/O: batching, LSNs, rolls, epochs and halts.
@Suite struct JournalWriterCoreTests {
    func core(segmentBytes: Int = 64 << 10, maxBatchBytes: Int = 4096, size: Int = JournalFormat.segmentHeaderBytes, nextLSN: UInt64 = 1) -> JournalWriterCore {
        let position = JournalWriterCore.Position(
            segmentName: JournalFormat.segmentName(firstLSN: 1), size: size, nextLSN: nextLSN, lastEpoch: 1,
            lastIndexedOffset: SegmentScanner.noIndexedOffset)
        return JournalWriterCore(position: position, options: JournalOptions(segmentBytes: segmentBytes, maxBatchBytes: maxBatchBytes))
    }

    /// Hands out the batch, failing the test when it is empty.
    func begin(_ writer: inout JournalWriterCore, sourceLocation: SourceLocation = #_sourceLocation) throws -> JournalWriterCore.PendingWrite {
        let pending = writer.beginWrite()
        return try #require(pending, sourceLocation: sourceLocation)
    }

    /// The frames of a batch carry consecutive LSNs and the batch's first LSN; a write makes
    /// the next batch start after it.
    @Test func batchesAssignConsecutiveLSNs() throws {
        var writer = core()
        for n in 1...3 { #expect(writer.admit(type: 1, epoch: 1, payload: payload(n)) == .added(lsn: UInt64(n))) }
        let pending = try begin(&writer)
        #expect(pending == JournalWriterCore.PendingWrite(offset: JournalFormat.segmentHeaderBytes, firstLSN: 1, count: 3))
        let frames = writer.batchBytes
        var offset = 0
        for n in 1...3 {
            guard case .record(let record, let size) = RecordFrame.decode(frames, at: offset) else {
                Issue.record("frame \(n) does not decode")
                return
            }
            #expect(record == JournalRecord(lsn: UInt64(n), epoch: 1, type: 1, payload: payload(n)))
            #expect(frames.withUnsafeBytes { RecordFrame.peekHeader(UnsafeRawBufferPointer(rebasing: $0[offset...]))?.batchFirstLSN } == 1)
            offset += size
        }
        #expect(offset == frames.count)
        let written = writer.batchWritten()
        #expect(written.firstLSN == 1 && written.lastLSN == 3 && written.bytes == frames.count)
        #expect(written.end == JournalFormat.segmentHeaderBytes + frames.count)
        #expect(written.index.map(\.lsn) == [1], "the first record of a segment is indexed")
        #expect(written.resumedLogLine == nil)
        #expect(writer.beginWrite() == nil, "nothing left to write")
        #expect(writer.admit(type: 1, epoch: 1, payload: []) == .added(lsn: 4))
    }

    /// A record that would take the batch past maxBatchBytes waits for the next batch; a single
    /// record larger than the limit is written alone.
    @Test func batchByteLimit() throws {
        var writer = core(maxBatchBytes: 4096)
        let record = [UInt8](repeating: 7, count: 1000)
        for lsn: UInt64 in 1...3 { #expect(writer.admit(type: 1, epoch: 1, payload: record) == .added(lsn: lsn)) }
        #expect(writer.admit(type: 1, epoch: 1, payload: record) == .flushFirst)
        #expect(writer.batchCount == 3, "the refused record is not in the batch")
        _ = try begin(&writer)
        _ = writer.batchWritten()
        let large = [UInt8](repeating: 1, count: 10_000)
        #expect(writer.admit(type: 1, epoch: 1, payload: large) == .added(lsn: 4))
        #expect(writer.admit(type: 1, epoch: 1, payload: []) == .flushFirst)
    }

    /// A record that does not fit in the active segment ends the batch; on an empty batch it
    /// asks for a roll, after which the new segment starts at the next LSN.
    @Test func rollWhenTheSegmentIsFull() throws {
        var writer = core(segmentBytes: 4096)
        let record = [UInt8](repeating: 7, count: 1500)
        #expect(writer.admit(type: 1, epoch: 1, payload: record) == .added(lsn: 1))
        #expect(writer.admit(type: 1, epoch: 1, payload: record) == .added(lsn: 2))
        #expect(writer.admit(type: 1, epoch: 2, payload: record) == .flushFirst)
        _ = try begin(&writer)
        _ = writer.batchWritten()
        #expect(writer.admit(type: 1, epoch: 2, payload: record) == .rollFirst(firstLSN: 3, epoch: 2))
        #expect(writer.state == .rolling(firstLSN: 3))
        writer.rolled()
        #expect(writer.position.segmentName == JournalFormat.segmentName(firstLSN: 3))
        #expect(writer.position.size == JournalFormat.segmentHeaderBytes)
        #expect(writer.admit(type: 1, epoch: 2, payload: record) == .added(lsn: 3))
        let pending = try begin(&writer)
        #expect(pending.offset == JournalFormat.segmentHeaderBytes)
    }

    /// An epoch below the log's (or the batch's last record's) fails that append alone and
    /// consumes no LSN.
    @Test func epochGoingBackFailsAlone() throws {
        var writer = core()
        #expect(writer.admit(type: 1, epoch: 3, payload: []) == .added(lsn: 1))
        guard case .refused(let error) = writer.admit(type: 1, epoch: 2, payload: []) else {
            Issue.record("an epoch going back was admitted")
            return
        }
        #expect(error.kind == .invalidArgument)
        #expect(writer.admit(type: 1, epoch: 3, payload: []) == .added(lsn: 2))
        _ = try begin(&writer)
        #expect(writer.batchWritten().epoch == 3)
        #expect(writer.position.lastEpoch == 3)
        if case .refused = writer.admit(type: 1, epoch: 1, payload: []) {} else { Issue.record("the written epoch was forgotten") }
    }

    /// A failed write uses none of its LSNs and halts: every append is refused with the halt's
    /// error until resume(). Only the first halt of an outage asks to be logged, and the next
    /// successful write says how many there were.
    @Test func failedWriteHalts() throws {
        var writer = core()
        #expect(writer.admit(type: 1, epoch: 1, payload: payload(1)) == .added(lsn: 1))
        _ = try begin(&writer)
        let failed = writer.batchFailed(Errno(code: Errno.noSpace, operation: "pwrite"))
        #expect(failed.failure.kind == .diskFull)
        #expect(failed.failure.file == JournalFormat.segmentName(firstLSN: 1))
        #expect(failed.failure.offset == JournalFormat.segmentHeaderBytes)
        #expect(failed.haltError == JournalError.notWritten(after: failed.failure))
        #expect(failed.logLine?.contains("halted after a failed append") == true)
        #expect(writer.state == .halted(failed.haltError))
        #expect(writer.admit(type: 1, epoch: 1, payload: []) == .refused(failed.haltError))
        #expect(writer.beginWrite() == nil)
        writer.resume()
        #expect(writer.admit(type: 1, epoch: 1, payload: []) == .added(lsn: 1))
        _ = try begin(&writer)
        #expect(writer.batchFailed(Errno(code: Errno.noSpace, operation: "pwrite")).logLine == nil, "one line per outage")
        writer.resume()
        #expect(writer.admit(type: 1, epoch: 1, payload: payload(1)) == .added(lsn: 1))
        _ = try begin(&writer)
        let written = writer.batchWritten()
        #expect(written.firstLSN == 1)
        #expect(written.resumedLogLine == "journal: appends are written again (after 2 halts)")
        #expect(written.index.map(\.lsn) == [1], "the failed batch's index entry was taken back")
    }

    /// A roll that cannot create its segment halts; the append is refused after resume() until
    /// the roll is asked for, and tried, again.
    @Test func failedRollHalts() throws {
        var writer = core(segmentBytes: 4096, size: 4000, nextLSN: 10)
        #expect(writer.admit(type: 1, epoch: 1, payload: payload(1, size: 200)) == .rollFirst(firstLSN: 10, epoch: 1))
        let failed = writer.rollFailed(Errno(code: Errno.ioError, operation: "open"))
        #expect(failed.failure.kind == .io)
        #expect(failed.failure.file == JournalFormat.segmentName(firstLSN: 10))
        #expect(writer.admit(type: 1, epoch: 1, payload: payload(1, size: 200)) == .refused(failed.haltError))
        writer.resume()
        #expect(writer.admit(type: 1, epoch: 1, payload: payload(1, size: 200)) == .rollFirst(firstLSN: 10, epoch: 1))
        writer.rolled()
        #expect(writer.admit(type: 1, epoch: 1, payload: payload(1, size: 200)) == .added(lsn: 10))
    }

    @Test func snapshotSchedule() {
        var schedule = SnapshotSchedule(options: JournalOptions(snapshotEveryRecords: 10, snapshotEveryBytes: 1000))
        schedule.noteAppended(records: 9, bytes: 900)
        #expect(!schedule.isDue)
        schedule.noteAppended(records: 1, bytes: 1)
        #expect(schedule.isDue)
        schedule.restart()
        schedule.noteAppended(records: 1, bytes: 1000)
        #expect(schedule.isDue)
    }
}
