import HTTP1
import Platform
import TLS

/// One TCP connection of the generator (TLS or not), owned and touched only by its event-loop
/// thread: the socket, the TLS engine, the response parser and the bytes waiting to be sent.
/// Dropping it closes the socket (which also removes it from epoll).
final class LoadConnection {
    /// What reading the socket produced.
    enum ReadOutcome {
        /// Nothing complete yet (or only TLS handshake traffic): wait for more.
        case pending
        /// A complete response.
        case response(HTTPResponseSummary)
        /// The server closed the connection; a response whose body ended with the close is
        /// given, else nil (then `receivedResponseBytes` tells whether one had begun).
        case closed(HTTPResponseSummary?)
        /// The connection cannot be used any more.
        case failed(String)
    }

    /// What a readiness event came to, for the worker that owns the connection.
    enum EventOutcome {
        /// Nothing complete yet: update the interest and wait for the next event.
        case pending
        /// A complete response; `reusable` when the connection may carry the next request.
        case response(HTTPResponseSummary, reusable: Bool)
        /// The connection cannot be used any more. `retryable` when the server closed a reused
        /// connection before any byte of its answer: the request may be sent again as it is.
        case failed(String, retryable: Bool)
    }

    /// Bytes read from the socket per read call: the size of the caller's scratch buffer.
    static let readChunk = 32 * 1024
    /// Reads per readiness event at most.
    static let readsPerEvent = 8

    let socket: FileDescriptor
    private var tls: TLSConnection?
    private let usesTLS: Bool
    private var parser: HTTPResponseParser
    /// True until the non-blocking connect has been confirmed.
    private(set) var isConnecting = true
    /// Responses completed on this connection.
    private(set) var responsesCompleted = 0
    /// Whether any byte of the current response arrived.
    private(set) var receivedResponseBytes = false

    private var output: [UInt8] = []
    private var outputOffset = 0
    private var plaintext: [UInt8] = []

    /// Starts connecting to `address`; with a TLS `context`, the server certificate must match `host`.
    /// With `captureBodies`, 2xx responses keep their body's first bytes too (a poll reads the value).
    init(address: SocketAddress, tls context: TLSContext?, host: String, captureBodies: Bool = false) throws(LoadConnectionError) {
        parser = HTTPResponseParser(captureSuccessBodies: captureBodies)
        do {
            socket = try TCPSocket.connect(to: address)
        } catch {
            throw LoadConnectionError(error.description)
        }
        usesTLS = context != nil
        if let context {
            do {
                tls = try TLSConnection(context: context, expectedHostName: host)
            } catch {
                throw LoadConnectionError(error.description)
            }
        }
    }

    /// Whether bytes wait for the socket to accept them.
    var hasPendingOutput: Bool { outputOffset < output.count }

    /// The epoll interest this connection needs now.
    var wantedInterest: EpollEvents {
        isConnecting || hasPendingOutput ? [.readable, .writable, .readHangup] : [.readable, .readHangup]
    }

    /// Queues a request and sends what the socket takes now.
    func send(_ request: [UInt8]) throws(LoadConnectionError) {
        receivedResponseBytes = false
        if usesTLS {
            do {
                try tls!.writePlaintext(request)
            } catch {
                throw LoadConnectionError(error.description)
            }
            tls!.drainCiphertext(into: &output)
        } else if output.isEmpty {
            output = request
        } else {
            output.append(contentsOf: request)
        }
        if !isConnecting { try flush() }
    }

    /// The socket became writable while connecting: confirms the connection and sends what waits.
    func finishConnecting() throws(LoadConnectionError) {
        if let error = TCPSocket.pendingError(socket.rawValue) { throw LoadConnectionError(error.description) }
        isConnecting = false
        try flush()
    }

    /// Writes queued bytes until done or the socket is full.
    func flush() throws(LoadConnectionError) {
        while outputOffset < output.count {
            let result: IOResult
            do {
                result = try TCPSocket.write(socket.rawValue, output, from: outputOffset)
            } catch {
                throw LoadConnectionError(error.description)
            }
            guard case .transferred(let n) = result else { return }
            outputOffset += n
        }
        output.removeAll(keepingCapacity: true)
        outputOffset = 0
    }

