import Checksum
import Testing
@testable import Replication
import TestSupport

@Suite struct ReplicationProtocolTests {
    @Test(arguments: sampleMessages)
    func roundTrip(_ message: ReplicationMessage) throws {
        let frame = ReplicationProtocol.encode(message)
        #expect(Array(frame.prefix(4)) == Array("SRPL".utf8))
        var decoder = FrameDecoder()
        decoder.append(frame)
        #expect(try decoder.next() == message)
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    /// Property: random messages round-trip, one at a time and as one stream.
    @Test(arguments: [UInt64(1), 2, 3, 0xDEAD_BEEF])
    func randomMessagesRoundTrip(seed: UInt64) throws {
        var generator = MessageGenerator(seed: seed)
        var stream: [UInt8] = []
        var messages: [ReplicationMessage] = []
        for _ in 0..<300 {
            let message = generator.message()
            let frame = ReplicationProtocol.encode(message)
            var decoder = FrameDecoder()
            decoder.append(frame)
            #expect(try decoder.next() == message)
            messages.append(message)
            stream += frame
        }
        let decoded = decodeAll(stream)
        #expect(decoded.error == nil)
        #expect(decoded.messages == messages)
    }

    /// The layout, pinned: a heartbeat's bytes field by field.
    @Test func heartbeatBytes() {
        let frame = ReplicationProtocol.encode(.heartbeat(Heartbeat(position: LogPosition(epoch: 2, lsn: 0x0102), sentAtMillis: -2)))
        let body: [UInt8] = [7, 0] + [0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 1, 2] + [UInt8](repeating: 0xFF, count: 7) + [0xFE]
        #expect(frame == Array("SRPL".utf8) + [0, 0, 0, 26] + bigEndian(CRC32C.checksum(body)) + body)
        #expect(frame.count == ReplicationProtocol.headerBytes + 24)
    }

    @Test func helloBytes() {
        let frame = ReplicationProtocol.encode(.hello(Hello(nodeId: "n", region: "r", sourceRegion: "s",
                                                           position: LogPosition(epoch: 1, lsn: 2), notices: [9])))
        let payload: [UInt8] = [0, 2] + field("n") + field("r") + field("s") + [1] + bigEndian(UInt64(1)) + bigEndian(UInt64(2)) + field([9])
            + bigEndian(UInt64(0)) + field([])
        #expect(frame == rawFrame(type: 1, payload: payload))
    }

    /// A hello of version 1 (no epochs) still decodes, as from a node not yet upgraded.
    @Test func helloOfVersionOneDecodes() throws {
        let payload: [UInt8] = [0, 1] + field("n") + field("r") + field("s") + [0] + field([])
        var decoder = FrameDecoder()
        decoder.append(rawFrame(type: 1, payload: payload))
        let hello = Hello(protocolVersion: 1, nodeId: "n", region: "r", sourceRegion: "s", position: nil)
        #expect(try decoder.next() == .hello(hello))
        #expect(hello.highestSeen == 0 && hello.history.isEmpty)
    }

    /// A version-2 hello carries the epochs; a welcome its history only when it has one; the
    /// term messages round-trip.
    @Test func epochsTravel() throws {
        let messages: [ReplicationMessage] = [
            .hello(Hello(nodeId: "n", region: "r", sourceRegion: "r", position: nil, highestSeen: 18, history: [1, 2, 3])),
            .welcome(Welcome(nodeId: "p", region: "r", mode: .stream, sourcePosition: LogPosition(epoch: 2, lsn: 9), history: [4, 5])),
            .term(TermQuery(nodeId: "b", region: "r", epoch: 18)),
            .termAnswer(TermAnswer(nodeId: "c", role: "standby", highestSeenBefore: 2, highestSeen: 18, end: LogPosition(epoch: 2, lsn: 7))),
        ]
        for message in messages {
            var decoder = FrameDecoder()
            decoder.append(ReplicationProtocol.encode(message))
            #expect(try decoder.next() == message)
        }
        // A welcome with an explicitly empty history is not the one encoding of a welcome.
        let welcome: [UInt8] = field("p") + field("r") + [1] + bigEndian(UInt64(2)) + bigEndian(UInt64(9)) + field([])
        var decoder = FrameDecoder()
        decoder.append(rawFrame(type: 2, payload: welcome))
        #expect(throws: FrameError.self) { try decoder.next() }
    }

    /// Every proper prefix of a frame is "need more bytes", never an error or a message, and the
    /// decoder holds exactly what it was given.
    @Test(arguments: sampleMessages)
    func everyTruncationNeedsMoreBytes(_ message: ReplicationMessage) throws {
        let frame = ReplicationProtocol.encode(message)
        for cut in 0..<frame.count {
            var decoder = FrameDecoder()
            decoder.append(frame[..<cut])
            #expect(try decoder.next() == nil, "prefix \(cut)")
            #expect(decoder.bufferedByteCount == cut)
            // And the rest completes it.
            decoder.append(frame[cut...])
            #expect(try decoder.next() == message, "completed after \(cut)")
        }
    }

    /// Every single-bit flip anywhere in a frame is an error or "need more bytes" (a length made
    /// larger), never a message. CRC32C detects every single-bit error in the checksummed bytes.
    @Test(arguments: sampleMessages)
    func everyBitFlipIsRefused(_ message: ReplicationMessage) {
        let frame = ReplicationProtocol.encode(message)
        for bit in 0..<(frame.count * 8) {
            var damaged = frame
            damaged[bit / 8] ^= 1 << UInt8(bit % 8)
            let decoded = decodeAll(damaged)
            #expect(decoded.messages.isEmpty, "flip of bit \(bit) decoded as \(decoded.messages)")
            // A flip inside the length may ask for more bytes; anywhere else it is an error.
            if !(32..<64).contains(bit) { #expect(decoded.error != nil, "flip of bit \(bit) gave no error") }
            // Whatever the split, the same answer.
            #expect(ReplicationFuzz.decode(damaged, chunkSize: 1) == ReplicationFuzz.decode(damaged, chunkSize: damaged.count))
        }
    }

    /// A stream split at every byte boundary decodes to the same messages (the
    /// ByteToMessageDecoderVerifier discipline), then in random chunkings.
    @Test func splitAtEveryByteDecodesTheSame() throws {
        let stream = sampleMessages.flatMap(ReplicationProtocol.encode)
        for split in 0...stream.count {
            var decoder = FrameDecoder()
            var messages: [ReplicationMessage] = []
            decoder.append(stream[..<split])
            while let message = try decoder.next() { messages.append(message) }
            decoder.append(stream[split...])
            while let message = try decoder.next() { messages.append(message) }
            #expect(messages == sampleMessages, "split at \(split)")
            #expect(decoder.bufferedByteCount == 0)
        }
        var random = SplitMix64(seed: 0x5EED)
        for _ in 0..<200 {
            var decoder = FrameDecoder()
            var messages: [ReplicationMessage] = []
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + Int.random(in: 1...97, using: &random))
                decoder.append(stream[offset..<end])
                offset = end
                while let message = try decoder.next() { messages.append(message) }
            }
            #expect(messages == sampleMessages)
        }
        for chunk in 1...40 {
            let outcome = ReplicationFuzz.decode(stream, chunkSize: chunk)
            #expect(outcome.messages == sampleMessages && outcome.error == nil, "chunks of \(chunk)")
        }
    }

    /// The messages before a bad frame come out, then the error, however the stream is split.
    @Test func errorAfterGoodFramesIsSplitInvariant() {
        let good = sampleMessages.prefix(5).flatMap(ReplicationProtocol.encode)
        let bad = rawFrame(type: 3, flags: 1, payload: field("x"))
        let whole = ReplicationFuzz.decode(good + bad + good, chunkSize: 10_000)
        #expect(whole.messages == Array(sampleMessages.prefix(5)))
        #expect(whole.error?.code == .unknownFlags)
        for chunk in 1...30 {
            #expect(ReplicationFuzz.decode(good + bad + good, chunkSize: chunk) == whole, "chunks of \(chunk)")
        }
    }
}
