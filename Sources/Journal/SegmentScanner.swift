internal import Platform

/// A sparse index entry: the record `lsn` starts at byte `offset` of its segment.
struct IndexEntry: Sendable, Equatable {
    var lsn: UInt64
    var offset: Int
}

/// Reads a file through a window large enough for the largest frame, so that scans and reads
/// do one pread per few megabytes rather than one per record.
struct WindowReader {
    /// The window size: at least two largest frames.
    static let windowBytes = max(4 << 20, 2 * RecordFrame.maxFrameBytes)

    let file: any JournalFile
    /// Bytes at or past `limit` are never read (the file size, or the durable end of a segment).
    let limit: Int
    private var buffer: [UInt8] = []
    private var start = 0

    init(file: any JournalFile, limit: Int) {
        self.file = file
        self.limit = limit
    }

    /// Calls `body` with the bytes from `offset` to at least `offset + maxFrameBytes` (or the
    /// limit), reading when the window does not cover them.
    mutating func withBytes<R>(at offset: Int, _ body: (UnsafeRawBufferPointer) -> R) throws(Errno) -> R {
        precondition(offset >= 0 && offset <= limit, "window offset out of range")
        let wanted = min(offset + RecordFrame.maxFrameBytes, limit)
        if offset < start || wanted > start + buffer.count {
            let count = min(Self.windowBytes, limit - offset)
            buffer = try file.readBytes(at: offset, count: count)
            start = offset
        }
        let relative = offset - start
        return buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[relative...])) }
    }
}

/// The result of checking one segment file from its header to its end.
struct SegmentScan {
    var header: JournalFormat.SegmentHeader
    var fileSize: Int
    /// Count, LSN range and epochs of the valid records.
    var recordCount = 0
    var lastLSN: UInt64
    var lastEpoch: UInt64
    /// The end of the last valid record (the header's end when there is none).
    var validEnd: Int
    var index: [IndexEntry] = []
    /// What stopped the scan before the end of the file, if anything.
    var problem: Problem?

    struct Problem: Error {
        var kind: JournalError.Kind
        var offset: Int
        var reason: String
        /// A torn tail: an incomplete or failed frame with nothing valid after it, in the last
        /// segment. Truncating at `offset` repairs it.
        var isTornTail: Bool
    }
}

/// Checks segment files. Pure apart from reading through `JournalFile`.
enum SegmentScanner {
    /// Bytes of records between two sparse index entries.
    static let indexSpacing = 64 << 10
    /// "No index entry yet": far enough back that the next record is indexed.
    static let noIndexedOffset = -indexSpacing

