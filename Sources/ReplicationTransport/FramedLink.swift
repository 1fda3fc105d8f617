package import Replication
package import Links

/// Replication frames over a `TLSStream`: whole messages out, whole messages in. One thread
/// receives, another may send (the stream allows it; `send` is serialised by the stream).
package final class FramedLink: Sendable {
    package let stream: TLSStream
    private let decoder: Mutex<FrameDecoder>
    /// One sender at a time: a message goes out in pieces.
    private let sending = Mutex(())
    /// Bytes received so far (whole messages or not): a slow link that is still delivering a
    /// large frame is not a silent one.
    private let received = Atomic<UInt64>(0)

    /// A message is written in pieces of this size, each within the send timeout: the timeout
    /// bounds a stall, not a frame's whole journey. At 128 kbit/s a frame of 512 records (a
    /// catch-up's batch, hundreds of KiB) takes longer than a link's dead time, yet moves on.
    package static let sendPieceBytes = 16 * 1024

    package init(_ stream: TLSStream) {
        self.stream = stream
        decoder = Mutex(FrameDecoder())
    }

    /// Sends one message, each piece of it before `timeout` seconds.
    package func send(_ message: ReplicationMessage, timeout: Double) throws(LinkError) {
        let bytes = ReplicationProtocol.encode(message)
        try sending.withLock { _ throws(LinkError) in
            var offset = 0
            repeat {
                let end = min(bytes.count, offset + Self.sendPieceBytes)
                try stream.write(Array(bytes[offset..<end]), timeout: timeout)
                offset = end
            } while offset < bytes.count
        }
    }

    /// Bytes received so far on this link.
    package var bytesReceived: UInt64 { received.load(ordering: .relaxed) }

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
            received.add(UInt64(bytes.count), ordering: .relaxed)
            decoder.withLock { $0.append(bytes) }
        }
    }

    package func close() { stream.close() }
}

import Platform
import Synchronization
