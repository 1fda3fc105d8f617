import Synchronization
internal import Platform

/// Fuzz entry points for the journal's decoders, for a libFuzzer harness and for replaying the
/// regression corpus in the tests. Each traps (a finding) when an invariant breaks.
public enum JournalFuzz {
    /// Inputs longer than this are cut: keeps one run bounded.
    public static let maxInputBytes = 1 << 20

    /// Decodes `data` as a stream of frames (skipping a byte after each corrupt position), and
    /// checks: a decoded record re-encodes to exactly its bytes; every shorter prefix of it is
    /// `.needMoreBytes`; decoding never traps. Then scans `data` as the body of a last segment
    /// and checks the scanner's answer is consistent (valid prefix, torn tail or corruption).
    public static func decodeFrames(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        var offset = 0
        var decodedRecords = 0
        while offset < data.count {
            switch RecordFrame.decode(data, at: offset) {
            case .record(let record, let frameBytes):
                precondition(frameBytes >= RecordFrame.overheadBytes && offset + frameBytes <= data.count, "frame size out of range")
                let frame = Array(data[offset..<(offset + frameBytes)])
                let batchFirst = frame.withUnsafeBytes { RecordFrame.peekHeader($0)?.batchFirstLSN }
                precondition(RecordFrame.encode(record, batchFirstLSN: batchFirst) == frame, "decoded record does not re-encode to its bytes")
                for cut in [0, 1, RecordFrame.prefixBytes - 1, RecordFrame.prefixBytes, frameBytes / 2, frameBytes - 1] where cut < frameBytes {
                    precondition(RecordFrame.decode(Array(frame.prefix(cut))) == .needMoreBytes, "a prefix of a frame decoded as something else")
                }
                decodedRecords += 1
                offset += frameBytes
            case .needMoreBytes:
                offset = data.count
            case .corrupt:
                offset += 1
            }
        }
        precondition(decodedRecords <= data.count / RecordFrame.overheadBytes, "more records than bytes allow")

        // The same bytes as a segment body behind a valid header.
        let firstLSN: UInt64
        if case .record(let record, _) = RecordFrame.decode(data) { firstLSN = record.lsn } else { firstLSN = 1 }
        let file = MemoryFile(JournalFormat.encodeSegmentHeader(.init(firstLSN: firstLSN, epoch: 0)) + data)
        let name = JournalFormat.segmentName(firstLSN: firstLSN)
        var previousEnd = JournalFormat.segmentHeaderBytes
        var expected = firstLSN
        guard let scan = try? SegmentScanner.scan(file: file, name: name, epochBefore: 0, isLast: true, onRecord: { record in
            precondition(record.lsn == expected, "scanner passed a record out of order")
            expected += 1
            previousEnd += RecordFrame.overheadBytes + record.payload.count
        }) else {
            preconditionFailure("scanner threw on a valid header")
        }
        precondition(scan.validEnd == previousEnd, "valid end disagrees with the records passed")
        precondition(scan.validEnd <= scan.fileSize, "valid end beyond the file")
        precondition((scan.problem == nil) == (scan.validEnd == scan.fileSize), "a clean scan must reach the end of the file")
    }
}

/// An in-memory ``JournalFile`` for the fuzz entry point.
final class MemoryFile: JournalFile {
    private let bytes: Mutex<[UInt8]>

    init(_ bytes: [UInt8]) { self.bytes = Mutex(bytes) }

    func size() throws(Errno) -> Int { bytes.withLock { $0.count } }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        bytes.withLock { bytes in
            guard offset < bytes.count, buffer.count > 0 else { return 0 }
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
            }
            return count
        }
    }

    func write(_ data: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
        bytes.withLock { bytes in
            if bytes.count < offset + data.count { bytes += [UInt8](repeating: 0, count: offset + data.count - bytes.count) }
            bytes.withUnsafeMutableBytes { target in
                if data.count > 0 { (target.baseAddress! + offset).copyMemory(from: data.baseAddress!, byteCount: data.count) }
            }
        }
    }

    func synchronize() throws(Errno) {}

    func truncate(to size: Int) throws(Errno) {
        bytes.withLock { bytes in
            if size < bytes.count { bytes.removeLast(bytes.count - size) } else { bytes += [UInt8](repeating: 0, count: size - bytes.count) }
        }
    }
}
