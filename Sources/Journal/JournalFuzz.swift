import Checksum
import Synchronization
internal import Platform

/// Fuzz entry points for the journal's decoders (record frames and the segment scanner, segment
/// headers, snapshot files), for the libFuzzer driver in `FuzzTesting/` and for replaying its
/// corpus and the regression files in the tests. Each traps (a finding) when an invariant breaks.
public enum JournalFuzz {
    /// Inputs longer than this are cut: keeps one run bounded.
    public static let maxInputBytes = 1 << 20

    /// The journal's fuzz target: `data` as a stream of record frames behind a segment header
    /// (``decodeFrames(_:)``), again with every frame's checksum made right (a fuzzer rarely
    /// gets a CRC32C right by itself, and the scanner's LSN, epoch and batch rules sit behind
    /// it), as a segment header, and as a snapshot file (``decodeSnapshot(_:)``). One input
    /// serves all of them, so that past findings of any kind replay through one call.
    public static func run(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        decodeFrames(data)
        let repaired = withFrameChecksumsRepaired(data)
        if repaired != data { decodeFrames(repaired) }
        decodeSegmentHeader(data)
        decodeSnapshot(data)
    }

    /// `data` with the checksum of each frame, from the start for as long as lengths are in
    /// range and fit, set to the CRC32C of its checksummed bytes.
    static func withFrameChecksumsRepaired(_ data: [UInt8]) -> [UInt8] {
        var bytes = data
        var offset = 0
        while offset + RecordFrame.prefixBytes <= bytes.count {
            let length = Int(bytes.withUnsafeBytes { $0.loadLittleEndian(UInt32.self, at: offset) })
            let end = offset + RecordFrame.prefixBytes + length
            guard length >= RecordFrame.fixedBodyBytes, end <= bytes.count else { break }
            bytes.storeLittleEndian(CRC32C.checksum(bytes[(offset + RecordFrame.prefixBytes)..<end]), at: offset + 4)
            offset = end
        }
        return bytes
    }

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

extension JournalFuzz {
    /// A decoded segment header re-encodes to exactly its bytes.
    static func decodeSegmentHeader(_ data: [UInt8]) {
        guard case .success(let header) = data.withUnsafeBytes({ JournalFormat.decodeSegmentHeader($0) }) else { return }
        precondition(JournalFormat.encodeSegmentHeader(header)[...] == data.prefix(JournalFormat.segmentHeaderBytes),
                     "a decoded segment header does not re-encode to its bytes")
    }

    /// Loads `data` as a snapshot file the way recovery does, as stored and again with both of
    /// its checksums made right (otherwise a fuzzer rarely gets past them to the length, version
    /// and LSN checks behind). Checks: a snapshot that loads re-encodes to exactly the file; the
    /// same file under another LSN, or cut short, does not load; every refusal is `.badSnapshot`;
    /// a refused file has a reason (a header that decodes, the promised size, the state checksum).
    public static func decodeSnapshot(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        checkSnapshot(data)
        if data.count >= JournalFormat.snapshotHeaderBytes && data.starts(with: JournalFormat.snapshotMagic) {
            checkSnapshot(withSnapshotChecksumsRepaired(data))
        }
    }

    static func checkSnapshot(_ data: [UInt8]) {
        let header = data.withUnsafeBytes { JournalFormat.decodeSnapshotHeader($0) }
        let claimed: UInt64
        if case .success(let decoded) = header { claimed = decoded.lsn } else { claimed = 1 }
        switch load(data, expectedLSN: claimed) {
        case .success(let snapshot):
            guard case .success(let decoded) = header else { preconditionFailure("a snapshot loaded whose header does not decode") }
            precondition(snapshot.lsn == decoded.lsn && snapshot.state.count == decoded.stateBytes, "a snapshot disagrees with its header")
            let encoded = JournalFormat.encodeSnapshotHeader(lsn: snapshot.lsn, epoch: snapshot.epoch, state: snapshot.state) + snapshot.state
            precondition(encoded == data, "a loaded snapshot does not re-encode to its file")
            guard case .failure = load(data, expectedLSN: claimed &+ 1) else { preconditionFailure("a snapshot loaded under another LSN") }
            for cut in [0, JournalFormat.snapshotHeaderBytes - 1, data.count - 1] where cut < data.count {
                guard case .failure = load(Array(data.prefix(cut)), expectedLSN: claimed) else {
                    preconditionFailure("a snapshot cut to \(cut) bytes loaded")
                }
            }
        case .failure(let error):
            precondition(error.kind == .badSnapshot && !error.message.isEmpty, "a snapshot refusal that is not .badSnapshot: \(error)")
            if case .success(let decoded) = header, data.count == JournalFormat.snapshotHeaderBytes + decoded.stateBytes {
                let state = data[JournalFormat.snapshotHeaderBytes...]
                precondition(CRC32C.checksum(Array(state)) != decoded.stateChecksum, "a well-formed snapshot was refused: \(error)")
            }
        }
    }

    /// `data` with the state checksum (over the bytes after the header) and the header checksum
    /// recomputed.
    static func withSnapshotChecksumsRepaired(_ data: [UInt8]) -> [UInt8] {
        var bytes = Array(data[..<36])
        bytes.appendLittleEndian(CRC32C.checksum(Array(data[JournalFormat.snapshotHeaderBytes...])))
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        return bytes + data[JournalFormat.snapshotHeaderBytes...]
    }

    /// ``Journal/loadSnapshot(name:expectedLSN:storage:path:)`` over `data` as the only file.
    static func load(_ data: [UInt8], expectedLSN: UInt64) -> Result<JournalSnapshot, JournalError> {
        let name = JournalFormat.snapshotName(lsn: expectedLSN)
        do throws(JournalError) {
            return .success(try Journal.loadSnapshot(name: name, expectedLSN: expectedLSN, storage: OneFileStorage(MemoryFile(data)), path: name))
        } catch {
            return .failure(error)
        }
    }
}

/// A ``JournalStorage`` that opens one in-memory file whatever the path: enough for
/// `loadSnapshot`, which only opens and reads. Anything else is a bug in the fuzz target.
struct OneFileStorage: JournalStorage {
    let file: MemoryFile

    init(_ file: MemoryFile) { self.file = file }

    func openFile(_ path: String, create: Bool) throws(Errno) -> any JournalFile { file }
    func makeDirectory(_ path: String) throws(Errno) { preconditionFailure("not used by loadSnapshot") }
    func lockDirectory(_ directory: String) throws(Errno) -> any JournalDirectoryLock { preconditionFailure("not used by loadSnapshot") }
    func listDirectory(_ directory: String) throws(Errno) -> [String] { preconditionFailure("not used by loadSnapshot") }
    func rename(_ source: String, to destination: String) throws(Errno) { preconditionFailure("not used by loadSnapshot") }
    func remove(_ path: String) throws(Errno) { preconditionFailure("not used by loadSnapshot") }
    func syncDirectory(_ directory: String) throws(Errno) { preconditionFailure("not used by loadSnapshot") }
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
