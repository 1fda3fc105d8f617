internal import CSystemShims

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every frame, segment
/// header and snapshot. With SSE 4.2's CRC32 instruction where the CPU has it (eight bytes per
/// instruction: a snapshot checks ten times faster), else table-driven, slicing-by-8.
public enum CRC32C {
    /// Whether the CPU's CRC32 instruction is used.
    static let hardware = CSystemShims_crc32c_hardware() == 1

    /// The checksum of `bytes`. Pass a previous result as `seed` to continue it:
    /// `checksum(b, seed: checksum(a)) == checksum(a + b)`.
    public static func checksum(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in
            update(~seed, UnsafeRawBufferPointer(buffer))
        }) {
            return ~result
        }
        let copy = Array(bytes)
        return copy.withUnsafeBytes { ~update(~seed, $0) }
    }

    /// The checksum of raw memory, continuing `seed` as in ``checksum(_:seed:)``.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        ~update(~seed, bytes)
    }

    /// 8 × 256 entries: `table[k * 256 + b]` is the CRC of byte `b` followed by `k` zero bytes.
    static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            table[byte] = crc
        }
        for byte in 0..<256 {
            var crc = table[byte]
            for slice in 1..<8 {
                crc = table[Int(crc & 0xFF)] ^ (crc >> 8)
                table[slice * 256 + byte] = crc
            }
        }
        return table
    }()

    /// The raw (not inverted) CRC register after feeding `bytes`.
    private static func update(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        if hardware {
            guard let base = bytes.baseAddress else { return start }
            return CSystemShims_crc32c_update(start, base, UInt64(bytes.count))
        }
        return softwareUpdate(start, bytes)
    }

    /// The table-driven checksum, whatever the CPU (tests hold the two paths to each other).
    static func softwareChecksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { ~softwareUpdate(~seed, $0) }
    }

    private static func softwareUpdate(_ start: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = start
        guard let base = bytes.baseAddress else { return crc }
        let count = bytes.count
        return table.withUnsafeBufferPointer { t in
            var index = 0
            while count - index >= 8 {
                let low = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = t[Int((crc ^ UInt32(base.load(fromByteOffset: index, as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
            return crc
        }
    }
}
