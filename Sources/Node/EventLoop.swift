import Foundation
import HTTP1
import Platform
import Synchronization
import TLS

/// One thread, one epoll instance, many connections.
///
/// The server runs one loop per core; every loop waits on the shared listening sockets
/// (EPOLLEXCLUSIVE wakes one of them per connection) and owns the connections it accepted.
/// Connection state is touched only on the loop's thread; other threads reach the loop through
/// `execute`, which queues a task and wakes the loop with an eventfd.
final class EventLoop: @unchecked Sendable {
    // Safety: every stored property below except `tasks`, `wake`, `epoll` (whose calls are
    // thread-safe) and `stopping` is read and written only on the loop's own thread, inside `run`.
    private let epoll: Epoll
    private let wake: EventFD
    private let tasks = Mutex<[@Sendable (EventLoop) -> Void]>([])
    private var localTasks: [(EventLoop) -> Void] = []
    private let stopping = Atomic<Bool>(false)

    private let index: Int
    private let listeners: [Int32]
    private let context: TLSContext
    private let handler: any RequestHandler
    private let limits: ServerLimits
    private let httpLimits: HTTPLimits
    private let connectionCount: ConnectionCounter
    private let log: Logger

    private var connections: [UInt64: Connection] = [:]
    private var nextId: UInt64 = 0
    private var thread: OSThread?

    private static let listenerTagBase: UInt64 = 1 << 62
    private static let wakeTag: UInt64 = 1 << 61
    /// Bytes read from one socket per readiness event before others get a turn.
    private static let readBudget = 256 * 1024
    private static let readChunk = 64 * 1024
    /// Deadlines are checked this often.
    private static let tickMilliseconds: Int32 = 100
    /// A lingering close lasts at most this long and drops at most this many bytes.
    private static let lingerSeconds = 2.0
    private static let lingerMaxBytes = 4 * 1024 * 1024
    private var lastDeadlineCheck = 0.0

    init(index: Int, listeners: [Int32], context: TLSContext, handler: any RequestHandler, limits: ServerLimits,
         connectionCount: ConnectionCounter, log: Logger) throws(Errno) {
        self.index = index
        self.listeners = listeners
        self.context = context
        self.handler = handler
        self.limits = limits
        self.httpLimits = HTTPLimits(maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes)
        self.connectionCount = connectionCount
        self.log = log
        epoll = try Epoll()
        wake = try EventFD()
        try epoll.add(wake.rawValue, events: .readable, tag: Self.wakeTag)
        for (i, fd) in listeners.enumerated() {
            try epoll.add(fd, events: [.readable, .exclusive], tag: Self.listenerTagBase + UInt64(i))
        }
    }

    func start() throws(Errno) {
        thread = try OSThread.start(name: "loop-\(index)") { [self] in run() }
    }

    /// Asks the loop to stop accepting, finish the responses in flight (up to `grace` seconds)
    /// and exit. Returns at once; `join` waits.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }

    func join() { thread?.join() }

    /// Runs `task` on the loop's thread.
    func execute(_ task: @escaping @Sendable (EventLoop) -> Void) {
        tasks.withLock { $0.append(task) }
        wake.signal()
    }

    // MARK: - The loop

    private func run() {
        var events: [(tag: UInt64, events: EpollEvents)] = []
        var stopDeadline: Double?
        while true {
            let timeout: Int32 = localTasks.isEmpty ? Self.tickMilliseconds : 0
            do {
                try epoll.wait(timeoutMilliseconds: timeout, into: &events)
            } catch {
                log.error("event loop \(index): \(error)")
                continue
            }
            for event in events {
                switch event.tag {
                case Self.wakeTag:
                    wake.drain()
                case Self.listenerTagBase...:
                    if stopDeadline == nil { acceptAll(listener: listeners[Int(event.tag - Self.listenerTagBase)]) }
                default:
                    if let connection = connections[event.tag] { service(connection, events: event.events) }
                }
                runLocalTasks()
            }
            for task in tasks.withLock({ queued -> [@Sendable (EventLoop) -> Void] in defer { queued.removeAll() }; return queued }) {
                task(self)
                runLocalTasks()
            }
            let now = Self.now()
            checkDeadlines(now: now)
            if stopping.load(ordering: .acquiring) {
                if stopDeadline == nil {
                    stopDeadline = now + 5
                    for fd in listeners { epoll.remove(fd) }
                    // Idle connections go now; ones with a request in flight close after answering.
                    for connection in connections.values where connection.state != .awaitingResponse {
                        close(connection)
                    }
                }
                if connections.isEmpty || now > stopDeadline! {
                    for connection in connections.values { close(connection) }
                    return
                }
            }
        }
    }