    /// Scans `file` (named `name`). `isLast` allows a torn tail; `epochBefore` is the epoch of
    /// the record before the segment's first. Calls `onRecord` for each valid record in order.
    /// Throws only when the header is unusable or reading fails; record-level problems come back
    /// in `problem`.
    static func scan(
        file: any JournalFile,
        name: String,
        epochBefore: UInt64,
        isLast: Bool,
        onRecord: (JournalRecord) -> Void
    ) throws(JournalError) -> SegmentScan {
        let size: Int
        let headerBytes: [UInt8]
        do {
            size = try file.size()
            headerBytes = try file.readBytes(at: 0, count: JournalFormat.segmentHeaderBytes)
        } catch {
            throw JournalError.from(error, file: name)
        }
        let header: JournalFormat.SegmentHeader
        switch headerBytes.withUnsafeBytes({ JournalFormat.decodeSegmentHeader($0) }) {
        case .success(let decoded): header = decoded
        case .failure(let problem): throw JournalError(.corrupt, file: name, offset: 0, "bad segment header: \(problem.reason)")
        }
        guard JournalFormat.parseSegmentName(name) == header.firstLSN else {
            throw JournalError(.corrupt, file: name, offset: 0, "header says first LSN \(header.firstLSN), the file name disagrees")
        }

        var scan = SegmentScan(
            header: header, fileSize: size, lastLSN: header.firstLSN - 1, lastEpoch: epochBefore,
            validEnd: JournalFormat.segmentHeaderBytes
        )
        var reader = WindowReader(file: file, limit: size)
        var lastIndexed = SegmentScanner.noIndexedOffset
        do {
            while scan.validEnd < size {
                let offset = scan.validEnd
                let decoded = try reader.withBytes(at: offset) { RecordFrame.decode($0) }
                let failure: String
                switch decoded {
                case .record(let record, let frameBytes):
                    guard record.lsn == scan.lastLSN + 1 else {
                        scan.problem = .init(kind: .lsnGap, offset: offset, reason: "expected LSN \(scan.lastLSN + 1), found \(record.lsn)", isTornTail: false)
                        return scan
                    }
                    guard record.epoch >= scan.lastEpoch else {
                        scan.problem = .init(kind: .corrupt, offset: offset, reason: "epoch goes back from \(scan.lastEpoch) to \(record.epoch) at LSN \(record.lsn)", isTornTail: false)
                        return scan
                    }
                    if offset - lastIndexed >= indexSpacing {
                        scan.index.append(IndexEntry(lsn: record.lsn, offset: offset))
                        lastIndexed = offset
                    }
                    onRecord(record)
                    scan.recordCount += 1
                    scan.lastLSN = record.lsn
                    scan.lastEpoch = record.epoch
                    scan.validEnd = offset + frameBytes
                    continue
                case .needMoreBytes:
                    failure = "incomplete frame (\(size - offset) bytes before end of file)"
                case .corrupt(let reason):
                    failure = reason
                }
                guard isLast else {
                    scan.problem = .init(kind: .corrupt, offset: offset, reason: failure + " in a segment that is not the last", isTornTail: false)
                    return scan
                }
                if let (validOffset, lsn) = try findLaterBatch(after: offset, reader: &reader, size: size, lastLSN: scan.lastLSN, lastEpoch: scan.lastEpoch) {
                    scan.problem = .init(kind: .corrupt, offset: offset, reason: failure + "; a valid record (LSN \(lsn)) of a later batch follows at offset \(validOffset)", isTornTail: false)
                } else {
                    scan.problem = .init(kind: .corrupt, offset: offset, reason: failure, isTornTail: true)
                }
                return scan
            }
        } catch {
            throw JournalError.from(error, file: name, offset: scan.validEnd)
        }
        return scan
    }

    /// Evidence that damage at `offset` is not a torn tail: the first valid frame after it (its
    /// checksum verifies, its LSN and epoch could follow the valid prefix) that was written by a
    /// later group commit than the one the damaged record belongs to. Valid frames of that same
    /// batch (batch first LSN ≤ `lastLSN + 1`) are skipped: the batch was never synced, so the
    /// disk may have kept its pages in any order.
    private static func findLaterBatch(
        after offset: Int, reader: inout WindowReader, size: Int, lastLSN: UInt64, lastEpoch: UInt64
    ) throws(Errno) -> (Int, UInt64)? {
        var candidate = offset + 1
        while candidate + RecordFrame.overheadBytes <= size {
            let found = try reader.withBytes(at: candidate) { bytes -> (lsn: UInt64, batchFirst: UInt64, frameBytes: Int)? in
                // Every frame takes at least `overheadBytes`, so a record this far past the damage
                // cannot have an LSN beyond this bound: cheap to check before a checksum. The sum
                // saturates: a segment whose LSNs end near UInt64.max (a damaged or crafted file
                // with valid checksums) is reported, not trapped on (found by fuzzing).
                let (sum, overflow) = (lastLSN + 1).addingReportingOverflow(UInt64((candidate - offset) / RecordFrame.overheadBytes))
                let reachable = overflow ? UInt64.max : sum
                guard let header = RecordFrame.peekHeader(bytes), header.type != 0,
                    header.lsn > lastLSN, header.lsn <= reachable, header.epoch >= lastEpoch
                else { return nil }
                if case .record(let record, let frameBytes) = RecordFrame.decode(bytes) {
                    return (record.lsn, header.batchFirstLSN, frameBytes)
                }
                return nil
            }
            guard let found else {
                candidate += 1
                continue
            }
            if found.batchFirst > lastLSN + 1 { return (candidate, found.lsn) }
            candidate += found.frameBytes
        }
        return nil
    }
}
