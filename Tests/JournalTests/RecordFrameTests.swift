import Checksum
import Testing
@testable import Journal
import TestSupport

@Suite struct RecordFrameTests {
    static let samples: [JournalRecord] = [
        JournalRecord(lsn: 1, epoch: 0, type: 1, payload: []),
        JournalRecord(lsn: 42, epoch: 3, type: 0xFFFF, payload: Array("hello".utf8)),
        JournalRecord(lsn: .max - 1, epoch: .max, type: 7, payload: (0..<300).map { UInt8($0 & 0xFF) }),
    ]

    /// LSN UInt64.max would overflow `lsn + 1` in recovery: a file claiming it is corrupt.
    @Test func largestLSNIsRefused() {
        var frame = RecordFrame.encode(JournalRecord(lsn: 7, epoch: 1, type: 1, payload: []), batchFirstLSN: 7)
        frame.storeLittleEndian(UInt64.max, at: 18)
        let crc = frame.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }
        frame.storeLittleEndian(crc, at: 4)
        guard case .corrupt(let reason) = RecordFrame.decode(frame) else { Issue.record("accepted LSN UInt64.max"); return }
        #expect(reason.contains("out of range"))
    }

    @Test(arguments: samples)
    func roundTrip(_ record: JournalRecord) {
        let frame = RecordFrame.encode(record)
        #expect(frame.count == RecordFrame.overheadBytes + record.payload.count)
        #expect(RecordFrame.decode(frame) == .record(record, frameBytes: frame.count))
        // At an offset, with bytes after it.
        let padded = [9, 9, 9] + frame + [1, 2, 3]
        #expect(RecordFrame.decode(padded, at: 3) == .record(record, frameBytes: frame.count))
    }

    @Test func largestPayloadRoundTripsAndLargerLengthIsCorrupt() {
        let record = JournalRecord(lsn: 5, epoch: 1, type: 2, payload: [UInt8](repeating: 0xAB, count: Journal.maxPayloadBytes))
        let frame = RecordFrame.encode(record)
        #expect(RecordFrame.decode(frame) == .record(record, frameBytes: frame.count))
        var tooLong = frame
        tooLong.storeLittleEndian(UInt32(RecordFrame.fixedBodyBytes + Journal.maxPayloadBytes + 1), at: 0)
        guard case .corrupt = RecordFrame.decode(tooLong) else { Issue.record("length beyond max must be corrupt"); return }
        var huge = frame
        huge.storeLittleEndian(UInt32.max, at: 0)
        guard case .corrupt = RecordFrame.decode(huge) else { Issue.record("length beyond max must be corrupt"); return }
    }

    @Test(arguments: samples)
    func everyPrefixNeedsMoreBytes(_ record: JournalRecord) {
        let frame = RecordFrame.encode(record)
        for cut in 0..<frame.count {
            #expect(RecordFrame.decode(Array(frame.prefix(cut))) == .needMoreBytes, "prefix \(cut)")
        }
    }

    @Test(arguments: samples)
    func everyByteFlipIsDetected(_ record: JournalRecord) {
        let frame = RecordFrame.encode(record)
        for position in 0..<frame.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF, 0x5A] {
                var damaged = frame
                damaged[position] ^= mask
                let decoded = RecordFrame.decode(damaged)
                if case .record(let other, let size) = decoded {
                    Issue.record("flip at \(position) decoded as a record: \(other.lsn) \(size)")
                }
            }
        }
    }

    @Test func shapeChecks() {
        var zeroType = RecordFrame.encode(JournalRecord(lsn: 1, epoch: 0, type: 1, payload: []))
        zeroType[8] = 0
        zeroType.storeLittleEndian(zeroType.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...])) }, at: 4)
        #expect(RecordFrame.decode(zeroType) == .corrupt(reason: "record type 0 is reserved"))
        #expect(RecordFrame.decode([UInt8](repeating: 0, count: 64)) == .corrupt(reason: "frame length 0 is below the minimum 26"))
        #expect(RecordFrame.decode([1, 2, 3], at: 5) == .needMoreBytes)
        guard case .corrupt = RecordFrame.decode([1, 2, 3], at: -1) else { Issue.record("negative offset"); return }
    }

    /// A stream of frames decodes to the same records however it is split into chunks (the
    /// ByteToMessageDecoderVerifier discipline), with a consumer that buffers until a frame is whole.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func splitInvariance(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var stream: [UInt8] = []
        var expected: [JournalRecord] = []
        for lsn in 1...20 {
            let count = Int.random(in: 0...200, using: &generator)
            let record = JournalRecord(lsn: UInt64(lsn), epoch: 1, type: 3, payload: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            expected.append(record)
            stream += RecordFrame.encode(record)
        }
        var buffer: [UInt8] = []
        var decoded: [JournalRecord] = []
        var position = 0
        while position < stream.count {
            let chunk = Int.random(in: 1...64, using: &generator)
            buffer += stream[position..<min(stream.count, position + chunk)]
            position += chunk
            while case .record(let record, let size) = RecordFrame.decode(buffer) {
                decoded.append(record)
                buffer.removeFirst(size)
            }
            #expect(RecordFrame.decode(buffer) == .needMoreBytes || buffer.isEmpty)
        }
        #expect(decoded == expected)
        #expect(buffer.isEmpty)
    }

    /// Arbitrary and mutated bytes never trap (seeded, bounded).
    @Test func randomizedDecoding() {
        var generator = SplitMix64(seed: 0x5EED)
        let valid = RecordFrame.encode(JournalRecord(lsn: 9, epoch: 2, type: 4, payload: Array("payload bytes".utf8)))
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0...120, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            }
            _ = RecordFrame.decode(bytes)
            JournalFuzz.decodeFrames(bytes)
        }
    }
}
