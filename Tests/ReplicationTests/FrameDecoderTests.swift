import Journal
import Testing
@testable import Replication

/// Hostile and malformed input: each is a specific error, never a crash or an allocation sized
/// by the input.
@Suite struct FrameDecoderTests {
    /// A length field of 4 GiB fails as soon as its four bytes arrive: nothing waits for (or
    /// reserves room for) the rest.
    @Test(arguments: [UInt32.max, UInt32(ReplicationProtocol.maximumFrameBytes - 11), 0x8000_0000])
    func oversizeLengthIsRefusedWithoutAllocating(length: UInt32) {
        var decoder = FrameDecoder()
        decoder.append(Array("SRPL".utf8) + bigEndian(length))
        #expect(decoder.bufferCapacity < 1024)
        #expect(throws: FrameError.self) { _ = try decoder.next() }
        #expect(decoder.hasFailed)
        #expect(decoder.bufferedByteCount == 0)
        #expect(decoder.bufferCapacity == 0)
    }

    /// A plausible large length is buffered only as its bytes arrive.
    @Test func largeFrameIsBufferedOnlyAsItArrives() throws {
        var decoder = FrameDecoder()
        decoder.append(Array("SRPL".utf8) + bigEndian(UInt32(ReplicationProtocol.maximumFrameBytes - 12)) + [0, 0, 0, 0])
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 12)
        #expect(decoder.bufferCapacity < 1024)
    }

    /// The limit is the whole frame, header included: a frame of exactly the maximum decodes,
    /// one byte more is refused.
    @Test func limitIsTheWholeFrame() throws {
        let message = ReplicationMessage.ack(Ack(position: .start, notices: [UInt8](repeating: 1, count: 30)))
        let frame = ReplicationProtocol.encode(message)
        var exact = FrameDecoder(maximumFrameBytes: frame.count)
        exact.append(frame)
        #expect(try exact.next() == message)
        var under = FrameDecoder(maximumFrameBytes: frame.count - 1)
        under.append(frame.prefix(8))
        #expect(throws: FrameError.self) { _ = try under.next() }
    }

    /// The largest snapshot part is exactly the largest frame, and a journal record of the
    /// largest payload fits a records frame.
    @Test func sizeHelpersAgreeWithTheEncoding() throws {
        let part = SnapshotPart(position: LogPosition(epoch: 1, lsn: 2), index: 3, isLast: true,
                                payload: [UInt8](repeating: 0xAB, count: SnapshotPart.maximumPayloadBytes))
        let frame = ReplicationProtocol.encode(.snapshot(part))
        #expect(frame.count == ReplicationProtocol.maximumFrameBytes)
        var decoder = FrameDecoder()
        decoder.append(frame)
        #expect(try decoder.next() == .snapshot(part))

        let batch = RecordBatch(records: [
            ShippedRecord(position: LogPosition(epoch: 1, lsn: 1), payload: [UInt8](repeating: 1, count: Journal.maxPayloadBytes)),
            ShippedRecord(position: LogPosition(epoch: 1, lsn: 3), payload: [1, 2]),
        ])
        #expect(batch.frameByteCount <= ReplicationProtocol.maximumFrameBytes)
        #expect(ReplicationProtocol.encode(.records(batch)).count == batch.frameByteCount)
        #expect(ReplicationProtocol.encode(.records(RecordBatch(records: []))).count == RecordBatch.frameOverheadBytes)
    }

    /// After an error the decoder stays failed, drops what it is given and throws the same error.
    @Test func failureIsFinal() throws {
        var decoder = FrameDecoder()
        decoder.append(Array("XXXX".utf8))
        var first: FrameError?
        do { _ = try decoder.next() } catch { first = error }
        #expect(first?.code == .badMagic)
        decoder.append(ReplicationProtocol.encode(.refused("late")))
        #expect(decoder.bufferedByteCount == 0)
        do {
            _ = try decoder.next()
            Issue.record("a failed decoder produced a message")
        } catch {
            #expect(error == first)
        }
    }

    @Test func emptyInputNeedsMoreBytes() throws {
        var decoder = FrameDecoder()
        #expect(try decoder.next() == nil)
        decoder.append([UInt8]())
        #expect(try decoder.next() == nil)
        #expect(!decoder.hasFailed)
    }

    /// Malformed frames, each with a correct checksum unless the case is about the checksum.
    static let malformed: [(name: String, bytes: [UInt8], code: FrameError.Code)] = {
        let heartbeat = ReplicationProtocol.encode(.heartbeat(Heartbeat(position: .start, sentAtMillis: 0)))
        let position = bigEndian(UInt64(1)) + bigEndian(UInt64(2))
        let helloTail = field("n") + field("r") + field("s") + [0] + field([])
        var badCRC = heartbeat
        badCRC[8] ^= 0xFF
        return [
            ("bad magic", Array("srpl".utf8) + heartbeat.dropFirst(4), .badMagic),
            ("HTTP instead", Array("GET / HTTP/1.1\r\n\r\n".utf8), .badMagic),
            ("length 0", Array("SRPL".utf8) + [0, 0, 0, 0] + [0, 0, 0, 0], .badLength),
            ("length 1", Array("SRPL".utf8) + [0, 0, 0, 1] + [0, 0, 0, 0, 1], .badLength),
            ("checksum", badCRC, .checksumMismatch),
            ("type 0", rawFrame(type: 0, payload: []), .unknownType),
            ("type 10", rawFrame(type: 10, payload: []), .unknownType),
            ("type 255", rawFrame(type: 255, payload: position), .unknownType),
            ("flag 1", rawFrame(type: 7, flags: 1, payload: position + bigEndian(Int64(0))), .unknownFlags),
            ("flag 0x80", rawFrame(type: 7, flags: 0x80, payload: position + bigEndian(Int64(0))), .unknownFlags),
            ("empty heartbeat", rawFrame(type: 7, payload: []), .malformed),
            ("short heartbeat", rawFrame(type: 7, payload: position + [0, 0, 0]), .malformed),
            ("trailing byte", rawFrame(type: 7, payload: position + bigEndian(Int64(0)) + [0]), .malformed),
            ("hello version 0", rawFrame(type: 1, payload: bigEndian(UInt16(0)) + helloTail), .unsupportedVersion),
            ("hello version 3", rawFrame(type: 1, payload: bigEndian(UInt16(3)) + helloTail), .unsupportedVersion),
            ("hello position flag 2", rawFrame(type: 1, payload: [0, 1] + field("n") + field("r") + field("s") + [2] + position + field([])), .malformed),
            ("hello string past the end", rawFrame(type: 1, payload: [0, 1] + bigEndian(UInt32(100)) + [1, 2, 3]), .malformed),
            ("hello string length 4 GiB", rawFrame(type: 1, payload: [0, 1] + bigEndian(UInt32.max)), .malformed),
            ("hello invalid UTF-8", rawFrame(type: 1, payload: [0, 1] + field([0xC3, 0x28]) + field("r") + field("s") + [0] + field([])), .malformed),
            ("hello overlong UTF-8", rawFrame(type: 1, payload: [0, 1] + field([0xC0, 0xAF]) + field("r") + field("s") + [0] + field([])), .malformed),
            ("hello surrogate UTF-8", rawFrame(type: 1, payload: [0, 1] + field([0xED, 0xA0, 0x80]) + field("r") + field("s") + [0] + field([])), .malformed),
            ("hello without notices", rawFrame(type: 1, payload: [0, 1] + field("n") + field("r") + field("s") + [0]), .malformed),
            ("welcome mode 0", rawFrame(type: 2, payload: field("n") + field("r") + [0] + position), .malformed),
            ("welcome mode 3", rawFrame(type: 2, payload: field("n") + field("r") + [3] + position), .malformed),
            ("refused over the limit", rawFrame(type: 3, payload: field([UInt8](repeating: 0x61, count: ReplicationProtocol.maximumReasonBytes + 1))), .malformed),
            ("records count 4 Gi", rawFrame(type: 4, payload: bigEndian(UInt32.max) + position + field([])), .malformed),
            ("records count beyond the bytes", rawFrame(type: 4, payload: bigEndian(UInt32(2)) + position + field([])), .malformed),
            ("records LSN 0", rawFrame(type: 4, payload: bigEndian(UInt32(1)) + bigEndian(UInt64(1)) + bigEndian(UInt64(0)) + field([])), .malformed),
            ("records out of order", rawFrame(type: 4, payload: bigEndian(UInt32(2)) + position + field([]) + position + field([])), .malformed),
            ("records epoch going back", rawFrame(type: 4, payload: bigEndian(UInt32(2)) + position + field([])
                                                   + bigEndian(UInt64(0)) + bigEndian(UInt64(3)) + field([])), .malformed),
            ("record payload past the end", rawFrame(type: 4, payload: bigEndian(UInt32(1)) + position + bigEndian(UInt32(0xFFFF_FFF0))), .malformed),
            ("snapshot last flag 7", rawFrame(type: 5, payload: position + bigEndian(UInt32(0)) + [7] + field([])), .malformed),
            ("ack notices past the end", rawFrame(type: 6, payload: position + bigEndian(UInt32(5)) + [1]), .malformed),
        ]
    }()

    @Test(arguments: malformed.indices)
    func malformedFrameIsRefused(_ index: Int) {
        let testCase = Self.malformed[index]
        let outcome = decodeAll(testCase.bytes)
        #expect(outcome.messages.isEmpty, "\(testCase.name)")
        #expect(outcome.error?.code == testCase.code, "\(testCase.name): \(String(describing: outcome.error))")
        // Byte at a time: the same error (checks run in byte order).
        #expect(ReplicationFuzz.decode(testCase.bytes, chunkSize: 1).error == outcome.error, "\(testCase.name)")
        // And each is a fuzz-clean input.
        ReplicationFuzz.decodeStream(testCase.bytes)
    }

    /// A refusal's reason is cut to the limit on encoding, at a scalar boundary.
    @Test func longReasonIsCutOnEncoding() throws {
        let limit = ReplicationProtocol.maximumReasonBytes
        for reason in [String(repeating: "a", count: limit + 10), String(repeating: "a", count: limit - 1) + "é" + "tail",
                       String(repeating: "🔐", count: 400)] {
            var decoder = FrameDecoder()
            decoder.append(ReplicationProtocol.encode(.refused(reason)))
            guard case .refused(let decoded) = try decoder.next() else { Issue.record("not a refusal"); continue }
            #expect(decoded.utf8.count <= limit)
            #expect(decoded.utf8.count > limit - 4)
            #expect(reason.utf8.starts(with: decoded.utf8))
        }
        let exact = String(repeating: "b", count: limit)
        var decoder = FrameDecoder()
        decoder.append(ReplicationProtocol.encode(.refused(exact)))
        #expect(try decoder.next() == .refused(exact))
    }

    /// A hello of another version still encodes (a test peer can send one) and is refused with
    /// its own code, so the source can answer `refused`.
    @Test func helloOfAnotherVersionIsUnsupported() {
        let frame = ReplicationProtocol.encode(.hello(Hello(protocolVersion: 3, nodeId: "n", region: "r", sourceRegion: "s", position: nil)))
        #expect(frameError(frame)?.code == .unsupportedVersion)
    }

    @Test func errorsDescribeThemselves() {
        let error = FrameError(.tooLarge, "frame of 9 bytes exceeds the maximum 8")
        #expect(error.description == "tooLarge: frame of 9 bytes exceeds the maximum 8")
        #expect(FrameError.Code.checksumMismatch.description == "checksumMismatch")
    }

    @Test func positionsOrderByEpochThenLSN() {
        #expect(LogPosition(epoch: 1, lsn: 100) < LogPosition(epoch: 2, lsn: 1))
        #expect(LogPosition(epoch: 2, lsn: 1) < LogPosition(epoch: 2, lsn: 2))
        #expect(LogPosition.start < LogPosition(epoch: 0, lsn: 1))
        #expect(LogPosition(epoch: 3, lsn: 1042).description == "3/1042")
    }
}
