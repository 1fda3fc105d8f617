package import Admission

/// One client connection's lifecycle as a value: its state, the times that matter, and the
/// deadline that applies in each state. Pure (times are passed in), so every deadline is tested
/// with a fake clock (`ConnectionLifecycleTests`); the event loop performs the I/O each
/// transition and each `deadline(now:)` asks for.
///
/// Legal transitions (anything else is a bug and traps):
///
///     handshaking ──handshakeCompleted──▶ open ◀──responded(keepAlive)── awaitingResponse
///         │                                │ ──dispatched──────────────────▲      │
///         │                                ▼                                       │
///         └────────────────────▶ closingAfterFlush ◀──responded(!keepAlive)────────┘
///                                         │ startLingering
///                                         ▼
///                                     lingering ──▶ closed (from any state)
package struct ConnectionLifecycle: Sendable, Equatable {
    /// Where the connection is.
    package enum State: Sendable, Equatable {
        /// TLS handshake not finished; no plaintext yet. → open, closingAfterFlush, closed.
        case handshaking
        /// Ready to parse the next request (or reading one). → awaitingResponse,
        /// closingAfterFlush, closed.
        case open
        /// A request is with the handler; later requests stay buffered (pipelining keeps
        /// order). → open, closingAfterFlush, closed.
        case awaitingResponse
        /// A final response is queued; once the socket has taken it → lingering (or closed).
        case closingAfterFlush
        /// Our side is shut (FIN sent); what the client still sends is read and dropped for a
        /// short while, so that closing with unread input does not reset the connection and
        /// destroy the response it has not read yet (nginx's lingering close). → closed.
        case lingering
        /// Terminal.
        case closed
    }

    /// The time limits, in seconds.
    package struct Timeouts: Sendable, Equatable {
        /// From accept to a finished TLS handshake, once bytes have arrived.
        package var handshake: Double
        /// From accept to the first byte.
        package var silent: Double
        /// From a request's first byte to the end of its headers (the slowloris guard).
        package var header: Double
        /// From a request's first byte to the end of its body.
        package var request: Double
        /// A kept-alive connection with no request in progress.
        package var idle: Double
        /// A request the handler has not answered.
        package var handler: Double
        /// A lingering close.
        package var linger: Double

        package init(handshake: Double, silent: Double, header: Double, request: Double, idle: Double, handler: Double, linger: Double) {
            self.handshake = handshake
            self.silent = silent
            self.header = header
            self.request = request
            self.idle = idle
            self.handler = handler
            self.linger = linger
        }
    }

    /// What a passed deadline asks the event loop to do.
    package enum DeadlineAction: Sendable, Equatable {
        /// Nothing is due.
        case none
        /// Close the connection at once.
        case close
        /// Answer 408 Request Timeout and close (a request too slow to arrive).
        case requestTimeout
        /// Answer 500 and close (the handler never answered).
        case handlerTimeout
    }

    package private(set) var state: State = .handshaking
    package let acceptedAt: Double
    /// The last time decrypted bytes arrived or a response was queued.
    package private(set) var lastActivity: Double
    /// When the current request's first byte arrived (nil while idle).
    package private(set) var requestStartedAt: Double?
    /// When the request in flight was handed to the handler.
    package private(set) var dispatchedAt = 0.0
    /// When lingering began.
    package private(set) var lingerStartedAt = 0.0
    /// Whether the peer has sent at least one byte.
    package private(set) var receivedBytes = false

    package init(acceptedAt: Double) {
        self.acceptedAt = acceptedAt
        lastActivity = acceptedAt
    }

    // MARK: - Transitions

    /// Ciphertext arrived from the peer.
    package mutating func bytesReceived() { receivedBytes = true }

    /// Decrypted bytes arrived: activity (a trickle of partial TLS records is not).
    package mutating func plaintextReceived(now: Double) { lastActivity = now }

    /// The TLS handshake finished.
    package mutating func handshakeCompleted() {
        precondition(state == .handshaking, "handshakeCompleted in state \(state)")
        state = .open
    }

    /// After feeding the parser: a request has begun (its first byte) or none is in progress.
    package mutating func requestProgress(parserIdle: Bool, now: Double) {
        if parserIdle {
            requestStartedAt = nil
        } else if requestStartedAt == nil {
            requestStartedAt = now
        }
    }

    /// A whole request went to the handler.
    package mutating func dispatched(now: Double) {
        precondition(state == .open, "dispatched in state \(state)")
        state = .awaitingResponse
        requestStartedAt = nil
        dispatchedAt = now
    }

    /// A response was queued. `keepAlive`: the connection goes on (and the write succeeded);
    /// otherwise it closes once the response is sent.
    package mutating func responded(keepAlive: Bool, now: Double) {
        precondition(state == .open || state == .awaitingResponse || (state == .closingAfterFlush && !keepAlive),
                     "responded in state \(state)")
        lastActivity = now
        state = keepAlive ? .open : .closingAfterFlush
    }

    /// The connection is to end after what is queued (a failed read or write, the peer's
    /// close, a stop).
    package mutating func finishAfterFlush() {
        guard state != .closed && state != .lingering else { return }
        state = .closingAfterFlush
    }

    /// The final response has left and the caller shut our side down: what the peer still
    /// sends is read and dropped until it closes or the linger time passes.
    package mutating func startLingering(now: Double) {
        precondition(state == .closingAfterFlush, "startLingering in state \(state)")
        state = .lingering
        lingerStartedAt = now
    }

    /// Closed: terminal.
    package mutating func closed() { state = .closed }

    // MARK: - Deadlines

    /// What is due at `now`. `readingHeaders`: the parser is still in a request's headers
    /// (the header timeout applies rather than the request timeout).
    package func deadline(now: Double, readingHeaders: Bool, timeouts: Timeouts) -> DeadlineAction {
        switch state {
        case .handshaking:
            let limit = receivedBytes ? timeouts.handshake : min(timeouts.silent, timeouts.handshake)
            return now - acceptedAt > limit ? .close : .none
        case .open:
            if let started = requestStartedAt {
                return now - started > (readingHeaders ? timeouts.header : timeouts.request) ? .requestTimeout : .none
            }
            return now - lastActivity > timeouts.idle ? .close : .none
        case .awaitingResponse:
            return now - dispatchedAt > timeouts.handler ? .handlerTimeout : .none
        case .closingAfterFlush:
            // A peer that never reads its final response is not kept forever.
            return now - lastActivity > timeouts.request ? .close : .none
        case .lingering:
            return now - lingerStartedAt > timeouts.linger ? .close : .none
        case .closed:
            return .none
        }
    }

    // MARK: - Admission

    /// What the connection is worth to admission now (nil: busy, never given up).
    /// `parserIdle` and `hasPendingOutput` come from the connection.
    package func standing(now: Double, parserIdle: Bool, hasPendingOutput: Bool) -> ConnectionAdmission.Standing? {
        switch state {
        case .handshaking:
            if receivedBytes { return .handshaking }
            return now - acceptedAt > ConnectionAdmission.silentGrace ? .silent : .fresh
        case .open:
            return parserIdle && requestStartedAt == nil && !hasPendingOutput ? .idle : .reading
        case .awaitingResponse:
            return nil
        case .closingAfterFlush:
            return .reading
        case .lingering:
            return .lingering
        case .closed:
            return nil
        }
    }
}
