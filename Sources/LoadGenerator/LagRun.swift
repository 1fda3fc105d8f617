import Cryptography
import Foundation
import HTTP1
import Platform
import TLS

/// `sm-replication-lag`: PutSecretValue at a fixed open-loop rate against the primary (`--url`)
/// while the replica (`--replica-url`) is polled with GetSecretValue to find when each write
/// shows there. One event-loop thread carries both, so every time is one monotonic clock.
///
/// Guarantees:
/// - Write `seq` is due at `start + seq / rate`; it is sent when due on an idle connection of at
///   most `--concurrency` (opened as needed), never earlier; how late each was sent is measured
///   (`sendDelay`), so a rate the machine could not hold shows in the report instead of being
///   hidden (open loop: a slow answer does not slow the schedule down).
/// - Every connection is opened and used once (a GetSecretValue) before the first write, so no
///   write or poll pays a TLS handshake unless the server closed its connection.
/// - The run is bounded: writes for `--duration` seconds, then until every acknowledged write
///   was seen or `--drain` seconds passed, and never more than `--timeout` beyond that.
/// - A write re-sent after the server closed a reused connection before answering carries the
///   same ClientRequestToken and value, so it cannot make a second version.
final class LagWorker {
    /// One connection: a write connection to the primary or a poll connection to the replica.
    struct Slot {
        var connection: LoadConnection?
        var busy = false
        /// The write's seq, or the polled secret (-1 during the warm-up request).
        var item = -1
        var request: [UInt8] = []
        var sentNs: UInt64 = 0
        /// While nonzero: do not reconnect before this time.
        var retryAtNs: UInt64 = 0
    }

    /// Pause before reconnecting after a failed connection.
    static let reconnectDelayNs: UInt64 = 20_000_000

