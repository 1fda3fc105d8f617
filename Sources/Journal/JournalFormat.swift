import Checksum

/// File names and the checksummed headers of segment and snapshot files. Pure.
enum JournalFormat {
    static let formatVersion: UInt32 = 1

    // MARK: Names

    static let segmentPrefix = "segment-"
    static let segmentSuffix = ".log"
    static let snapshotPrefix = "snapshot-"
    static let snapshotSuffix = ".snap"
    static let temporarySuffix = ".tmp"
    static let lockName = "LOCK"

    /// "segment-<first LSN, 20 digits>.log"
    static func segmentName(firstLSN: UInt64) -> String { segmentPrefix + padded(firstLSN) + segmentSuffix }

    /// "snapshot-<LSN, 20 digits>.snap"
    static func snapshotName(lsn: UInt64) -> String { snapshotPrefix + padded(lsn) + snapshotSuffix }

    static func parseSegmentName(_ name: String) -> UInt64? { parse(name, segmentPrefix, segmentSuffix) }
    static func parseSnapshotName(_ name: String) -> UInt64? { parse(name, snapshotPrefix, snapshotSuffix) }

    private static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: 20 - digits.count) + digits
    }

    private static func parse(_ name: String, _ prefix: String, _ suffix: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return UInt64(digits)
    }

    // MARK: Segment header

    static let segmentMagic: [UInt8] = Array("SRJOURN1".utf8)
    /// magic 8, version 4, first LSN 8, created-by epoch 8, crc32c of the preceding 28 bytes 4.
    static let segmentHeaderBytes = 32

    struct SegmentHeader: Equatable {
        var firstLSN: UInt64
        var epoch: UInt64
    }

    static func encodeSegmentHeader(_ header: SegmentHeader) -> [UInt8] {
        precondition(header.firstLSN >= 1, "a segment starts at LSN ≥ 1")
        var bytes = segmentMagic
        bytes.appendLittleEndian(formatVersion)
        bytes.appendLittleEndian(header.firstLSN)
        bytes.appendLittleEndian(header.epoch)
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        precondition(bytes.count == segmentHeaderBytes)
        return bytes
    }

    /// The header, or why the bytes are not one.
    static func decodeSegmentHeader(_ bytes: UnsafeRawBufferPointer) -> Result<SegmentHeader, HeaderProblem> {
        guard bytes.count >= segmentHeaderBytes else {
            return .failure(HeaderProblem("header is \(bytes.count) bytes, expected \(segmentHeaderBytes)"))
        }
        guard bytes.prefix(8).elementsEqual(segmentMagic) else { return .failure(HeaderProblem("bad magic (not a journal segment)")) }
        let stored = bytes.loadLittleEndian(UInt32.self, at: 28)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
        guard stored == computed else {
            return .failure(HeaderProblem("header checksum mismatch (stored \(RecordFrame.hex(stored)), computed \(RecordFrame.hex(computed)))"))
        }
        let version = bytes.loadLittleEndian(UInt32.self, at: 8)
        guard version == formatVersion else { return .failure(HeaderProblem("unsupported format version \(version)")) }
        let header = SegmentHeader(firstLSN: bytes.loadLittleEndian(UInt64.self, at: 12), epoch: bytes.loadLittleEndian(UInt64.self, at: 20))
        guard header.firstLSN >= 1 else { return .failure(HeaderProblem("first LSN 0 in header")) }
        guard header.firstLSN < UInt64.max else { return .failure(HeaderProblem("first LSN \(header.firstLSN) is out of range")) }
        return .success(header)
    }

    // MARK: Snapshot header

    static let snapshotMagic: [UInt8] = Array("SRSNAP01".utf8)
    /// magic 8, version 4, lsn 8, epoch 8, state length 8, crc32c of state 4, crc32c of the
    /// preceding 40 bytes 4.
    static let snapshotHeaderBytes = 44
    /// The largest state a snapshot may hold: bounds what recovery reads into memory.
    static let maxSnapshotStateBytes = 1 << 30

    static func encodeSnapshotHeader(lsn: UInt64, epoch: UInt64, state: [UInt8]) -> [UInt8] {
        precondition(state.count <= maxSnapshotStateBytes, "snapshot state exceeds the limit")
        var bytes = snapshotMagic
        bytes.appendLittleEndian(formatVersion)
        bytes.appendLittleEndian(lsn)
        bytes.appendLittleEndian(epoch)
        bytes.appendLittleEndian(UInt64(state.count))
        bytes.appendLittleEndian(CRC32C.checksum(state))
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        precondition(bytes.count == snapshotHeaderBytes)
        return bytes
    }

    struct SnapshotHeader: Equatable {
        var lsn: UInt64
        var epoch: UInt64
        var stateBytes: Int
        var stateChecksum: UInt32
    }

    static func decodeSnapshotHeader(_ bytes: UnsafeRawBufferPointer) -> Result<SnapshotHeader, HeaderProblem> {
        guard bytes.count >= snapshotHeaderBytes else {
            return .failure(HeaderProblem("header is \(bytes.count) bytes, expected \(snapshotHeaderBytes)"))
        }
        guard bytes.prefix(8).elementsEqual(snapshotMagic) else { return .failure(HeaderProblem("bad magic (not a journal snapshot)")) }
        let stored = bytes.loadLittleEndian(UInt32.self, at: 40)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<40]))
        guard stored == computed else {
            return .failure(HeaderProblem("header checksum mismatch (stored \(RecordFrame.hex(stored)), computed \(RecordFrame.hex(computed)))"))
        }
        let version = bytes.loadLittleEndian(UInt32.self, at: 8)
        guard version == formatVersion else { return .failure(HeaderProblem("unsupported format version \(version)")) }
        let length = bytes.loadLittleEndian(UInt64.self, at: 28)
        guard length <= UInt64(maxSnapshotStateBytes) else { return .failure(HeaderProblem("state length \(length) exceeds the limit")) }
        guard bytes.loadLittleEndian(UInt64.self, at: 12) < UInt64.max else { return .failure(HeaderProblem("snapshot LSN is out of range")) }
        return .success(SnapshotHeader(
            lsn: bytes.loadLittleEndian(UInt64.self, at: 12),
            epoch: bytes.loadLittleEndian(UInt64.self, at: 20),
            stateBytes: Int(length),
            stateChecksum: bytes.loadLittleEndian(UInt32.self, at: 36)
        ))
    }

    struct HeaderProblem: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
