/// The bookkeeping of a replication-lag run (`sm-replication-lag`), with no I/O and no clock:
/// the event loop tells it when each write was sent and answered by the primary and what each
/// poll of the replica saw, and asks it which secret to poll next.
///
/// Writes go round robin over `hot` secrets at a time, each secret taking at most `perSecret`
/// writes, the next `hot` secrets taking over in turn (`preferredSecret(for:)`), so that only a
/// few secrets wait to be polled at any moment however many the run needs to stay under the
/// 100-version quota. A secret never has two writes in flight (`chooseSecret(for:)` passes over
/// one that has): the primary may commit two overlapping writes to one secret in either order,
/// and then the later value would not imply the earlier one. So, write `seq` carrying `seq` in
/// its value, a poll that sees `seq` on a secret has seen every earlier write to that secret too
/// (committed before it on the primary, applied before it by the replica, which applies the
/// primary's log in order); all of them are marked visible at that poll's answer.
///
/// Guarantees:
/// - Only secrets with a write sent and not yet seen (and not known to have failed) are polled,
///   at most one poll in flight per secret, the one polled longest ago first: polling costs the
///   replica nothing when it is up to date.
/// - A write's visibility is bracketed: it became visible after the previous poll of its secret
///   was sent (that poll did not see it) or after the write itself was sent, whichever is later,
///   and before the answer of the poll that saw it. The reported visible time is the upper end
///   (so a lag is never understated); the part of the bracket after the primary's answer is the
///   lag's resolution (`LagSummary.resolution`).
/// - The polling interval achieved is measured as what it costs the lag: for each poll, the time
///   its secret had been waiting for it, since the secret's previous poll or since it got a
///   write to look for, whichever is later (`LagSummary.pollInterval`).
/// - A poll that sees an older value than one seen before (`regressions`) or a value never sent
///   to that secret (`anomalies`) is counted, not trusted.
struct LagTracker {
    /// Writes a run may hold: three 8-byte times each, 48 MB at most.
    static let maximumWrites = 2_000_000

    /// Per secret: what was sent and seen, and its poll.
    struct SecretProgress {
        var highestSent = -1
        var highestSeen = -1
        var firstWrite = -1
        var writesAssigned = 0
        var writeInFlight = false
        var pollInFlight = false
        /// When the last answered poll was sent (0: never), and the one in flight.
        var lastPollSentNs: UInt64 = 0
        var currentPollSentNs: UInt64 = 0
        /// When the secret last became pending (a write to look for).
        var pendingSinceNs: UInt64 = 0
    }

    let secrets: Int
    let writes: Int
    /// Secrets written round robin at a time, and writes per secret.
    let hot: Int
    let perSecret: Int
    /// Monotonic ns; 0 while not yet.
    private(set) var sentNs: [UInt64]
    private(set) var answeredNs: [UInt64]
    private(set) var visibleNs: [UInt64]
    /// The lower end of the bracket each write's visibility was found in.
    private(set) var lowerNs: [UInt64]
    /// Writes the primary refused or that failed in transport.
    private(set) var failed: [Bool]
    /// The secret each write went to, and the write to the same secret before and after it (-1:
    /// none).
    private(set) var secretOf: [Int32]
    private var previousOfSecret: [Int32]
    private var nextOfSecret: [Int32]
    private(set) var progress: [SecretProgress]
    /// Secrets with a write not yet seen, unordered.
    private(set) var pending: [Int] = []
    private(set) var regressions = 0
    private(set) var anomalies = 0
    private(set) var polls = 0
    private(set) var pollInterval = LatencyHistogram()
    private(set) var answeredCount = 0

    /// - Parameter hot: secrets written at a time (nil: all of them, plain round robin); only
    ///   `secrets` rounded down to a multiple of it are used.
    init(secrets: Int, writes: Int, hot: Int? = nil) {
        precondition(secrets > 0 && writes >= 0 && writes <= Self.maximumWrites, "lag run of \(writes) writes to \(secrets) secrets")
        let hot = min(hot ?? secrets, secrets)
        precondition(hot > 0, "no secret to write")
        self.secrets = secrets
        self.writes = writes
        self.hot = hot
        let used = secrets / hot * hot
        perSecret = max(1, (writes + used - 1) / used)
        sentNs = Array(repeating: 0, count: writes)
        answeredNs = Array(repeating: 0, count: writes)
        visibleNs = Array(repeating: 0, count: writes)
        lowerNs = Array(repeating: 0, count: writes)
        failed = Array(repeating: false, count: writes)
        secretOf = Array(repeating: -1, count: writes)
        previousOfSecret = Array(repeating: -1, count: writes)
        nextOfSecret = Array(repeating: -1, count: writes)
        progress = Array(repeating: SecretProgress(), count: secrets)
    }