    private func runLocalTasks() {
        while !localTasks.isEmpty {
            let batch = localTasks
            localTasks.removeAll()
            for task in batch { task(self) }
        }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    // MARK: - Accepting

    private func acceptAll(listener: Int32) {
        // Bounded: at most 64 accepts per wake-up, so one loop cannot starve its connections.
        for _ in 0..<64 {
            let accepted: AcceptedSocket?
            do {
                accepted = try TCPSocket.accept(listener)
            } catch {
                // EMFILE/ENFILE/ENOBUFS: leave the connection in the backlog and try later.
                log.error("accept: \(error)")
                return
            }
            guard let accepted else { return }
            guard connectionCount.tryIncrement(limit: limits.maxConnections) else {
                accepted.takeDescriptor().close()
                continue
            }
            register(accepted)
        }
    }

    private func register(_ accepted: consuming AcceptedSocket) {
        let peer = accepted.peer
        let socket = accepted.takeDescriptor()
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: context)
        } catch {
            log.error("TLS session: \(error)")
            socket.close()
            connectionCount.decrement()
            return
        }
        nextId += 1
        let connection = Connection(id: nextId, socket: socket, tls: tls, limits: httpLimits,
                                    info: ConnectionInfo(peer: peer, tlsVersion: nil), now: Self.now())
        connections[connection.id] = connection
        do {
            try epoll.add(connection.socket.rawValue, events: [.readable, .readHangup], tag: connection.id)
            connection.registeredInterest = [.readable, .readHangup]
        } catch {
            log.error("epoll add: \(error)")
            close(connection)
        }
    }

    // MARK: - Servicing a connection

    private func service(_ connection: Connection, events: EpollEvents) {
        if connection.state == .awaitingResponse && (events.contains(.hangup) || events.contains(.error)) {
            // The client is gone; its response, when it comes, is dropped.
            close(connection)
            return
        }
        if events.contains(.writable) || events.contains(.error) || events.contains(.hangup) {
            flush(connection)
        }
        if connection.state != .closed && (events.contains(.readable) || events.contains(.readHangup) || events.contains(.hangup)) {
            readAndProcess(connection)
        }
        if connection.state != .closed { updateInterest(connection) }
    }

    /// Reads and drops what a client sends after its final response; closes at EOF or a bound.
    private func discardLingeringInput(_ connection: Connection) {
        for _ in 0..<16 {
            connection.readBuffer.removeAll(keepingCapacity: true)
            guard let result = try? TCPSocket.read(connection.socket.rawValue, into: &connection.readBuffer, maxBytes: Self.readChunk),
                  case .transferred(let n) = result else { return }
            connection.lingerDiscarded += n
            if n == 0 || connection.lingerDiscarded > Self.lingerMaxBytes {
                close(connection)
                return
            }
        }
    }

    private func readAndProcess(_ connection: Connection) {
        if connection.state == .lingering {
            discardLingeringInput(connection)
            return
        }
        var total = 0
        while total < Self.readBudget && !connection.peerClosed && wantsInput(connection) {
            connection.readBuffer.removeAll(keepingCapacity: true)
            let result: IOResult
            do {
                result = try TCPSocket.read(connection.socket.rawValue, into: &connection.readBuffer, maxBytes: Self.readChunk)
            } catch {
                close(connection)
                return
            }
            switch result {
            case .wouldBlock:
                total = Self.readBudget
            case .transferred(0):
                connection.peerClosed = true
            case .transferred(let n):
                total += n
                connection.lastActivity = Self.now()
                connection.tls.receiveCiphertext(connection.readBuffer)
            }
        }
        processInput(connection)
        if connection.state == .closed { return }
        flush(connection)
        if connection.peerClosed && connection.state != .closed && connection.state != .awaitingResponse && !connection.hasPendingOutput {
            close(connection)
        }
    }

    /// Whether reading more is useful: not when closing, nor when the parser already buffers a
    /// whole maximal request (backpressure against a pipelining client).
    private func wantsInput(_ connection: Connection) -> Bool {
        guard connection.state != .closingAfterFlush && connection.state != .lingering && connection.state != .closed else { return false }
        return connection.parser.bufferedByteCount < limits.maxHeaderBytes + limits.maxBodyBytes + Self.readChunk
            && connection.output.count - connection.outputOffset < 4 * 1024 * 1024
    }

    /// Decrypts what arrived, feeds the parser and dispatches the next request if none is in flight.
    private func processInput(_ connection: Connection) {
        while true {
            let status: TLSReadStatus
            do {
                connection.plaintext.removeAll(keepingCapacity: true)
                status = try connection.tls.readPlaintext(into: &connection.plaintext)
            } catch {
                // A failed handshake or a corrupt record: send the alert OpenSSL queued, then go.
                connection.state = .closingAfterFlush
                flush(connection)
                return
            }
            switch status {
            case .progressed:
                connection.parser.append(connection.plaintext)
                continue
            case .wantMoreCiphertext:
                break
            case .closed:
                connection.peerClosed = true
            }
            break
        }
        if connection.state == .handshaking && connection.tls.isHandshakeComplete {
            connection.state = .open
        }
        dispatchRequests(connection)
    }

    private func dispatchRequests(_ connection: Connection) {
        while connection.state == .open {
            let event: HTTPParserEvent?
            do {
                event = try connection.parser.next()
            } catch {
                respond(connection, with: errorResponse(status: error.status, reason: error.reason), keepAlive: false)
                return
            }
            trackRequestStart(connection)
            guard let event else { return }
            switch event {
            case .expectContinue:
                write(connection, HTTPResponse.continueBytes)
            case .request(let request):
                connection.state = .awaitingResponse
                connection.keepAliveAfterResponse = request.keepAlive
                connection.requestStartedAt = nil
                let id = connection.id
                let loopThread = thread
                handler.handle(request, connection: connection.info) { [self] response in
                    if loopThread?.isCurrent == true {
                        // Answered synchronously on this thread: finish after the dispatch returns.
                        self.localTasks.append { loop in loop.complete(connectionId: id, response: response) }
                    } else {
                        self.execute { loop in loop.complete(connectionId: id, response: response) }
                    }
                }
            }
        }
    }

    private func trackRequestStart(_ connection: Connection) {
        if connection.parser.isIdle {
            connection.requestStartedAt = nil
        } else if connection.requestStartedAt == nil {
            connection.requestStartedAt = Self.now()
        }
    }

    private func complete(connectionId: UInt64, response: HTTPResponse) {
        guard let connection = connections[connectionId], connection.state == .awaitingResponse else { return }
        let keepAlive = connection.keepAliveAfterResponse && !stopping.load(ordering: .relaxed)
        respond(connection, with: response, keepAlive: keepAlive)
        if connection.state == .open {
            dispatchRequests(connection)
        }
        flush(connection)
        if connection.state != .closed { updateInterest(connection) }
    }

    private func respond(_ connection: Connection, with response: HTTPResponse, keepAlive: Bool) {
        var response = response
        response.headers.append((name: "Date", value: HTTPDate.now()))
        write(connection, response.serialized(keepAlive: keepAlive))
        if !keepAlive { connection.tls.shutdown() }
        connection.state = keepAlive ? .open : .closingAfterFlush
        connection.lastActivity = Self.now()
    }

    private func errorResponse(status: Int, reason: String) -> HTTPResponse {
        let body = Array("{\"message\":\"\(reason.replacingOccurrences(of: "\"", with: "'"))\"}".utf8)
        return HTTPResponse(status: status, headers: [(name: "Content-Type", value: "application/json")], body: body)
    }

    private func write(_ connection: Connection, _ plaintext: [UInt8]) {
        do {
            try connection.tls.writePlaintext(plaintext)
        } catch {
            connection.state = .closingAfterFlush
        }
    }

    /// Moves TLS output to the socket; closes when a final response has left.
    private func flush(_ connection: Connection) {
        guard connection.state != .closed else { return }
        if connection.outputOffset == connection.output.count {
            connection.output.removeAll(keepingCapacity: true)
            connection.outputOffset = 0
        }
        connection.tls.drainCiphertext(into: &connection.output)
        while connection.hasPendingOutput {
            let result: IOResult
            do {
                result = try TCPSocket.write(connection.socket.rawValue, connection.output, from: connection.outputOffset)
            } catch {
                close(connection)
                return
            }
            guard case .transferred(let n) = result else { break }
            connection.outputOffset += n
        }
        if !connection.hasPendingOutput {
            connection.output.removeAll(keepingCapacity: true)
            connection.outputOffset = 0
            if connection.state == .closingAfterFlush { beginLingering(connection) }
        }
    }

    private func beginLingering(_ connection: Connection) {
        if connection.peerClosed {
            close(connection)
            return
        }
        TCPSocket.shutdownWrite(connection.socket.rawValue)
        connection.state = .lingering
        connection.lingerStartedAt = Self.now()
        updateInterest(connection)
    }

    private func updateInterest(_ connection: Connection) {
        var interest: EpollEvents = []
        if connection.state == .lingering { interest = [.readable, .readHangup] }
        if wantsInput(connection) && !connection.peerClosed { interest.formUnion([.readable, .readHangup]) }
        if connection.hasPendingOutput { interest.insert(.writable) }
        guard interest != connection.registeredInterest else { return }
        do {
            try epoll.modify(connection.socket.rawValue, events: interest, tag: connection.id)
            connection.registeredInterest = interest
        } catch {
            close(connection)
        }
    }

    private func close(_ connection: Connection) {
        guard connection.state != .closed else { return }
        connection.state = .closed
        epoll.remove(connection.socket.rawValue)
        connections[connection.id] = nil
        connectionCount.decrement()
        // The descriptor and the TLS session are released with the Connection object.
    }

    // MARK: - Deadlines

    private func checkDeadlines(now: Double) {
        guard now - lastDeadlineCheck >= Double(Self.tickMilliseconds) / 1000 else { return }
        lastDeadlineCheck = now
        for connection in Array(connections.values) {
            switch connection.state {
            case .handshaking:
                if now - connection.acceptedAt > limits.handshakeTimeout { close(connection) }
            case .open:
                if let started = connection.requestStartedAt {
                    let limit = connection.parser.isReadingHeaders ? limits.headerTimeout : limits.requestTimeout
                    if now - started > limit {
                        respond(connection, with: errorResponse(status: 408, reason: "Request Timeout"), keepAlive: false)
                        flush(connection)
                        if connection.state != .closed { updateInterest(connection) }
                    }
                } else if now - connection.lastActivity > limits.idleTimeout {
                    close(connection)
                }
            case .closingAfterFlush:
                // A peer that never reads its final response is not kept forever.
                if now - connection.lastActivity > limits.requestTimeout { close(connection) }
            case .lingering:
                if now - connection.lingerStartedAt > Self.lingerSeconds { close(connection) }
            case .awaitingResponse, .closed:
                break
            }
        }
    }
}

/// Open connections across all loops, bounded by `ServerLimits.maxConnections`.
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)

    func tryIncrement(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func decrement() { count.subtract(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
