import Foundation
import HTTP1
package import Platform
package import Synchronization
package import TLS
import Admission
package import Configuration
package import Logging

/// One thread, one epoll instance, many connections.
///
/// The server runs one loop per core; every loop waits on the shared listening sockets
/// (EPOLLEXCLUSIVE wakes one of them per connection) and owns the connections it accepted.
/// Connection state is touched only on the loop's thread; other threads reach the loop through
/// `execute`, which queues a task and wakes the loop with an eventfd.
package final class EventLoop: @unchecked Sendable {
    // Safety: every stored `var` below is read and written only on the loop's own thread, inside
    // `run` and what it calls. `tasks` is behind a Mutex, `stopping` is atomic, and the epoll and
    // eventfd calls used from other threads (`signal`) are thread-safe system calls.
    private let epoll: Epoll
    private let wake: EventFD
    private let tasks = Mutex<[@Sendable (EventLoop) -> Void]>([])
    private var localTasks: [(EventLoop) -> Void] = []
    private let stopping = Atomic<Bool>(false)
    /// The loop's one read buffer, reused by every read of every connection: reading into a
    /// fresh (zero-filled) array cost a 64 KiB memset per read. Used only on the loop's thread
    /// and only between a read and the hand-over of its bytes to the connection's TLS engine.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.readChunk, alignment: 16)

    private let index: Int
    private let listeners: [Int32]
    private let context: TLSContext
    private let handler: any RequestHandler
    private let limits: ServerLimits
    /// The deadlines of `ConnectionLifecycle`, from the limits and this loop's constants.
    private let timeouts: ConnectionLifecycle.Timeouts
    private let httpLimits: HTTPLimits
    private let connectionCount: ConnectionCounter
    private let log: Logger
    private let thread = Mutex<OSThread?>(nil)
    /// This loop's open connections, read by the other loops to balance new ones.
    package let load = Atomic<Int>(0)
    /// The server's other loops, set once before they start; weak, so that loops do not keep
    /// each other alive.
    private let siblings = Mutex<[WeakLoop]>([])
    package struct WeakLoop: Sendable {
        package weak var loop: EventLoop?
    }

    private var connections: [UInt64: Connection] = [:]
    /// Which connection to give up for a new one at a limit (this loop's share of the limits).
    private var admission: ConnectionAdmission
    /// `siblings`, copied once on the loop's thread.
    private var siblingsCache: [WeakLoop] = []
    private var nextId: UInt64 = 0
    private var loopThread: ThreadID?
    /// Work handlers leave to the end of each pass (made on the loop's thread).
    private var pass: LoopPass?
    /// Set when accept failed for lack of descriptors or memory: listening resumes after it.
    private var acceptPausedUntil: Double?
    private var lastAcceptErrorLog = 0.0
    private var lastDeadlineCheck = 0.0
    private var dateCache: (second: Int, text: String) = (-1, "")

    private static let listenerTagBase: UInt64 = 1 << 62
    private static let wakeTag: UInt64 = 1 << 61
    /// Bytes read from one socket per readiness event before others get a turn.
    private static let readBudget = 256 * 1024
    private static let readChunk = 64 * 1024
    /// Responses are produced for pipelined requests only while less than this waits for the socket.
    private static let maxPendingOutput = 256 * 1024
    /// Buffers that grew past this are released when emptied.
    private static let keptBufferCapacity = 64 * 1024
    /// Deadlines are checked this often.
    private static let tickMilliseconds: Int32 = 100
    /// A lingering close lasts at most this long and drops at most this many bytes.
    private static let lingerSeconds = 2.0
    private static let lingerMaxBytes = 4 * 1024 * 1024
    /// How long accepting pauses after EMFILE/ENFILE/ENOBUFS/ENOMEM.
    private static let acceptPauseSeconds = 0.1
    /// A request whose handler has not answered by then is answered 500 and the connection closed.
    private static let handlerTimeoutSeconds = 120.0
    /// On stop, connections get this long to finish what they are doing (by default).
    package static let stopGraceSeconds = 5.0
    /// The grace of the stop asked for (``stop(grace:)``).
    private let stopGrace = Atomic<Double>(EventLoop.stopGraceSeconds)

    deinit {
        scratch.deallocate()
    }

    package init(index: Int, loopCount: Int = 1, listeners: [Int32], context: TLSContext, handler: any RequestHandler, limits: ServerLimits,
         connectionCount: ConnectionCounter, log: Logger) throws(Errno) {
        self.index = index
        // Each loop holds about 1/loopCount of the connections (new ones go to the loop with
        // the fewest), so it enforces that share of the limits on unfinished handshakes.
        let loops = max(1, loopCount)
        admission = ConnectionAdmission(limits: .init(
            maxConnections: nil,
            maxUnfinished: max(1, (limits.maxUnfinishedConnections + loops - 1) / loops),
            maxUnfinishedPerAddress: max(1, (limits.maxUnfinishedPerAddress + loops - 1) / loops)
        ))
        self.listeners = listeners
        self.context = context
        self.handler = handler
        self.limits = limits
        timeouts = ConnectionLifecycle.Timeouts(
            handshake: limits.handshakeTimeout, silent: limits.silentTimeout, header: limits.headerTimeout,
            request: limits.requestTimeout, idle: limits.idleTimeout, handler: Self.handlerTimeoutSeconds,
            linger: Self.lingerSeconds
        )
        self.httpLimits = HTTPLimits(maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes)
        self.connectionCount = connectionCount
        self.log = log
        epoll = try Epoll()
        wake = try EventFD()
        try epoll.add(wake.rawValue, events: .readable, tag: Self.wakeTag)
        try watchListeners()
    }

    private func watchListeners() throws(Errno) {
        for (i, fd) in listeners.enumerated() {
            try epoll.add(fd, events: [.readable, .exclusive], tag: Self.listenerTagBase + UInt64(i))
        }
    }

    private func unwatchListeners() {
        for fd in listeners { epoll.remove(fd) }
    }

    /// The loops a new connection may be handed to (the server's, this one included).
    package func setSiblings(_ loops: [EventLoop]) {
        siblings.withLock { $0 = loops.filter { $0 !== self }.map { WeakLoop(loop: $0) } }
    }

    package func start() throws(Errno) {
        let started = try OSThread.start(name: "loop-\(index)") { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// Asks the loop to stop accepting, finish the responses in flight (up to `grace` seconds,
    /// 5 by default) and exit.
    /// Returns at once; `join` waits.
    package func stop(grace: Double = EventLoop.stopGraceSeconds) {
        stopGrace.store(grace, ordering: .relaxed)
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }

    package func join() { thread.withLock { $0 }?.join() }

    /// Runs `task` on the loop's thread.
    package func execute(_ task: @escaping @Sendable (EventLoop) -> Void) {
        tasks.withLock { $0.append(task) }
        wake.signal()
    }

    // MARK: - The loop

    private func run() {
        loopThread = ThreadID.current
        pass = LoopPass(owner: ThreadID.current)
        siblingsCache = siblings.withLock { $0 }
        var events: [(tag: UInt64, events: EpollEvents)] = []
        var stopDeadline: Double?
        while true {
            let timeout: Int32 = localTasks.isEmpty ? Self.tickMilliseconds : 0
            do {
                try epoll.wait(timeoutMilliseconds: timeout, into: &events)
            } catch {
                // epoll_wait fails only for programming errors (EINVAL); do not spin past a stop.
                log.error("event loop \(index): \(error)")
                events.removeAll()
                if stopping.load(ordering: .acquiring) { closeAllAndExit(); return }
            }
            for event in events {
                switch event.tag {
                case Self.wakeTag:
                    wake.drain()
                case Self.listenerTagBase...:
                    if stopDeadline == nil && acceptPausedUntil == nil {
                        acceptAll(listener: listeners[Int(event.tag - Self.listenerTagBase)])
                    }
                default:
                    if let connection = connections[event.tag] { service(connection, events: event.events) }
                }
                runLocalTasks()
            }
            endPass()
            for task in tasks.withLock({ queued -> [@Sendable (EventLoop) -> Void] in defer { queued.removeAll() }; return queued }) {
                task(self)
                runLocalTasks()
            }
            endPass()
            let now = Self.now()
            if let until = acceptPausedUntil, now >= until, stopDeadline == nil {
                acceptPausedUntil = nil
                do { try watchListeners() } catch { acceptPausedUntil = now + Self.acceptPauseSeconds }
            }
            checkDeadlines(now: now)
            if stopping.load(ordering: .acquiring) {
                if stopDeadline == nil {
                    stopDeadline = now + stopGrace.load(ordering: .relaxed)
                    if acceptPausedUntil == nil { unwatchListeners() }
                    beginStopping()
                }
                if connections.isEmpty || now > stopDeadline! {
                    closeAllAndExit()
                    return
                }
            }
        }
    }

    /// Idle connections close now; responses being written finish; requests in flight get
    /// answered with `Connection: close`.
    private func beginStopping() {
        for connection in Array(connections.values) {
            switch connection.state {
            case .handshaking:
                close(connection)
            case .open:
                if connection.hasPendingOutput || !connection.parser.isIdle {
                    finishAfterFlush(connection)
                } else {
                    close(connection)
                }
            case .awaitingResponse, .closingAfterFlush, .lingering, .closed:
                break
            }
        }
    }

    private func closeAllAndExit() {
        // Connections another loop handed over just before the stop are registered, then closed
        // with the rest, rather than left unowned in the queue.
        for task in tasks.withLock({ queued -> [@Sendable (EventLoop) -> Void] in defer { queued.removeAll() }; return queued }) {
            task(self)
        }
        runLocalTasks()
        endPass()
        for connection in Array(connections.values) { close(connection) }
    }

    /// The pass's hooks (the audit records of its requests written together), then the answers
    /// they released, until neither is left.
    private func endPass() {
        while pass?.runHooks() == true { runLocalTasks() }
    }

    private func runLocalTasks() {
        while !localTasks.isEmpty {
            let batch = localTasks
            localTasks.removeAll()
            for task in batch { task(self) }
        }
    }

    package static func now() -> Double { MonotonicClock.seconds() }

    // MARK: - Accepting

    private func acceptAll(listener: Int32) {
        // Bounded: at most 64 accepts per wake-up, so one loop cannot starve its connections.
        for _ in 0..<64 {
            let accepted: AcceptedSocket?
            do {
                accepted = try TCPSocket.accept(listener)
            } catch {
                // EMFILE/ENFILE/ENOBUFS/ENOMEM: the connection stays in the backlog and the
                // level-triggered listener stays readable; stop watching it for a moment rather
                // than spin, and log at most once a second.
                let now = Self.now()
                if now - lastAcceptErrorLog > 1 {
                    log.error("accept: \(error); pausing accepts for \(Int(Self.acceptPauseSeconds * 1000)) ms")
                    lastAcceptErrorLog = now
                }
                unwatchListeners()
                acceptPausedUntil = now + Self.acceptPauseSeconds
                return
            }
            guard let accepted else { return }
            guard connectionCount.tryIncrement(limit: limits.maxConnections) || makeRoom() else {
                log.repeated("refused connections: all \(limits.maxConnections) busy with requests",
                             "refused a connection from \(accepted.peer.map(\.description) ?? "?"): all \(limits.maxConnections) connections are busy with requests")
                accepted.takeDescriptor().close()
                continue
            }
            // EPOLLEXCLUSIVE wakes one loop, which takes the whole backlog: a burst of new
            // connections landed on one loop while the other idled. Each goes to the loop with
            // the fewest, this one on a tie.
            // Not while stopping: a loop that has exited would never run the hand-over.
            let mine = load.load(ordering: .relaxed)
            if !stopping.load(ordering: .acquiring),
               let target = siblingsCache.compactMap(\.loop).min(by: { $0.load.load(ordering: .relaxed) < $1.load.load(ordering: .relaxed) }),
               target.load.load(ordering: .relaxed) < mine, !target.stopping.load(ordering: .acquiring) {
                let peer = accepted.peer
                let raw = accepted.takeDescriptor().releaseOwnership()
                target.load.add(1, ordering: .relaxed)  // counted now, so the next choice sees it
                target.execute { loop in loop.register(FileDescriptor(owning: raw), peer: peer, counted: true) }
                continue
            }
            let peer = accepted.peer
            register(accepted.takeDescriptor(), peer: peer, counted: false)
        }
    }

    /// At the connection limit: gives up this loop's least valuable connection (see
    /// `ConnectionAdmission`) and takes its slot. False when every one is busy with a request.
    private func makeRoom() -> Bool {
        while let victim = admission.victimForCapacity() {
            guard let connection = connections[victim] else {
                admission.remove(victim)
                continue
            }
            evict(connection, reason: "the server is at its \(limits.maxConnections) connections")
            if connectionCount.tryIncrement(limit: limits.maxConnections) { return true }
        }
        return false
    }

    /// Closes a connection to make room for a new one, logged once per 10 s per reason.
    private func evict(_ connection: Connection, reason: String) {
        let standing = admission.standing(of: connection.id).map { "\($0)" } ?? "busy"
        log.repeated("gave up connections for newer ones: \(reason)",
                     "gave up a \(standing) connection from \(connection.info.peer.map(\.description) ?? "?") for a newer one: \(reason)")
        close(connection)
    }

    /// Takes a connected socket into this loop. `counted`: `load` already includes it.
    private func register(_ socket: consuming FileDescriptor, peer: SocketAddress?, counted: Bool) {
        if !counted { load.add(1, ordering: .relaxed) }
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: context)
        } catch {
            log.error("TLS session: \(error)")
            socket.close()
            connectionCount.decrement()
            load.subtract(1, ordering: .relaxed)
            return
        }
        nextId += 1
        let connection = Connection(id: nextId, socket: socket, tls: tls, limits: httpLimits,
                                    info: ConnectionInfo(peer: peer), now: Self.now())
        switch admission.decide(address: connection.sourceAddress) {
        case .admitEvicting(let victim):
            if let old = connections[victim] {
                evict(old, reason: "too many unfinished TLS handshakes (from \(connection.sourceAddress), or in all)")
            } else {
                admission.remove(victim)
            }
        case .admit, .refuse:
            // `refuse` needs a total, which this loop leaves to the shared counter.
            break
        }
        connections[connection.id] = connection
        admission.add(connection.id, address: connection.sourceAddress)
        do {
            try epoll.add(connection.socket.rawValue, events: [.readable, .readHangup], tag: connection.id)
            connection.registeredInterest = [.readable, .readHangup]
        } catch {
            log.error("epoll add: \(error)")
            close(connection)
            return
        }
        // The ClientHello usually arrived with the connection: take it now rather than a
        // wake-up later. That saves a round through epoll, and a real client is no longer
        // `fresh` (the first to be given up among unfinished handshakes) while a burst of
        // new connections from its address is accepted ahead of its first read.
        service(connection, events: .readable)
    }

    // MARK: - Servicing a connection

    private func service(_ connection: Connection, events: EpollEvents) {
        let failed = events.contains(.hangup) || events.contains(.error)
        if connection.state == .awaitingResponse && failed {
            // The client is gone; its response, when it comes, is dropped.
            close(connection)
            return
        }
        if events.contains(.writable) || failed {
            flush(connection)
        }
        if connection.state != .closed && (events.contains(.readable) || events.contains(.readHangup) || failed) {
            readAndProcess(connection)
        }
        settle(connection)
    }

    /// After any progress: produce answers the output room now allows, close a connection whose
    /// peer has finished, and register the interest that matches the state.
    private func settle(_ connection: Connection) {
        guard connection.state != .closed else { return }
        if connection.state == .open && connection.parser.bufferedByteCount > 0 {
            dispatchRequests(connection)
            flush(connection)
        }
        if connection.peerClosed && connection.state == .open {
            // The client sent FIN or close_notify and every complete request was answered.
            finishAfterFlush(connection)
        }
        if connection.state != .closed {
            updateInterest(connection)
            updateStanding(connection)
        }
    }

    /// Tells admission what the connection is worth now (after any change of state).
    private func updateStanding(_ connection: Connection) {
        guard connection.state != .closed else { return }
        let standing = connection.lifecycle.standing(now: Self.now(), parserIdle: connection.parser.isIdle,
                                                     hasPendingOutput: connection.hasPendingOutput)
        admission.update(connection.id, to: standing)
    }

    /// Reads and drops what a client sends after its final response; closes at EOF, error or a bound.
    private func discardLingeringInput(_ connection: Connection) {
        for _ in 0..<16 {
            guard let result = readOnce(connection) else { return }
            guard case .transferred(let n) = result else { return }
            connection.lingerDiscarded += n
            if n == 0 || connection.lingerDiscarded > Self.lingerMaxBytes {
                close(connection)
                return
            }
        }
    }

    /// One read into the loop's scratch buffer (its first `n` bytes hold what was read); nil
    /// when the socket failed (it is closed).
    private func readOnce(_ connection: Connection) -> IOResult? {
        do {
            return try TCPSocket.read(connection.socket.rawValue, into: scratch)
        } catch {
            close(connection)
            return nil
        }
    }

    private func readAndProcess(_ connection: Connection) {
        if connection.state == .lingering {
            discardLingeringInput(connection)
            return
        }
        var total = 0
        while total < Self.readBudget && !connection.peerClosed && wantsInput(connection) {
            guard let result = readOnce(connection) else { return }
            switch result {
            case .wouldBlock:
                total = Self.readBudget
            case .transferred(0):
                connection.peerClosed = true
            case .transferred(let n):
                total += n
                connection.lifecycle.bytesReceived()
                connection.tls.receiveCiphertext(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                // A short read drained the socket: the next read would only say EAGAIN (a
                // system call per request). Epoll is level-triggered, so bytes that arrive
                // meanwhile wake the loop again.
                if n < Self.readChunk { total = Self.readBudget }
            }
        }
        processInput(connection)
        if connection.state == .closed { return }
        flush(connection)
        if connection.peerClosed && (connection.state == .handshaking || connection.state == .closingAfterFlush) {
            close(connection)
        }
    }

    /// Whether reading more is useful: not when closing, nor when the parser already buffers a
    /// whole maximal request or answers wait for the socket (backpressure).
    private func wantsInput(_ connection: Connection) -> Bool {
        switch connection.state {
        case .closingAfterFlush, .lingering, .closed: return false
        case .handshaking, .open, .awaitingResponse: break
        }
        return connection.parser.bufferedByteCount < limits.maxHeaderBytes + limits.maxBodyBytes + Self.readChunk
            && connection.pendingOutputCount < Self.maxPendingOutput
    }

    /// Decrypts what arrived, feeds the parser and dispatches the next request if none is in flight.
    private func processInput(_ connection: Connection) {
        readLoop: while true {
            let status: TLSReadStatus
            do {
                connection.plaintext.removeAll(keepingCapacity: true)
                status = try connection.tls.readPlaintext(into: &connection.plaintext)
            } catch {
                // A failed handshake or a corrupt record: send the alert OpenSSL queued, then go.
                connection.lifecycle.finishAfterFlush()
                flush(connection)
                return
            }
            switch status {
            case .progressed:
                // Only decrypted bytes count as activity: a trickle of partial TLS records does
                // not keep a connection alive.
                connection.lifecycle.plaintextReceived(now: Self.now())
                connection.parser.append(connection.plaintext)
            case .wantMoreCiphertext:
                break readLoop
            case .closed:
                connection.peerClosed = true
                break readLoop
            }
        }
        if connection.plaintext.capacity > Self.keptBufferCapacity { connection.plaintext = [] }
        if connection.state == .handshaking && connection.tls.isHandshakeComplete {
            connection.lifecycle.handshakeCompleted()
        }
        dispatchRequests(connection)
    }

    private func dispatchRequests(_ connection: Connection) {
        while connection.state == .open && connection.pendingOutputCount < Self.maxPendingOutput {
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
                _ = write(connection, HTTPResponse.continueBytes)
            case .request(let request):
                connection.lifecycle.dispatched(now: Self.now())
                connection.keepAliveAfterResponse = request.keepAlive
                connection.requestSerial &+= 1
                let id = connection.id, serial = connection.requestSerial
                let owner = loopThread
                var info = connection.info
                info.pass = pass
                handler.handle(request, connection: info) { [self] response in
                    if let owner, owner == ThreadID.current {
                        // Answered synchronously on this thread: finish after the dispatch returns.
                        self.localTasks.append { loop in loop.complete(connectionId: id, serial: serial, response: response) }
                    } else {
                        self.execute { loop in loop.complete(connectionId: id, serial: serial, response: response) }
                    }
                }
            }
        }
    }

    private func trackRequestStart(_ connection: Connection) {
        connection.lifecycle.requestProgress(parserIdle: connection.parser.isIdle, now: Self.now())
    }

    private func complete(connectionId: UInt64, serial: UInt64, response: HTTPResponse) {
        // A late or repeated answer for an earlier request is dropped: it must never be taken
        // for the answer to the request after it.
        guard let connection = connections[connectionId], connection.state == .awaitingResponse,
              connection.requestSerial == serial else { return }
        let keepAlive = connection.keepAliveAfterResponse && !stopping.load(ordering: .relaxed)
        respond(connection, with: response, keepAlive: keepAlive)
        flush(connection)
        settle(connection)
    }

    private func respond(_ connection: Connection, with response: HTTPResponse, keepAlive: Bool) {
        var response = response
        response.headers.append((name: "Date", value: currentHTTPDate()))
        let written = write(connection, response.serialized(keepAlive: keepAlive))
        if !(keepAlive && written) { connection.tls.shutdown() }
        connection.lifecycle.responded(keepAlive: keepAlive && written, now: Self.now())
    }

    /// The `Date` header's text, formatted once a second rather than per response.
    private func currentHTTPDate() -> String {
        let second = Int(Date().timeIntervalSince1970)
        if second != dateCache.second { dateCache = (second, HTTPDate.format(epochSeconds: second)) }
        return dateCache.text
    }

    /// Ends the connection politely once what is queued has been sent.
    private func finishAfterFlush(_ connection: Connection) {
        connection.tls.shutdown()
        connection.lifecycle.finishAfterFlush()
        flush(connection)
    }

    private func errorResponse(status: Int, reason: String) -> HTTPResponse {
        let body = Array("{\"message\":\"\(reason.replacingOccurrences(of: "\"", with: "'"))\"}".utf8)
        return HTTPResponse(status: status, headers: [(name: "Content-Type", value: "application/json")], body: body)
    }

    /// Encrypts `plaintext` for the peer; false when the TLS session can no longer send.
    private func write(_ connection: Connection, _ plaintext: [UInt8]) -> Bool {
        do {
            try connection.tls.writePlaintext(plaintext)
            return true
        } catch {
            connection.lifecycle.finishAfterFlush()
            return false
        }
    }

    /// Moves TLS output to the socket; after a final response, begins the lingering close.
    private func flush(_ connection: Connection) {
        guard connection.state != .closed else { return }
        if !connection.hasPendingOutput {
            connection.output.removeAll(keepingCapacity: connection.output.capacity <= Self.keptBufferCapacity)
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
            connection.output.removeAll(keepingCapacity: connection.output.capacity <= Self.keptBufferCapacity)
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
        connection.lifecycle.startLingering(now: Self.now())
        updateInterest(connection)
    }

    private func updateInterest(_ connection: Connection) {
        var interest: EpollEvents = []
        if connection.state == .lingering {
            interest = [.readable, .readHangup]
        } else if wantsInput(connection) && !connection.peerClosed {
            interest = [.readable, .readHangup]
        }
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
        connection.lifecycle.closed()
        epoll.remove(connection.socket.rawValue)
        connections[connection.id] = nil
        admission.remove(connection.id)
        connectionCount.decrement()
        load.subtract(1, ordering: .relaxed)
        // The descriptor and the TLS session are released with the Connection object.
    }

    // MARK: - Deadlines

    private func checkDeadlines(now: Double) {
        guard now - lastDeadlineCheck >= Double(Self.tickMilliseconds) / 1000 else { return }
        lastDeadlineCheck = now
        if index == 0 { log.flushSummaries() }
        for connection in Array(connections.values) {
            let due = connection.lifecycle.deadline(now: now, readingHeaders: connection.parser.isReadingHeaders, timeouts: timeouts)
            switch due {
            case .none:
                // A connection that has sent nothing becomes `silent` once its grace has passed.
                if connection.state == .handshaking { updateStanding(connection) }
                continue
            case .close:
                close(connection)
                continue
            case .requestTimeout:
                respond(connection, with: errorResponse(status: 408, reason: "Request Timeout"), keepAlive: false)
            case .handlerTimeout:
                log.error("a request on connection \(connection.id) had no answer after \(Int(timeouts.handler)) s")
                connection.requestSerial &+= 1
                respond(connection, with: errorResponse(status: 500, reason: "Internal Server Error"), keepAlive: false)
            }
            flush(connection)
            if connection.state != .closed {
                updateInterest(connection)
                updateStanding(connection)
            }
        }
    }
}

/// Open connections across all loops, bounded by `ServerLimits.maxConnections`.
package final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)

    package func tryIncrement(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    package func decrement() { count.subtract(1, ordering: .relaxed) }
}