    /// Writes of one group of `hot` secrets.
    private var block: Int { hot * perSecret }

    /// The secret write `seq` goes to when nothing is in its way.
    func preferredSecret(for seq: Int) -> Int { seq / block * hot + seq % hot }

    /// The secret write `seq` should go to: the preferred one, else another of its group, else
    /// any, that has no write in flight and room for another; nil when every one with room has a
    /// write in flight (the write must wait).
    func chooseSecret(for seq: Int) -> Int? {
        func free(_ s: Int) -> Bool { !progress[s].writeInFlight && progress[s].writesAssigned < perSecret }
        let preferred = preferredSecret(for: seq)
        let group = preferred - preferred % hot
        for offset in 0..<hot where group + (preferred - group + offset) % hot < secrets {
            let s = group + (preferred - group + offset) % hot
            if free(s) { return s }
        }
        return (0..<secrets).first(where: free)
    }

    /// Write `seq` went to `secret` (from `chooseSecret`), handed to its connection at `now`;
    /// writes are sent in order.
    mutating func writeSent(_ seq: Int, to secret: Int, now: UInt64) {
        var p = progress[secret]
        precondition(seq > p.highestSent && sentNs[seq] == 0 && !p.writeInFlight && p.writesAssigned < perSecret,
                     "write \(seq) sent twice, out of order, beside another in flight or beyond the quota")
        sentNs[seq] = max(now, 1)
        secretOf[seq] = Int32(secret)
        if p.highestSent >= 0 {
            previousOfSecret[seq] = Int32(p.highestSent)
            nextOfSecret[p.highestSent] = Int32(seq)
        } else {
            p.firstWrite = seq
        }
        p.highestSent = seq
        p.writesAssigned += 1
        p.writeInFlight = true
        progress[secret] = p
        sentCount += 1
        updatePending(secret, now: now)
    }

    /// The write to the same secret after `seq`, or before it; nil when there is none.
    func following(_ seq: Int) -> Int? { nextOfSecret[seq] < 0 ? nil : Int(nextOfSecret[seq]) }

    func preceding(_ seq: Int) -> Int? { previousOfSecret[seq] < 0 ? nil : Int(previousOfSecret[seq]) }

    /// The primary answered write `seq` (or it failed in transport) at `now`.
    mutating func writeAnswered(_ seq: Int, success: Bool, now: UInt64) {
        precondition(sentNs[seq] != 0 && answeredNs[seq] == 0, "write \(seq) answered twice or before it was sent")
        answeredNs[seq] = max(now, sentNs[seq])
        answeredCount += 1
        let secret = Int(secretOf[seq])
        progress[secret].writeInFlight = false
        if !success {
            failed[seq] = true
            updatePending(secret, now: now)
        }
    }

    /// The next secret to poll, marked in flight from `now`; nil when none waits.
    mutating func nextPoll(now: UInt64) -> Int? {
        var best: Int?
        for s in pending where !progress[s].pollInFlight {
            if best == nil || progress[s].lastPollSentNs < progress[best!].lastPollSentNs { best = s }
        }
        guard let chosen = best else { return nil }
        progress[chosen].pollInFlight = true
        progress[chosen].currentPollSentNs = now
        let waitingSince = max(progress[chosen].lastPollSentNs, progress[chosen].pendingSinceNs)
        pollInterval.record(now &- min(now, waitingSince))
        polls += 1
        return chosen
    }

    /// A poll of `secret` was answered at `now` with the write `seen` (nil: a value no write of
    /// this run set, such as the one the secret was created with).
    mutating func pollAnswered(_ secret: Int, seen: Int?, now: UInt64) {
        precondition(progress[secret].pollInFlight, "an answer for a poll never sent")
        var p = progress[secret]
        p.pollInFlight = false
        let previousPollSentNs = p.lastPollSentNs
        p.lastPollSentNs = p.currentPollSentNs
        if let seen {
            if seen < 0 || seen >= writes || secretOf[seen] != Int32(secret) {
                anomalies += 1
            } else if seen < p.highestSeen {
                regressions += 1
            } else if seen > p.highestSeen {
                var next: Int? = p.highestSeen < 0 ? p.firstWrite : following(p.highestSeen)
                while let seq = next, seq <= seen {
                    visibleNs[seq] = max(now, 1)
                    lowerNs[seq] = min(now, max(previousPollSentNs, sentNs[seq]))
                    next = following(seq)
                }
                p.highestSeen = seen
            }
        }
        progress[secret] = p
        updatePending(secret, now: now)
    }

