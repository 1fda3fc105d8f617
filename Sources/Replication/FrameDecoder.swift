/// Incremental decoder: feed bytes as they arrive, pull whole messages.
///
/// The result does not depend on how the stream is split into `append` calls. Nothing is
/// reserved from a frame's declared length: a frame's bytes are buffered only as they arrive,
/// and a length beyond `maximumFrameBytes` fails as soon as its four bytes are here. Call
/// ``next()`` until it returns nil after each ``append(_:)``: then at most one partial frame
/// (under `maximumFrameBytes`) plus the last chunk is ever buffered.
public struct FrameDecoder: Sendable {
    /// The decoder's state. Legal transitions: `decoding` → `decoding` (bytes in, messages
    /// out), `decoding` → `failed` (a malformed frame); `failed` is final.
    private enum State: Sendable {
        /// `buffer[start...]` is the undecoded input.
        case decoding
        /// The link must close; every `next()` throws this again.
        case failed(FrameError)
    }

    /// Buffers holding more than this after a reset give their memory back.
    private static let retainedCapacity = 64 << 10

    private let maximumFrameBytes: Int
    private var state = State.decoding
    private var buffer: [UInt8] = []
    private var start = 0

    /// A decoder refusing frames larger than `maximumFrameBytes` (header included).
    public init(maximumFrameBytes: Int = ReplicationProtocol.maximumFrameBytes) {
        precondition(maximumFrameBytes >= ReplicationProtocol.headerBytes, "maximum frame size \(maximumFrameBytes) is below the header")
        precondition(maximumFrameBytes <= Int(UInt32.max), "maximum frame size \(maximumFrameBytes) exceeds a u32 length")
        self.maximumFrameBytes = maximumFrameBytes
    }

    /// Adds bytes from the peer. After a failure they are dropped.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard case .decoding = state, !bytes.isEmpty else { return }
        // Consumed bytes are dropped before the buffer would grow past twice what is unread.
        if start > 0 && start >= buffer.count - start {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message; nil = need more bytes. After an error the decoder stays failed
    /// (the link must close) and throws the same error again.
    public mutating func next() throws(FrameError) -> ReplicationMessage? {
        if case .failed(let error) = state { throw error }
        do {
            guard let decoded = try ReplicationProtocol.decodeFrame(buffer, at: start, maximumFrameBytes: maximumFrameBytes) else {
                return nil
            }
            start += decoded.frameBytes
            assert(start <= buffer.count)
            if start == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.capacity <= Self.retainedCapacity)
                start = 0
            }
            return decoded.message
        } catch {
            state = .failed(error)
            buffer = []
            start = 0
            throw error
        }
    }

    /// Bytes received and not yet returned as messages (0 after a failure).
    public var bufferedByteCount: Int { buffer.count - start }

    /// The buffer's allocation, for the tests that hold it to what arrived.
    var bufferCapacity: Int { buffer.capacity }

    /// Whether the decoder has failed (every ``next()`` throws).
    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }
}
