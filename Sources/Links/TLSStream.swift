package import Platform
import Synchronization
package import TLS

/// A TLS connection over a non-blocking TCP socket, used the blocking way: every call takes a
/// timeout, waits with poll(2), and throws `.timedOut` when it passes. Safe for one reader thread
/// and one writer thread at once (a replication link reads frames on one thread and writes acks
/// and heartbeats on another; the front proxy uses one thread for both).
///
/// Two locks, always taken in this order: `sending` (held for a whole socket send, so that TLS
/// records leave in the order they were made) then `engine` (held only around calls into the TLS
/// engine, never across a wait). A reader waits in poll() with no lock held, so a writer is never
/// blocked by a reader waiting for data.
///
/// `close()` shuts the socket down (shutdown(2)), which wakes threads blocked in poll(); they
/// throw `.closed`. The descriptor itself is closed when the last reference to the stream goes
/// away, so its number cannot be reused while another thread may still use it.
// Safety: the mutable state is the TLS engine and its plaintext buffer, only touched inside
// `engine.withLock`, and the ciphertext being sent, only touched inside `sending.withLock`. The
// descriptor is immutable; the system calls on it (poll, read, send, shutdown) are thread-safe,
// and only the single reader reads from it. `closed` is atomic.
package final class TLSStream: @unchecked Sendable {
    /// The most plaintext one socket read can bring in; reads go through a stack buffer this big.
    package static let socketReadBytes = 32 * 1024

    private let socket: FileDescriptor
    private let engine: Mutex<Engine>
    private let sending = Mutex<[UInt8]>([])
    private let closed = Atomic<Bool>(false)
    /// "127.0.0.1:7543" or "an accepted connection", for messages.
    package let peerDescription: String

    /// The TLS engine and what it decrypted but the caller has not taken yet.
    // Safety: an Engine lives inside `engine` (a Mutex) from its creation to its end, and is only
    // touched inside `withLock`; the SSL object it owns may move between threads that way
    // (OpenSSL requires serialised use, not one thread).
    private struct Engine: ~Copyable, @unchecked Sendable {
        var tls: TLSConnection
        var plaintext: [UInt8] = []
        var plaintextOffset = 0
        /// close_notify or a TCP end of file arrived.
        var peerClosed = false
        /// Set once the stream is unusable; every later call throws it.
        var failure: LinkError?
    }

    private init(socket: consuming FileDescriptor, tls: consuming TLSConnection, peerDescription: String) {
        self.socket = socket
        self.engine = Mutex(Engine(tls: tls))
        self.peerDescription = peerDescription
    }

    // MARK: - Opening

    /// Connects to `address` and completes the TLS handshake before `timeout` seconds.
    ///
    /// In TLS 1.3 the server checks our certificate after our side of the handshake is done: its
    /// refusal arrives as a `.tls` error on the first `read`.
    ///
    /// - Parameters:
    ///   - context: a client context.
    ///   - expectedPeerIP: the IP the server certificate must carry in its subjectAltName; nil
    ///     checks the chain only (the caller identifies the peer from `peerCertificate`).
    ///   - expectedHostName: the name the server certificate must match, also sent as SNI (an
    ///     IP literal is checked as an IP); for clients that reach a node by its URL.
    /// - Throws: `.refused` when nothing listens there, `.timedOut`, `.io`, `.tls`.
    package static func connect(
        to address: SocketAddress, context: TLSContext, expectedPeerIP: String?, expectedHostName: String? = nil, timeout: Double
    ) throws(LinkError) -> TLSStream {
        let deadline = MonotonicClock.seconds() + timeout
        let peer = address.description
        let socket: FileDescriptor
        do {
            socket = try TCPSocket.connect(to: address)
        } catch {
            throw LinkError(error.isConnectionRefused ? .refused : .io, "cannot connect to \(peer): \(error)")
        }
        let connected: Bool
        do {
            connected = try Poll.wait(socket.rawValue, for: .writable, timeout: deadline - MonotonicClock.seconds())
        } catch {
            throw LinkError(.io, "cannot connect to \(peer): \(error)")
        }
        guard connected else { throw LinkError(.timedOut, "connecting to \(peer) timed out after \(timeout) s") }
        if let error = TCPSocket.pendingError(socket.rawValue) {
            throw LinkError(error.isConnectionRefused ? .refused : .io, "cannot connect to \(peer): \(error)")
        }
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: context, expectedPeerIP: expectedPeerIP, expectedHostName: expectedHostName)
        } catch {
            throw LinkError(.tls, "TLS set-up for \(peer): \(error)")
        }
        let stream = TLSStream(socket: socket, tls: tls, peerDescription: peer)
        try stream.handshake(deadline: deadline)
        return stream
    }

    /// Completes the server side of the TLS handshake on an accepted socket before `timeout`
    /// seconds. With a context that requires client certificates, a client without a valid one
    /// is refused here (`.tls`, the message says why).
    ///
    /// - Parameter peer: the client's address, for messages.
    /// - Throws: `.timedOut`, `.io`, `.tls`.
    package static func accept(_ descriptor: consuming FileDescriptor, context: TLSContext, timeout: Double, peer: SocketAddress? = nil) throws(LinkError) -> TLSStream {
        let deadline = MonotonicClock.seconds() + timeout
        let description = peer.map { "client \($0)" } ?? "an accepted client"
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: context)
        } catch {
            throw LinkError(.tls, "TLS set-up for \(description): \(error)")
        }
        let stream = TLSStream(socket: descriptor, tls: tls, peerDescription: description)
        try stream.handshake(deadline: deadline)
        return stream
    }

    /// The peer's certificate, verified against the context's CAs (nil when the peer sent none).
    package var peerCertificate: PeerCertificate? {
        engine.withLock { $0.tls.peerCertificate }
    }

    // MARK: - Reading and writing

    /// Up to `maxBytes` plaintext bytes, as soon as any are available.
    ///
    /// - Returns: at least one byte; [] when the peer closed (close_notify or end of file),
    ///   and on every call after that.
    /// - Throws: `.timedOut` after `timeout` seconds with nothing to return (the stream stays
    ///   usable); `.closed` once `close()` was called; `.tls`, `.io`.
    package func read(maxBytes: Int, timeout: Double) throws(LinkError) -> [UInt8] {
        precondition(maxBytes > 0, "maxBytes must be positive")
        let deadline = MonotonicClock.seconds() + timeout
        while true {
            let step = try decrypt(maxBytes: maxBytes)
            if step.needsFlush { try flush(deadline: deadline) }
            if let bytes = step.bytes { return bytes }
            guard try receive(deadline: deadline, during: "reading") else {
                engine.withLock { $0.peerClosed = true }
                return []
            }
        }
    }

    /// Sends all of `bytes` before `timeout` seconds.
    ///
    /// - Throws: `.timedOut` (the stream is then unusable: part of a record may have gone out),
    ///   `.closed`, `.tls`, `.io`.
    package func write(_ bytes: [UInt8], timeout: Double) throws(LinkError) {
        let deadline = MonotonicClock.seconds() + timeout
        try checkOpen()
        try sending.withLock { (buffer: inout [UInt8]) throws(LinkError) in
            try engine.withLock { (state: inout Engine) throws(LinkError) in
                if let failure = state.failure { throw failure }
                do {
                    try state.tls.writePlaintext(bytes)
                } catch {
                    let failure = LinkError(.tls, "TLS write to \(peerDescription): \(error)")
                    state.failure = failure
                    throw failure
                }
                state.tls.drainCiphertext(into: &buffer)
            }
            try send(&buffer, deadline: deadline)
        }
    }

    /// Sends close_notify if that needs no wait, then shuts the socket down both ways: threads
    /// blocked in `read` or `write` wake up and throw `.closed`, as does every later call. The
    /// descriptor is released with the last reference to the stream. Idempotent.
    package func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Only when no writer is sending: never wait here, and never cut a record in two.
        _ = sending.withLockIfAvailable { (buffer: inout [UInt8]) in
            engine.withLock { (state: inout Engine) in
                guard state.failure == nil else { return }
                state.tls.shutdown()
                state.tls.drainCiphertext(into: &buffer)
            }
            if !buffer.isEmpty { _ = try? TCPSocket.write(socket.rawValue, buffer, from: 0) }
            buffer.removeAll()
        }
        TCPSocket.shutdownBoth(socket.rawValue)
    }

    /// Whether `close()` was called.
    package var isClosed: Bool { closed.load(ordering: .acquiring) }

    // MARK: - Internals

    private struct DecryptStep: Sendable {
        /// Plaintext to return; [] when the peer closed; nil when more ciphertext is needed.
        var bytes: [UInt8]?
        /// The engine produced records to send (handshake messages, alerts, key updates).
        var needsFlush: Bool
    }

    /// Takes buffered plaintext, or decrypts what the socket brought.
    private func decrypt(maxBytes: Int) throws(LinkError) -> DecryptStep {
        try checkOpen()
        return try engine.withLock { (state: inout Engine) throws(LinkError) -> DecryptStep in
            if let failure = state.failure { throw failure }
            if state.plaintextOffset < state.plaintext.count {
                return DecryptStep(bytes: Self.take(&state, maxBytes: maxBytes), needsFlush: false)
            }
            if state.peerClosed { return DecryptStep(bytes: [], needsFlush: false) }
            state.plaintext.removeAll(keepingCapacity: state.plaintext.capacity <= 64 * 1024)
            state.plaintextOffset = 0
            let status: TLSReadStatus
            do {
                status = try state.tls.readPlaintext(into: &state.plaintext, maxBytes: maxBytes)
            } catch {
                let failure = LinkError(.tls, "TLS with \(peerDescription) failed: \(error)")
                state.failure = failure
                throw failure
            }
            let needsFlush = state.tls.hasPendingCiphertext
            switch status {
            case .progressed:
                return DecryptStep(bytes: Self.take(&state, maxBytes: maxBytes), needsFlush: needsFlush)
            case .wantMoreCiphertext:
                return DecryptStep(bytes: nil, needsFlush: needsFlush)
            case .closed:
                state.peerClosed = true
                return DecryptStep(bytes: [], needsFlush: needsFlush)
            }
        }
    }

    private static func take(_ state: inout Engine, maxBytes: Int) -> [UInt8] {
        let end = min(state.plaintext.count, state.plaintextOffset + maxBytes)
        let bytes = Array(state.plaintext[state.plaintextOffset..<end])
        state.plaintextOffset = end
        return bytes
    }

    /// Runs the handshake to completion before `deadline`.
    private func handshake(deadline: Double) throws(LinkError) {
        try engine.withLock { (state: inout Engine) throws(LinkError) in
            guard state.tls.role == .client else { return }
            do {
                // A client's first write starts the handshake: the ClientHello is then ready.
                try state.tls.writePlaintext([])
            } catch {
                throw LinkError(.tls, "TLS handshake with \(peerDescription) failed: \(error)")
            }
        }
        while true {
            let step = engine.withLock { (state: inout Engine) -> Result<Bool, LinkError> in
                do {
                    // Application data that arrives with the last handshake message is kept
                    // for the first `read`.
                    let status = try state.tls.readPlaintext(into: &state.plaintext)
                    if status == .closed { state.peerClosed = true }
                } catch {
                    let failure = LinkError(.tls, "TLS handshake with \(peerDescription) failed: \(error)")
                    state.failure = failure
                    return .failure(failure)
                }
                return .success(state.tls.isHandshakeComplete)
            }
            let complete: Bool
            switch step {
            case .success(let done):
                complete = done
            case .failure(let failure):
                // The alert OpenSSL queued tells the peer why (its read then fails clearly
                // instead of seeing a bare end of file); best effort, briefly.
                try? flush(deadline: min(deadline, MonotonicClock.seconds() + 0.5))
                throw failure
            }
            // Whatever the step made (the ClientHello, the server's flight, Finished, tickets)
            // goes out before waiting for the answer to it.
            try flush(deadline: deadline)
            if complete { return }
            guard try receive(deadline: deadline, during: "the TLS handshake") else {
                throw LinkError(.io, "\(peerDescription) closed the connection during the TLS handshake")
            }
        }
    }

    /// Waits for the socket to be readable and hands what it read to the engine.
    /// - Returns: false at end of file.
    private func receive(deadline: Double, during activity: String) throws(LinkError) -> Bool {
        try withUnsafeTemporaryAllocation(byteCount: Self.socketReadBytes, alignment: 16) { (scratch: UnsafeMutableRawBufferPointer) throws(LinkError) -> Bool in
            while true {
                try checkOpen()
                let remaining = deadline - MonotonicClock.seconds()
                let timedOut = LinkError(.timedOut, "\(activity) from \(peerDescription) timed out")
                let result: IOResult
                do {
                    // Polled even when the deadline has passed (a zero timeout): what already
                    // waits in the socket, an end of file included, is still seen.
                    guard try Poll.wait(socket.rawValue, for: .readable, timeout: max(0, remaining)) else {
                        if remaining <= 0 { throw timedOut }
                        continue
                    }
                    result = try TCPSocket.read(socket.rawValue, into: scratch)
                } catch let error as LinkError {
                    throw error
                } catch {
                    try checkOpen()
                    throw LinkError(.io, "\(activity) from \(peerDescription): \(error)")
                }
                switch result {
                case .wouldBlock:
                    if remaining <= 0 { throw timedOut }
                    continue
                case .transferred(0):
                    // After close() the shut-down socket reads as end of file: that is `.closed`.
                    try checkOpen()
                    return false
                case .transferred(let count):
                    engine.withLock { $0.tls.receiveCiphertext(UnsafeRawBufferPointer(rebasing: scratch[0..<count])) }
                    return true
                }
            }
        }
    }

    /// Sends whatever records the engine has made.
    private func flush(deadline: Double) throws(LinkError) {
        try sending.withLock { (buffer: inout [UInt8]) throws(LinkError) in
            engine.withLock { $0.tls.drainCiphertext(into: &buffer) }
            try send(&buffer, deadline: deadline)
        }
    }

    /// Writes all of `buffer` to the socket (called with `sending` held), then empties it. A
    /// failure leaves the stream unusable: part of a record may be out.
    private func send(_ buffer: inout [UInt8], deadline: Double) throws(LinkError) {
        defer { buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024) }
        var offset = 0
        while offset < buffer.count {
            let failure: LinkError
            do {
                let remaining = deadline - MonotonicClock.seconds()
                if remaining > 0, try Poll.wait(socket.rawValue, for: .writable, timeout: remaining),
                   case .transferred(let count) = try TCPSocket.write(socket.rawValue, buffer, from: offset) {
                    offset += count
                    continue
                }
                if deadline - MonotonicClock.seconds() > 0 { continue }
                failure = LinkError(.timedOut, "writing to \(peerDescription) timed out")
            } catch {
                failure = isClosed ? LinkError(.closed, "the connection to \(peerDescription) is closed")
                    : LinkError(.io, "writing to \(peerDescription): \(error)")
            }
            engine.withLock { state in
                if state.failure == nil {
                    state.failure = LinkError(.closed, "the connection to \(peerDescription) is unusable after: \(failure)")
                }
            }
            throw failure
        }
    }

    private func checkOpen() throws(LinkError) {
        if isClosed { throw LinkError(.closed, "the connection to \(peerDescription) is closed") }
    }
}