    /// A poll of `secret` failed (its answer tells nothing).
    mutating func pollFailed(_ secret: Int) {
        precondition(progress[secret].pollInFlight, "a failure for a poll never sent")
        progress[secret].pollInFlight = false
    }

    /// Whether every write sent was answered and every successful one seen.
    var isSettled: Bool { answeredCount == sentCount && pending.isEmpty }

    /// Writes handed to a connection.
    private(set) var sentCount = 0

    /// The figures of the run so far; the timeline cuts the writes by send time into
    /// `sliceNs` slices from `startNs`.
    func summary(startNs: UInt64 = 0, sliceNs: UInt64 = 500_000_000) -> LagSummary {
        precondition(sliceNs > 0, "a timeline slice must not be empty")
        var s = LagSummary()
        for seq in 0..<writes where sentNs[seq] != 0 {
            s.sent += 1
            let slice = Int((sentNs[seq] &- min(sentNs[seq], startNs)) / sliceNs)
            while s.timeline.count <= slice { s.timeline.append(LagSummary.Slice()) }
            s.timeline[slice].writes += 1
            guard answeredNs[seq] != 0 else {
                s.unanswered += 1
                continue
            }
            if failed[seq] {
                s.failed += 1
                continue
            }
            s.writeLatency.record(answeredNs[seq] - sentNs[seq])
            s.timeline[slice].maxWriteNs = max(s.timeline[slice].maxWriteNs, answeredNs[seq] - sentNs[seq])
            guard visibleNs[seq] != 0 else {
                s.neverSeen += 1
                continue
            }
            if visibleNs[seq] < answeredNs[seq] {
                s.seenBeforeAcknowledged += 1
                s.lag.record(0)
                s.resolution.record(0)
            } else {
                s.lag.record(visibleNs[seq] - answeredNs[seq])
                s.timeline[slice].maxLagNs = max(s.timeline[slice].maxLagNs, visibleNs[seq] - answeredNs[seq])
                s.resolution.record(visibleNs[seq] - max(lowerNs[seq], answeredNs[seq]))
            }
        }
        s.regressions = regressions
        s.anomalies = anomalies
        s.polls = polls
        s.pollInterval = pollInterval
        return s
    }

    // MARK: - Pieces

    /// Whether `secret` has a write sent, not seen and not failed: walks down from the highest
    /// sent past the failed ones (a failed write is never expected to show).
    private func expectsWrite(_ secret: Int) -> Bool {
        let p = progress[secret]
        var next: Int? = p.highestSent < 0 ? nil : p.highestSent
        while let seq = next, seq > p.highestSeen {
            if !failed[seq] { return true }
            next = preceding(seq)
        }
        return false
    }

    private mutating func updatePending(_ secret: Int, now: UInt64) {
        let index = pending.firstIndex(of: secret)
        switch (expectsWrite(secret), index) {
        case (true, nil):
            pending.append(secret)
            progress[secret].pendingSinceNs = now
        case (false, let i?): pending.swapAt(i, pending.count - 1); pending.removeLast()
        default: break
        }
    }
}

/// What a replication-lag run measured (times in nanoseconds).
struct LagSummary: Sendable {
    var sent = 0
    var failed = 0
    var unanswered = 0
    var neverSeen = 0
    var seenBeforeAcknowledged = 0
    var regressions = 0
    var anomalies = 0
    var polls = 0
    /// Sent → the primary's 2xx, successful writes.
    var writeLatency = LatencyHistogram()
    /// The primary's answer → the first replica answer showing the write (0 when it showed first).
    var lag = LatencyHistogram()
    /// How far each lag may overstate the true one: the part of its visibility bracket after the
    /// primary's answer (0 for a write seen before it).
    var resolution = LatencyHistogram()
    /// For each poll, how long its secret had been waiting for it.
    var pollInterval = LatencyHistogram()

    /// The writes sent in one slice of the run, and the worst of them: where a stall shows.
    struct Slice: Sendable {
        var writes = 0
        var maxWriteNs: UInt64 = 0
        var maxLagNs: UInt64 = 0
    }
    var timeline: [Slice] = []
}