    let options: LagOptions
    let primaryTLS: TLSContext?
    let replicaTLS: TLSContext?
    var tracker: LagTracker
    var writeSlots: [Slot]
    var pollSlots: [Slot]
    var primary: RequestBuilder.Signed
    var replica: RequestBuilder.Signed
    let runID: String
    let marker: [UInt8]
    /// The thread's epoll instance: slots 0..<writeConnections are the write slots, the poll
    /// slots follow (`pollerSlot`).
    var poller: SlotPoller
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: LoadConnection.readChunk, alignment: 16)

    var nextSeq = 0
    var startNs: UInt64 = 0
    var sendDelay = LatencyHistogram()
    var pollErrors = 0
    var retries = 0
    var firstError: ErrorSample?
    var warmupPending = 0
    /// A due write could not be sent at the last try (no free connection or secret).
    var blocked = false

    init(options: LagOptions, tls: TLSContext?) throws(Errno) {
        self.options = options
        primaryTLS = options.primary.isTLS ? tls : nil
        replicaTLS = options.replica.isTLS ? tls : nil
        tracker = LagTracker(secrets: options.secrets, writes: options.writes, hot: options.hotSecrets)
        writeSlots = Array(repeating: Slot(), count: options.writeConnections)
        pollSlots = Array(repeating: Slot(), count: options.pollers)
        primary = RequestBuilder.Signed(url: options.primary, accessKey: options.accessKey, secretKey: options.secretKey, region: options.primaryRegion)
        replica = RequestBuilder.Signed(url: options.replica, accessKey: options.accessKey, secretKey: options.secretKey, region: options.replicaRegion)
        let id = Hex.encode((try? Random.bytes(4)) ?? [0, 0, 0, UInt8(truncatingIfNeeded: MonotonicClock.nanoseconds())])
        runID = id
        marker = Array("strongroom-lag \(id) ".utf8)
        poller = try SlotPoller(slots: options.writeConnections + options.pollers)
    }

    deinit { scratch.deallocate() }

    // MARK: - Phases

    /// Warms every connection, runs the schedule and the drain; returns the result.
    func run() throws(LoadRunError) -> LagResult {
        let warmupEnd = MonotonicClock.nanoseconds() + UInt64(options.timeout * 1e9)
        // The warm-up reads the secrets the first writes go to: they must exist on both nodes.
        for i in writeSlots.indices {
            send(poll: false, i, item: -1, request: primary.call("GetSecretValue", #"{"SecretId":"\#(secretName(i % tracker.hot))"}"#))
        }
        for i in pollSlots.indices {
            send(poll: true, i, item: -1, request: replica.call("GetSecretValue", #"{"SecretId":"\#(secretName(i % tracker.hot))"}"#))
        }
        warmupPending = writeSlots.count + pollSlots.count
        while warmupPending > 0 {
            let now = MonotonicClock.nanoseconds()
            if now >= warmupEnd { throw LoadRunError("warm-up: \(warmupPending) connection(s) not answered within \(options.timeout) s") }
            wait(untilNs: warmupEnd, now: now)
            if let firstError { throw LoadRunError("warm-up: \(firstError.description)") }
        }

        let cpuStart = ProcessCPU.times()
        startNs = MonotonicClock.nanoseconds()
        let writesEndNs = startNs + UInt64(options.duration * 1e9)
        let giveUpNs = writesEndNs + UInt64((options.drain + options.timeout) * 1e9)
        var drainEndNs = UInt64.max
        while true {
            var now = MonotonicClock.nanoseconds()
            runRetries(now: now)
            blocked = false
            sendDueWrites(now: now)
            now = MonotonicClock.nanoseconds()
            dispatchPolls(now: now)
            if nextSeq == options.writes {
                if drainEndNs == .max { drainEndNs = now + UInt64(options.drain * 1e9) }
                if tracker.isSettled || now >= drainEndNs { break }
            }
            if now >= giveUpNs { break }
            // Blocked: the answer that frees a connection or a secret wakes the loop (1 ms at most).
            let wakeNs = blocked ? now + 1_000_000 : nextSeq < options.writes ? dueNs(nextSeq) : min(drainEndNs, now + 10_000_000)
            wait(untilNs: max(wakeNs, now), now: now)
        }
        let endNs = MonotonicClock.nanoseconds()
        let cpuEnd = ProcessCPU.times()
        for i in writeSlots.indices { writeSlots[i].connection = nil }
        for i in pollSlots.indices { pollSlots[i].connection = nil }
        let seconds = Double(endNs - startNs) / 1e9
        let lastSent = (0..<options.writes).reversed().first { tracker.sentNs[$0] != 0 }
        let writeSeconds = lastSent.map { Double(tracker.sentNs[$0] - startNs) / 1e9 } ?? 0
        return LagResult(
            label: options.label, rate: options.rate, duration: options.duration, secrets: options.secrets,
            hotSecrets: tracker.hot, pollers: options.pollers, summary: tracker.summary(startNs: startNs), sendDelay: sendDelay,
            achievedRate: writeSeconds > 0 ? Double(max(nextSeq - 1, 0)) / writeSeconds : 0,
            seconds: seconds, pollErrors: pollErrors, retries: retries,
            cpuPercent: (cpuEnd.total - cpuStart.total) / max(seconds, 1e-9) * 100, firstError: firstError
        )
    }

    func dueNs(_ seq: Int) -> UInt64 { startNs + UInt64((Double(seq) * 1e9 / options.rate).rounded(.down)) }

    func secretName(_ index: Int) -> String { options.secretPrefix + RequestBuilder.sixDigits(index) }

    // MARK: - Writes and polls

    private func sendDueWrites(now: UInt64) {
        while nextSeq < options.writes && dueNs(nextSeq) <= now {
            // A write waits (and shows as sent late) when no connection is free, or when every
            // secret it could go to has a write in flight.
            guard let slot = idleSlot(writeSlots, now: now), let secret = tracker.chooseSecret(for: nextSeq) else {
                blocked = true
                return
            }
            let seq = nextSeq
            let digits = String(seq)
            let padded = String(repeating: "0", count: max(0, 10 - digits.count)) + digits
            let token = "strongroom-lag-\(runID)-\(padded)"
            let prefix = "strongroom-lag \(runID) \(padded) "
            let value = prefix + String(repeating: "x", count: max(0, 100 - prefix.utf8.count))
            let request = primary.call(
                "PutSecretValue", #"{"SecretId":"\#(secretName(secret))","ClientRequestToken":"\#(token)","SecretString":"\#(value)"}"#
            )
            nextSeq += 1
            let sentAt = MonotonicClock.nanoseconds()
            sendDelay.record(sentAt &- min(sentAt, dueNs(seq)))
            tracker.writeSent(seq, to: secret, now: sentAt)
            send(poll: false, slot, item: seq, request: request)
        }
    }

    private func dispatchPolls(now: UInt64) {
        while let slot = idleSlot(pollSlots, now: now), let secret = tracker.nextPoll(now: MonotonicClock.nanoseconds()) {
            send(poll: true, slot, item: secret, request: replica.call("GetSecretValue", #"{"SecretId":"\#(secretName(secret))"}"#))
        }
    }

    /// An idle slot, one with an open connection first.
    private func idleSlot(_ slots: [Slot], now: UInt64) -> Int? {
        var closed: Int?
        for i in slots.indices where !slots[i].busy && slots[i].retryAtNs <= now {
            if slots[i].connection != nil { return i }
            if closed == nil { closed = i }
        }
        return closed
    }

    private func send(poll: Bool, _ index: Int, item: Int, request: [UInt8]) {
        update(poll, index) { slot in
            slot.busy = true
            slot.item = item
            slot.request = request
        }
        handOver(poll: poll, index)
    }

    private func handOver(poll: Bool, _ index: Int) {
        var slot = poll ? pollSlots[index] : writeSlots[index]
        if slot.connection == nil {
            let url = poll ? options.replica : options.primary
            do {
                slot.connection = try LoadConnection(address: url.address, tls: poll ? replicaTLS : primaryTLS, host: url.host, captureBodies: poll)
            } catch {
                update(poll, index) { $0 = slot }
                return failed(poll: poll, index, error.message, retryable: false)
            }
        }
        slot.sentNs = MonotonicClock.nanoseconds()
        update(poll, index) { $0 = slot }
        do {
            try slot.connection!.send(slot.request)
        } catch {
            return failed(poll: poll, index, error.message, retryable: false)
        }
        updateInterest(poll: poll, index)
    }

    private func update(_ poll: Bool, _ index: Int, _ change: (inout Slot) -> Void) {
        if poll { change(&pollSlots[index]) } else { change(&writeSlots[index]) }
    }

    // MARK: - Events

    private func wait(untilNs: UInt64, now: UInt64) {
        let events: [(tag: UInt64, events: EpollEvents)]
        do {
            events = try poller.wait(untilNs: untilNs, now: now)
        } catch {
            noteError(ErrorSample(status: nil, message: "epoll: \(error)"))
            return
        }
        for event in events { service(tag: event.tag, events: event.events) }
    }

    private func service(tag: UInt64, events: EpollEvents) {
        guard let slot = poller.slot(of: tag) else { return }
        let poll = slot >= writeSlots.count
        let index = poll ? slot - writeSlots.count : slot
        guard let connection = (poll ? pollSlots : writeSlots)[index].connection else { return }
        switch connection.handle(events, using: scratch) {
        case .pending:
            updateInterest(poll: poll, index)
        case .response(let response, let reusable):
            completed(poll: poll, index, response, reusable: reusable)
        case .failed(let message, let retryable):
            failed(poll: poll, index, message, retryable: retryable)
        }
    }

    private func completed(poll: Bool, _ index: Int, _ response: HTTPResponseSummary, reusable: Bool) {
        let now = MonotonicClock.nanoseconds()
        if !reusable { close(poll: poll, index) }
        let item = (poll ? pollSlots : writeSlots)[index].item
        update(poll, index) { slot in
            slot.busy = false
            slot.request = []
        }
        if !response.isSuccess {
            noteError(ErrorSample(status: response.status, message: String(decoding: response.bodyPrefix, as: UTF8.self)))
        }
        if item < 0 {
            warmupPending -= 1
        } else if !poll {
            tracker.writeAnswered(item, success: response.isSuccess, now: now)
        } else if response.isSuccess {
            tracker.pollAnswered(item, seen: Self.sequence(in: response.bodyPrefix, marker: marker), now: now)
        } else {
            pollErrors += 1
            tracker.pollFailed(item)
        }
        // The freed poll connection takes the next pending secret at once.
        if poll { dispatchPolls(now: now) }
    }

    /// A busy slot's connection failed (or an idle one was closed by the server).
    private func failed(poll: Bool, _ index: Int, _ message: String, retryable: Bool) {
        let now = MonotonicClock.nanoseconds()
        close(poll: poll, index)
        let slot = (poll ? pollSlots : writeSlots)[index]
        guard slot.busy else { return }
        if retryable {
            retries += 1
            return handOver(poll: poll, index)
        }
        noteError(ErrorSample(status: nil, message: message))
        update(poll, index) { slot in
            slot.busy = false
            slot.request = []
            slot.retryAtNs = now + Self.reconnectDelayNs
        }
        if slot.item < 0 {
            warmupPending -= 1
        } else if poll {
            pollErrors += 1
            tracker.pollFailed(slot.item)
        } else {
            tracker.writeAnswered(slot.item, success: false, now: now)
        }
    }

    private func runRetries(now: UInt64) {
        for i in writeSlots.indices where writeSlots[i].retryAtNs != 0 && writeSlots[i].retryAtNs <= now { writeSlots[i].retryAtNs = 0 }
        for i in pollSlots.indices where pollSlots[i].retryAtNs != 0 && pollSlots[i].retryAtNs <= now { pollSlots[i].retryAtNs = 0 }
    }

    private func close(poll: Bool, _ index: Int) {
        update(poll, index) { $0.connection = nil }
        poller.retire(pollerSlot(poll: poll, index))
    }

    /// The poller's number for a slot: write slots first, then poll slots.
    private func pollerSlot(poll: Bool, _ index: Int) -> Int {
        poll ? writeSlots.count + index : index
    }

    private func updateInterest(poll: Bool, _ index: Int) {
        guard let connection = (poll ? pollSlots : writeSlots)[index].connection else { return }
        do {
            try poller.updateInterest(connection.socket.rawValue, wanted: connection.wantedInterest, slot: pollerSlot(poll: poll, index))
        } catch {
            failed(poll: poll, index, error.description, retryable: false)
        }
    }

    private func noteError(_ sample: ErrorSample) {
        if firstError == nil { firstError = sample }
    }

    /// The seq a value written by this run carries (`strongroom-lag RUN 0000000123 …`), found
    /// after `marker` in a response body; nil when the body holds none.
    static func sequence(in body: [UInt8], marker: [UInt8]) -> Int? {
        guard !marker.isEmpty, body.count >= marker.count + 10 else { return nil }
        var i = 0
        while i + marker.count + 10 <= body.count {
            if body[i] == marker[0] && body[i..<(i + marker.count)].elementsEqual(marker) {
                var n = 0
                for b in body[(i + marker.count)..<(i + marker.count + 10)] {
                    guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
                    n = n * 10 + Int(b - UInt8(ascii: "0"))
                }
                return n
            }
            i += 1
        }
        return nil
    }
}

/// Runs `sm-replication-lag`.
public enum LagRun {
    /// Runs `options` to completion on one event-loop thread.
    /// - Throws: `LoadRunError` when TLS cannot be configured, the warm-up fails, or the thread
    ///   does not end in time.
    public static func execute(_ options: LagOptions) throws(LoadRunError) -> LagResult {
        var context: TLSContext?
        if options.primary.isTLS || options.replica.isTLS {
            do {
                context = try TLSContext.client(trustedCAFile: options.caFile ?? "", minimumVersion: .tls12)
            } catch {
                throw LoadRunError("TLS: \(error)")
            }
        }
        ResourceLimits.raiseOpenFileLimit()
        let worker: LagWorker
        do {
            worker = try LagWorker(options: options, tls: context)
        } catch {
            throw LoadRunError("event loop: \(error)")
        }
        return try worker.run()
    }
}
