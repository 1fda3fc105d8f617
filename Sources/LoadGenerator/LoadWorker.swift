import HTTP1
import Platform
import TLS

/// One event-loop thread of a run: a share of the connections, each a closed loop that sends a
/// request, reads the whole response, records it and sends the next at once.
///
/// Guarantees:
/// - A request counts (histogram, `requests`, `errors`) only if its request was sent at or
///   after the end of the warm-up and its response (or its transport failure) came before the
///   end of the measured phase; with `--requests N`, only requests holding one of N tickets are
///   sent in the measured phase, so at most N are counted (exactly N when the phase is long
///   enough). A request re-sent because the server closed a reused connection before answering
///   keeps its ticket and is counted once.
/// - Latency runs from the moment the built request is handed to its connection to the moment
///   the last byte of the response is parsed; it includes a connect and TLS handshake when the
///   connection had to be (re)opened for that request.
/// - The loop ends by itself at the end of the measured phase, when its connections have no
///   more work, or when the run asks it to stop; its report is handed over exactly once.
final class LoadWorker {
    /// One closed-loop client.
    struct Slot {
        var connection: LoadConnection?
        /// The request in flight: when it was handed over, whether it is measured, and its
        /// bytes, re-sent as they are on a retry (same signature: every request is idempotent).
        var sentNs: UInt64 = 0
        var inFlight = false
        var measured = false
        var retainedRequest: [UInt8] = []
        /// Failed attempts of the current `sm-seed` request.
        var attempts = 0
        /// `sm-seed`: the secret being seeded and its next step.
        var seedSecret: Int?
        var seedStep = 0
        /// While nonzero: reconnect (and send) at this time.
        var retryAtNs: UInt64 = 0
        var finished = false
    }

    /// Pause before reconnecting after a failed connection, so a dead server is not spun on.
    static let reconnectDelayNs: UInt64 = 20_000_000
    /// Attempts per `sm-seed` request before it is counted as an error and skipped.
    static let seedAttempts = 3
    /// Every this many request builds, one is timed (the CPU clock costs a system call).
    static let buildSampling = 8

    let options: LoadOptions
    let control: RunControl
    let tls: TLSContext?
    var builder: RequestBuilder
    var slots: [Slot]
    var report = WorkerReport()
    var activeSlots: Int
    var waitingRetries = 0
    var buildCounter = 0
    /// The thread's epoll instance; slot numbers are indices into `slots`.
    var poller: SlotPoller
    /// The read buffer every connection of this thread reads into.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: LoadConnection.readChunk, alignment: 16)

    init(options: LoadOptions, control: RunControl, tls: TLSContext?, thread: Int, connections: Int) throws(Errno) {
        self.options = options
        self.control = control
        self.tls = tls
        builder = RequestBuilder(options: options, thread: thread)
        slots = Array(repeating: Slot(), count: connections)
        activeSlots = connections
        poller = try SlotPoller(slots: connections)
    }

    deinit { scratch.deallocate() }

    /// Runs until the measured phase ends or the work is done, then reports to `control`.
    func run() {
        let now = MonotonicClock.nanoseconds()
        for index in slots.indices { sendNext(index, now: now) }
        while activeSlots > 0 && !control.isStopRequested {
            let now = MonotonicClock.nanoseconds()
            if now >= control.measureEndNs { break }
            if waitingRetries > 0 { runRetries(now: now) }
            // A slot waiting to reconnect is looked at twice per delay.
            let wakeNs = waitingRetries > 0 ? min(control.measureEndNs, now + Self.reconnectDelayNs / 2) : control.measureEndNs
            let events: [(tag: UInt64, events: EpollEvents)]
            do {
                events = try poller.wait(untilNs: wakeNs, now: now)
            } catch {
                control.noteError(ErrorSample(status: nil, message: error.description))
                break
            }
            for event in events { service(tag: event.tag, events: event.events) }
        }
        for index in slots.indices { slots[index].connection = nil }
        control.finish(with: report)
    }

    // MARK: - Requests

    /// Sends the slot's next request (or re-sends the retained one), opening a connection if
    /// needed; marks the slot finished when there is no more work.
    func sendNext(_ index: Int, now: UInt64) {
        if !slots[index].inFlight {
            guard now < control.measureEndNs, let request = nextRequest(index, now: now) else {
                finish(index)
                return
            }
            slots[index].inFlight = true
            slots[index].retainedRequest = request
            handOver(index, request)
        } else {
            handOver(index, slots[index].retainedRequest)
        }
    }

    private func nextRequest(_ index: Int, now: UInt64) -> [UInt8]? {
        let measured = now >= control.measureStartNs
        if measured && !control.takeTicket() { return nil }
        slots[index].measured = measured
        slots[index].attempts = 0
        // One build in `buildSampling` is timed, in thread CPU time: what building and signing
        // cost, not counting time the thread was preempted (the server shares the cores).
        buildCounter &+= 1
        let timed = buildCounter % Self.buildSampling == 0
        let start = timed ? ProcessCPU.threadNanoseconds() : 0
        defer {
            if timed {
                report.buildNs &+= ProcessCPU.threadNanoseconds() &- start
                report.built += 1
            }
        }
        guard options.workload.isWorkQueue else { return builder.next() }
        if slots[index].seedSecret == nil {
            guard let secret = control.takeSeedSecret() else { return nil }
            slots[index].seedSecret = secret
            slots[index].seedStep = 0
        }
        return builder.seedRequest(secret: slots[index].seedSecret!, step: slots[index].seedStep)
    }

    private func handOver(_ index: Int, _ request: [UInt8]) {
        if slots[index].connection == nil {
            do {
                slots[index].connection = try LoadConnection(address: options.url.address, tls: tls, host: options.url.host)
            } catch {
                return connectionFailed(index, error.message, now: MonotonicClock.nanoseconds())
            }
        }
        let connection = slots[index].connection!
        slots[index].sentNs = MonotonicClock.nanoseconds()
        do {
            try connection.send(request)
        } catch {
            return connectionFailed(index, error.message, now: slots[index].sentNs)
        }
        updateInterest(index, connection)
    }

    private func finish(_ index: Int) {
        guard !slots[index].finished else { return }
        slots[index].finished = true
        closeConnection(index)
        activeSlots -= 1
    }

    // MARK: - Events

    private func service(tag: UInt64, events: EpollEvents) {
        guard let index = poller.slot(of: tag), let connection = slots[index].connection else { return }
        switch connection.handle(events, using: scratch) {
        case .pending:
            updateInterest(index, connection)
        case .response(let response, let reusable):
            completed(index, response, reusable: reusable)
        case .failed(let message, let retryable):
            connectionFailed(index, message, now: MonotonicClock.nanoseconds(), retryable: retryable)
        }
    }

    private func updateInterest(_ index: Int, _ connection: LoadConnection) {
        do {
            try poller.updateInterest(connection.socket.rawValue, wanted: connection.wantedInterest, slot: index)
        } catch {
            connectionFailed(index, error.description, now: MonotonicClock.nanoseconds())
        }
    }
}
