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
