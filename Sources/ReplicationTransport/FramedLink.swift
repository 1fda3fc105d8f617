package import Replication
package import Links

/// Replication frames over a `TLSStream`: whole messages out, whole messages in. One thread
/// receives, another may send (the stream allows it; `send` is serialised by the stream).
package final class FramedLink: Sendable {
    package let stream: TLSStream
    private let decoder: Mutex<FrameDecoder>

    package init(_ stream: TLSStream) {
        self.stream = stream
        decoder = Mutex(FrameDecoder())
    }

    /// Sends one message before `timeout` seconds.
    package func send(_ message: ReplicationMessage, timeout: Double) throws(LinkError) {
        try stream.write(ReplicationProtocol.encode(message), timeout: timeout)
    }

    /// The next message; nil when none arrived within `timeout` (the link stays usable).
    ///
    /// - Throws: `.closed` when the peer closed; a `.io` error for a malformed frame (the link
    ///   must close: nothing after a bad frame can be trusted).
    package func receive(timeout: Double) throws(LinkError) -> ReplicationMessage? {
        let deadline = MonotonicClock.seconds() + timeout
        while true {
            let next = decoder.withLock { decoder -> Result<ReplicationMessage?, FrameError> in
                do throws(FrameError) { return .success(try decoder.next()) } catch { return .failure(error) }
            }
            switch next {
            case .success(let message?): return message
            case .success(nil): break
            case .failure(let error): throw LinkError(.io, "malformed frame from \(stream.peerDescription): \(error)")
            }
            let remaining = deadline - MonotonicClock.seconds()
            guard remaining > 0 else { return nil }
            let bytes: [UInt8]
            do {
                bytes = try stream.read(maxBytes: TLSStream.socketReadBytes, timeout: remaining)
            } catch where error.kind == .timedOut {
                return nil
            }
            if bytes.isEmpty { throw LinkError(.closed, "\(stream.peerDescription) closed the link") }
            decoder.withLock { $0.append(bytes) }
        }
    }

    package func close() { stream.close() }
}

import Platform
import Synchronization
