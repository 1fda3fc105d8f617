import Testing
@testable import Checksum
import TestSupport

@Suite struct CRC32CTests {
    /// RFC 3720 appendix B.4 and the common "123456789" check value.
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        let iscsiRead: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(iscsiRead) == 0xD996_3A56)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// Seeding continues a checksum; the slicing-by-8 path agrees with the byte-at-a-time path
    /// at every length and alignment.
    @Test func seedingAndSlicingAgree() {
        var generator = SplitMix64(seed: 7)
        let bytes = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for split in [0, 1, 7, 8, 9, 150, 299, 300] {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.checksum(bytes[split...], seed: first) == CRC32C.checksum(bytes))
        }
        for start in 0..<9 {
            for length in [0, 1, 7, 8, 15, 16, 17, 100] {
                let slice = Array(bytes[start..<(start + length)])
                var reference: UInt32 = 0
                for byte in slice { reference = CRC32C.checksum([byte], seed: reference) }
                #expect(CRC32C.checksum(slice) == reference)
                // A non-contiguous collection takes the copying path and agrees too.
                #expect(CRC32C.checksum(slice.lazy.map { $0 }) == reference)
            }
        }
    }

    /// The instruction path (where the CPU has it) and the table agree on random data, lengths,
    /// alignments and seeds.
    @Test func hardwareAndTableAgree() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let data = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let seed = UInt32.random(in: 0...UInt32.max, using: &rng)
            let skip = min(data.count, Int.random(in: 0..<8, using: &rng))
            let tail = Array(data[skip...])
            #expect(CRC32C.checksum(tail, seed: seed) == CRC32C.softwareChecksum(tail, seed: seed))
            #expect(CRC32C.checksum(data[skip...], seed: seed) == CRC32C.softwareChecksum(tail, seed: seed))
        }
        #expect(CRC32C.softwareChecksum(Array("123456789".utf8)) == 0xE306_9283)
    }
}
