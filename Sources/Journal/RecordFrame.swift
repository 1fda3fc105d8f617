import Checksum

/// The on-disk frame of one record. Pure: no I/O.
///
///     [u32 length of everything after the checksum]
///     [u32 crc32c of everything after the checksum]
///     [u16 type][u64 epoch][u64 lsn][u64 batch first LSN][payload]
///
/// All integers little-endian. The length is not covered by the checksum, but a wrong length
/// moves the checksummed range, which then fails to verify.
///
/// The batch's first LSN says which group commit wrote the frame. Only the last batch can be
/// unsynced when the power goes (the writer syncs one batch before it writes the next), and the
/// disk may persist its pages in any order: damage followed only by frames of the *same* batch
/// is a torn, unacknowledged batch and is cut; a valid frame of a *later* batch after damage
/// proves that synced data was damaged, and recovery refuses.
public enum RecordFrame {
    /// Length and checksum.
    public static let prefixBytes = 8
    /// Type, epoch, lsn and batch first LSN: the checksummed bytes before the payload.
    public static let fixedBodyBytes = 26
    /// A frame's size with an empty payload.
    public static let overheadBytes = prefixBytes + fixedBodyBytes
    /// The largest frame `decode` accepts.
    public static let maxFrameBytes = overheadBytes + Journal.maxPayloadBytes

    /// The result of decoding at the start of a buffer.
    public enum Decoded: Equatable {
        /// A whole, verified record that occupies `frameBytes` bytes.
        case record(JournalRecord, frameBytes: Int)
        /// The buffer ends inside the frame (a plausible length, not enough bytes yet).
        case needMoreBytes
        /// The bytes cannot be a frame: bad length, checksum, type or LSN.
        case corrupt(reason: String)
    }

    /// The frame of `record`, written in the batch that starts at `batchFirstLSN` (by default a
    /// batch of its own).
    public static func encode(_ record: JournalRecord, batchFirstLSN: UInt64? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(overheadBytes + record.payload.count)
        encode(record.type, epoch: record.epoch, lsn: record.lsn, batchFirstLSN: batchFirstLSN ?? record.lsn,
               payload: record.payload, into: &bytes)
        return bytes
    }

    /// Appends the frame of one record to `buffer` without intermediate allocations: the
    /// group-commit writer's hot path.
    static func encode(_ type: UInt16, epoch: UInt64, lsn: UInt64, batchFirstLSN: UInt64, payload: [UInt8], into buffer: inout [UInt8]) {
        precondition(type != 0, "record type 0 is reserved")
        precondition(lsn != 0 && lsn < UInt64.max, "LSN \(lsn) is out of range")
        precondition(batchFirstLSN != 0 && batchFirstLSN <= lsn, "batch first LSN \(batchFirstLSN) for LSN \(lsn)")
        precondition(payload.count <= Journal.maxPayloadBytes, "payload of \(payload.count) bytes exceeds the limit")
        let start = buffer.count
        buffer.appendLittleEndian(UInt32(fixedBodyBytes + payload.count))
        buffer.appendLittleEndian(UInt32(0))
        buffer.appendLittleEndian(type)
        buffer.appendLittleEndian(epoch)
        buffer.appendLittleEndian(lsn)
        buffer.appendLittleEndian(batchFirstLSN)
        buffer.append(contentsOf: payload)
        let crc = buffer.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + prefixBytes)...]))
        }
        buffer.storeLittleEndian(crc, at: start + 4)
        // Pair assertion: the shape just written decodes back to its header fields.
        assert(buffer.withUnsafeBytes { peekHeader(UnsafeRawBufferPointer(rebasing: $0[start...]))?.lsn } == lsn)
    }

    /// Decodes the frame at the start of `bytes`. Never traps, whatever the input.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Decoded {
        guard bytes.count >= prefixBytes else { return .needMoreBytes }
        let length = Int(bytes.loadLittleEndian(UInt32.self, at: 0))
        guard length >= fixedBodyBytes else { return .corrupt(reason: "frame length \(length) is below the minimum \(fixedBodyBytes)") }
        guard length <= fixedBodyBytes + Journal.maxPayloadBytes else {
            return .corrupt(reason: "frame length \(length) exceeds the maximum \(fixedBodyBytes + Journal.maxPayloadBytes)")
        }
        guard bytes.count >= prefixBytes + length else { return .needMoreBytes }
        let stored = bytes.loadLittleEndian(UInt32.self, at: 4)
        let body = UnsafeRawBufferPointer(rebasing: bytes[prefixBytes..<(prefixBytes + length)])
        let computed = CRC32C.checksum(body)
        guard stored == computed else {
            return .corrupt(reason: "checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        let type = bytes.loadLittleEndian(UInt16.self, at: 8)
        let epoch = bytes.loadLittleEndian(UInt64.self, at: 10)
        let lsn = bytes.loadLittleEndian(UInt64.self, at: 18)
        let batchFirst = bytes.loadLittleEndian(UInt64.self, at: 26)
        guard type != 0 else { return .corrupt(reason: "record type 0 is reserved") }
        guard lsn != 0 else { return .corrupt(reason: "LSN 0 is reserved") }
        guard lsn < UInt64.max else { return .corrupt(reason: "LSN \(lsn) is out of range") }
        guard batchFirst != 0 && batchFirst <= lsn else {
            return .corrupt(reason: "batch first LSN \(batchFirst) does not precede LSN \(lsn)")
        }
        let payload = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[(prefixBytes + fixedBodyBytes)..<(prefixBytes + length)]))
        let record = JournalRecord(lsn: lsn, epoch: epoch, type: type, payload: payload)
        // Pair assertion: what came off the disk has the shape `encode` promises.
        assert(record.payload.count + overheadBytes == prefixBytes + length)
        return .record(record, frameBytes: prefixBytes + length)
    }

    /// Decodes the frame that starts at `offset` of `bytes` (offsets past the end give
    /// `.needMoreBytes`). Never traps.
    public static func decode(_ bytes: [UInt8], at offset: Int = 0) -> Decoded {
        guard offset >= 0 else { return .corrupt(reason: "negative offset") }
        guard offset < bytes.count else { return .needMoreBytes }
        return bytes.withUnsafeBytes { decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
    }

    /// The unverified header fields of a frame, if the buffer holds a whole one with a length in
    /// range: a cheap filter before computing a checksum while scanning for frames.
    static func peekHeader(_ bytes: UnsafeRawBufferPointer) -> (frameBytes: Int, type: UInt16, epoch: UInt64, lsn: UInt64, batchFirstLSN: UInt64)? {
        guard bytes.count >= overheadBytes else { return nil }
        let length = Int(bytes.loadLittleEndian(UInt32.self, at: 0))
        guard length >= fixedBodyBytes, length <= fixedBodyBytes + Journal.maxPayloadBytes,
            bytes.count >= prefixBytes + length
        else { return nil }
        return (
            prefixBytes + length,
            bytes.loadLittleEndian(UInt16.self, at: 8),
            bytes.loadLittleEndian(UInt64.self, at: 10),
            bytes.loadLittleEndian(UInt64.self, at: 18),
            bytes.loadLittleEndian(UInt64.self, at: 26)
        )
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "store out of range")
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }
}

extension UnsafeRawBufferPointer {
    /// Loads an unaligned little-endian integer; the caller has checked the range.
    func loadLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "load out of range")
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
