internal import Checksum

/// The fuzz entry point of the frame decoder, for a libFuzzer harness and for replaying the
/// regression corpus in the tests. Traps (a finding) when an invariant breaks.
public enum ReplicationFuzz {
    /// Inputs longer than this are cut: keeps one run bounded.
    public static let maxInputBytes = 1 << 20

    /// What decoding a whole stream gave.
    struct Outcome: Equatable {
        var messages: [ReplicationMessage] = []
        var error: FrameError?
        var bufferedByteCount = 0
    }

    /// Decodes `data` as a stream of frames, at once and again one byte at a time and in chunks
    /// of a size derived from the input, and checks: the outcomes agree; every message
    /// re-encodes to exactly the bytes it came from; the buffer never holds more than the input
    /// or a failed decoder anything; decoding never traps.
    public static func decodeStream(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        let whole = decode(data, chunkSize: max(1, data.count))
        precondition(decode(data, chunkSize: 1) == whole, "byte-at-a-time decoding disagrees with whole-input decoding")
        let chunk = Int(data.first ?? 7) % 13 + 2
        precondition(decode(data, chunkSize: chunk) == whole, "decoding in chunks of \(chunk) disagrees")
        var reencoded: [UInt8] = []
        for message in whole.messages { reencoded += ReplicationProtocol.encode(message) }
        precondition(reencoded.count <= data.count && reencoded[...] == data[..<reencoded.count],
                     "decoded messages do not re-encode to the bytes they came from")
        if whole.error == nil {
            precondition(reencoded.count + whole.bufferedByteCount == data.count, "bytes lost without an error")
        } else {
            precondition(whole.bufferedByteCount == 0, "a failed decoder keeps bytes")
        }
    }

    /// The outcome of feeding `data` in chunks of `chunkSize`, pulling messages after each.
    static func decode(_ data: [UInt8], chunkSize: Int, maximumFrameBytes: Int = ReplicationProtocol.maximumFrameBytes) -> Outcome {
        precondition(chunkSize >= 1)
        var decoder = FrameDecoder(maximumFrameBytes: maximumFrameBytes)
        var outcome = Outcome()
        var offset = 0
        feeding: while offset < data.count {
            let end = min(data.count, offset + chunkSize)
            decoder.append(data[offset..<end])
            offset = end
            precondition(decoder.bufferedByteCount <= data.count, "buffered more than the input")
            do {
                while let message = try decoder.next() { outcome.messages.append(message) }
            } catch {
                outcome.error = error
                break feeding
            }
        }
        outcome.bufferedByteCount = decoder.bufferedByteCount
        return outcome
    }
}

extension ReplicationFuzz {
    /// A frame limit small enough that a fuzzer's short inputs reach the `.tooLarge` refusal.
    static let smallMaximumFrameBytes = 64

    /// The replication fuzz target: ``decodeStream(_:)`` over `data` as received, and over
    /// `data` with every frame's checksum made right, since a fuzzer rarely gets a CRC32C right
    /// by itself and every payload decoder sits behind it. Also decodes under a small frame
    /// limit, whole and byte by byte, which must agree too.
    public static func run(_ data: [UInt8]) {
        let data = Array(data.prefix(maxInputBytes))
        decodeStream(data)
        let repaired = withChecksumsRepaired(data)
        if repaired != data { decodeStream(repaired) }
        let whole = decode(repaired, chunkSize: max(1, repaired.count), maximumFrameBytes: smallMaximumFrameBytes)
        precondition(decode(repaired, chunkSize: 1, maximumFrameBytes: smallMaximumFrameBytes) == whole,
                     "byte-at-a-time decoding under a small frame limit disagrees with whole-input decoding")
        for message in whole.messages {
            precondition(ReplicationProtocol.encode(message).count <= smallMaximumFrameBytes, "a frame over the limit was decoded")
        }
    }

    /// `data` with the checksum of each frame, from the start for as long as frames have the
    /// magic and a length that fits, set to the CRC32C of its checksummed bytes.
    static func withChecksumsRepaired(_ data: [UInt8]) -> [UInt8] {
        var bytes = data
        var offset = 0
        let magic = ReplicationProtocol.magic
        let prefix = ReplicationProtocol.prefixBytes
        while offset + prefix <= bytes.count, bytes[offset..<(offset + magic.count)].elementsEqual(magic) {
            let length = bytes[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
            guard length >= ReplicationProtocol.minimumLength, offset + prefix + length <= bytes.count else { break }
            let checksum = CRC32C.checksum(Array(bytes[(offset + prefix)..<(offset + prefix + length)]))
            for index in 0..<4 {
                bytes[offset + 8 + index] = UInt8(truncatingIfNeeded: checksum >> (24 - 8 * UInt32(index)))
            }
            offset += prefix + length
        }
        return bytes
    }
}