    /// Handles readiness `events`: confirms a connect, sends what waits, reads what arrived.
    /// - Parameter scratch: as for `read(using:)`.
    func handle(_ events: EpollEvents, using scratch: UnsafeMutableRawBufferPointer) -> EventOutcome {
        if isConnecting || events.contains(.writable) {
            do {
                if isConnecting { try finishConnecting() } else { try flush() }
            } catch {
                return .failed(error.message, retryable: false)
            }
        }
        guard !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) else { return .pending }
        switch read(using: scratch) {
        case .pending:
            return .pending
        case .response(let response):
            return .response(response, reusable: response.keepAlive)
        case .closed(let response?):
            return .response(response, reusable: false)
        case .closed(nil):
            return .failed("the server closed the connection before answering",
                           retryable: responsesCompleted > 0 && !receivedResponseBytes)
        case .failed(let message):
            return .failed(message, retryable: false)
        }
    }

    /// Reads what the socket has and returns the first complete response, if any.
    /// - Parameter scratch: the thread's read buffer (`readChunk` bytes), reused by every
    ///   connection of the thread; nothing in it is kept after the call.
    func read(using scratch: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        // Bounded, so that a server streaming a huge body cannot keep the loop from its deadline;
        // epoll is level-triggered and reports the rest.
        for _ in 0..<Self.readsPerEvent {
            let result: IOResult
            do {
                result = try TCPSocket.read(socket.rawValue, into: scratch)
            } catch {
                return .failed(error.description)
            }
            switch result {
            case .wouldBlock:
                return .pending
            case .transferred(0):
                return closedOutcome()
            case .transferred(let n):
                let bytes = UnsafeRawBufferPointer(rebasing: scratch[0..<n])
                let outcome = usesTLS ? decrypt(bytes) : parse(bytes)
                // A full buffer may have left bytes in the socket: read on rather than wait.
                if case .pending = outcome, n == scratch.count { continue }
                return outcome
            }
        }
        return .pending
    }

    // MARK: - Internals

    private func decrypt(_ ciphertext: UnsafeRawBufferPointer) -> ReadOutcome {
        tls!.receiveCiphertext(ciphertext)
        plaintext.removeAll(keepingCapacity: true)
        var peerClosed = false
        reading: while true {
            do {
                switch try tls!.readPlaintext(into: &plaintext) {
                case .progressed: continue
                case .wantMoreCiphertext: break reading
                case .closed:
                    peerClosed = true
                    break reading
                }
            } catch {
                return .failed(error.description)
            }
        }
        // Handshake messages (the client's Finished) and alerts go out at once.
        tls!.drainCiphertext(into: &output)
        if hasPendingOutput {
            do { try flush() } catch { return .failed(error.message) }
        }
        let outcome = plaintext.isEmpty ? .pending : plaintext.withUnsafeBytes { parse($0) }
        if peerClosed, case .pending = outcome { return closedOutcome() }
        return outcome
    }

    private func parse(_ bytes: UnsafeRawBufferPointer) -> ReadOutcome {
        receivedResponseBytes = true
        do {
            let (consumed, response) = try parser.parse(bytes)
            guard let response else { return .pending }
            guard consumed == bytes.count else { return .failed("the server sent bytes after its response") }
            responsesCompleted += 1
            receivedResponseBytes = false
            return .response(response)
        } catch {
            return .failed(error.description)
        }
    }

    private func closedOutcome() -> ReadOutcome {
        do {
            let last = try parser.finish()
            if last != nil { responsesCompleted += 1 }
            return .closed(last)
        } catch {
            return receivedResponseBytes ? .failed(error.description) : .closed(nil)
        }
    }
}

/// A connection that failed: the socket or TLS error's text.
struct LoadConnectionError: Error {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
