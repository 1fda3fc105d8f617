package import JSON
package import Journal
import Failover
import LogShipping
import Platform
package import SecretStore
package import SecretsAPI
import Synchronization
package import Logging
package import AWSProtocol

/// The node's secrets: the state machine's state in memory, every change a record of the
/// region log.
///
/// Writes are pipelined. Under one lock a write is decided against `pending` (the committed
/// state plus every write queued before it), its facts are queued to the journal as one record,
/// and applied to `pending`; the journal's group commit makes many such records durable with one
/// fdatasync. Completions run on the journal's writer thread in LSN order: each applies its
/// facts to `committed`, which is all readers ever see, then answers.
///
/// When an append fails (disk full, I/O error) the journal halts and fails every append queued
/// behind it, since those writes were decided against a state that included the failed one.
/// The storage then refuses writes (a retryable InternalServiceError) until the last in-flight
/// append has completed, rebuilds `pending` from `committed`, and resumes the journal.
package final class JournalSecretStorage: SecretStorage, SnapshotSource {
    /// The journal record type of a decision before replication (`Fact.encode(list:)`); read only.
    package static let decisionRecordType: UInt16 = RegionLogRecord.decisionType
    /// The journal record type of a decision with its routes (`Fact.encode(routed:routes:)`):
    /// the regions each fact ships to.
    package static let routedRecordType: UInt16 = RegionLogRecord.routedType

    struct State {
        var committed: SecretState
        var committedLSN: UInt64
        /// The epoch of the newest committed record (of the log when it holds none).
        var committedEpoch: UInt64
        /// A standby's records queued and not yet durable.
        var followedInFlight: UInt64 = 0
        var pending: SecretState
        /// Appends queued and not yet completed.
        var inFlight = 0
        /// An append failed: `pending` is wrong until the in-flight ones drain.
        var failed = false
        /// Appends that failed since the node started (see ``write(unlessFailedSince:_:completion:)``).
        var failures: UInt64 = 0
        /// The sequence number of the newest queued write.
        var lastQueued: UInt64 = 0
        /// Facts about a secret the state does not hold (the state has diverged from its log):
        /// how many, and the first one's description.
        var divergences = 0
        var firstDivergence: String?
        /// Idempotent answers (no facts) waiting for the writes queued before them.
        var waiters: [(after: UInt64, answer: JSONValue, completion: @Sendable (Result<JSONValue, AWSError>) -> Void, sinceSeconds: Double)] = []
        /// The newest LSN durable in this node's log (ahead of `committedLSN` while records wait
        /// for synchronous standbys).
        var durableLSN: UInt64
        /// With `syncStandbys ≥ 1` on a primary: the commit position, and the durable records
        /// waiting for it in LSN order (`JournalSecretStorage+Sync.swift`).
        var sync: SyncCommit?
        var awaiting: [AwaitingCommit] = []
        /// A higher epoch of this region is known (``fence(epoch:)``): client writes are refused.
        var fencedBy: UInt64?
        /// A standby that takes no more of its primary's records (fenced, or being promoted).
        var followingStopped = false
        /// A primary that has not yet asked its region whether a newer epoch exists (just
        /// started): client writes are refused until it has.
        var confirming = false
    }

    let journal: Journal
    package let epoch: UInt64
    /// Set on a standby: the primary it follows. A standby decides nothing: its log is the
    /// primary's, record for record (``appendFollowed(epoch:lsn:payload:completion:)``); client writes are refused.
    package let standbyOf: String?
    let state: Mutex<State>
    /// On a standby: reads on a new day its primary has yet to record (``noteAccess(arn:versionId:day:)``).
    let accessNotes = Mutex<Set<StandbyAccessNote>>([])
    let log: Logger
    /// The committed LSN, for threads that wait for new records (replication's shippers).
    private let commits: ConditionLock<UInt64>

    /// Why the log cannot be turned back into state: the node must not start.
    package struct RecoveryError: Error, CustomStringConvertible {
        package var description: String
    }

    /// How long a write may wait for its synchronous standbys before it is answered with a
    /// retryable error (it stays in the log and commits when they catch up).
    package let syncTimeoutSeconds: Double
    /// The durable LSN, for a primary's links to its standbys (which are sent durable records,
    /// not only committed ones: their acks are what commits them).
    let durables: ConditionLock<UInt64>

    /// Rebuilds the state from what journal recovery returned: the snapshot, then every record.
    package init(journal: Journal, recovered: Recovered, epoch: UInt64, log: Logger, standbyOf: String? = nil,
                 syncStandbys: Int = 0, syncTimeoutSeconds: Double = 10) throws(RecoveryError) {
        var secrets = SecretState()
        var lsn: UInt64 = 0
        var divergences = 0
        var firstDivergence: String?
        if let snapshot = recovered.snapshot {
            switch SecretState.decode(snapshot.state) {
            case .success(let decoded): secrets = decoded
            case .failure(let error): throw RecoveryError(description: "snapshot at LSN \(snapshot.lsn): \(error)")
            }
            lsn = snapshot.lsn
        }
        for record in recovered.records {
            switch Self.facts(of: record) {
            case .success(let facts):
                for fact in facts where !secrets.apply(fact) {
                    divergences += 1
                    if firstDivergence == nil { firstDivergence = Self.divergence(fact, lsn: record.lsn) }
                }
            case .failure(let error): throw RecoveryError(description: "record at LSN \(record.lsn): \(error)")
            }
            lsn = record.lsn
        }
        self.journal = journal
        self.epoch = epoch
        self.log = log
        self.standbyOf = standbyOf
        let lastEpoch = recovered.records.last?.epoch ?? recovered.snapshot?.epoch ?? (lsn == 0 ? 0 : epoch)
        self.syncTimeoutSeconds = syncTimeoutSeconds
        var initial = State(committed: secrets, committedLSN: lsn, committedEpoch: lastEpoch, pending: secrets, durableLSN: lsn)
        // What this node's log holds when it starts is committed: it is what it has (as a
        // promotion starts from what the standbys it reached agreed was the furthest log).
        if standbyOf == nil && syncStandbys > 0 { initial.sync = SyncCommit(required: syncStandbys, durable: lsn) }
        initial.divergences = divergences
        initial.firstDivergence = firstDivergence
        state = Mutex(initial)
        if let firstDivergence { log.error("the state has diverged from its log: \(divergences) fact(s) about secrets it does not hold; the first: \(firstDivergence)") }
        commits = ConditionLock(lsn)
        durables = ConditionLock(lsn)
    }

    /// One fact about a secret the state does not hold, described for the operator (no value).
    static func divergence(_ fact: Fact, lsn: UInt64) -> String {
        "record \(lsn) has a fact (\(fact.kindName)) about \(fact.arn), which this node does not hold"
    }

    /// Facts about secrets the state did not hold since the node started (0 while the state
    /// and its log agree), and the first of them: `strongroom status` shows them.
    package var divergence: (count: Int, first: String?) {
        state.withLock { ($0.divergences, $0.firstDivergence) }
    }

    /// A record's facts with their routes (a record from before replication has no routes).
    package static func routedFacts(of record: JournalRecord) -> Result<[(fact: Fact, routes: [String])], RecoveryError> {
        RegionLogRecord.routedFacts(type: record.type, payload: record.payload).mapError { RecoveryError(description: $0.description) }
    }

    package static func facts(of record: JournalRecord) -> Result<[Fact], RecoveryError> {
        routedFacts(of: record).map { $0.map(\.fact) }
    }

    /// The newest committed LSN once it is beyond `lsn`, or after `timeout` seconds whatever it is.
    package func waitForCommit(beyond lsn: UInt64, timeout: Double) -> UInt64 {
        commits.withLock(waitingUntil: { $0 > lsn }, timeout: timeout) { committed, _ in committed }
    }

    /// Wakes threads in `waitForCommit` and `waitForDurable` (at shutdown).
    package func wakeWaiters() {
        commits.broadcast()
        durables.broadcast()
    }

    /// The committed state with its LSN (a replication snapshot's source).
    package func readCommitted<T>(_ body: (SecretState, UInt64) -> T) -> T {
        state.withLock { body($0.committed, $0.committedLSN) }
    }

    /// The newest committed LSN.
    package var committedLSN: UInt64 { state.withLock { $0.committedLSN } }

    /// Where the committed log ends: its newest record's epoch and LSN (epoch 0, LSN 0: empty).
    package var committedPosition: (epoch: UInt64, lsn: UInt64) { state.withLock { ($0.committedEpoch, $0.committedLSN) } }

    /// Secrets in the committed state (for the startup log line).
    package var secretCount: Int { state.withLock { $0.committed.secrets.count } }

    package func read<T>(_ body: (SecretState) -> T) -> T {
        state.withLock { body($0.committed) }
    }

    package func write(
        _ decide: (SecretState) -> Result<WriteDecision, AWSError>,
        completion: @escaping @Sendable (Result<JSONValue, AWSError>) -> Void
    ) {
        write(unlessFailedSince: nil, decide, completion: completion)
    }

    /// Appends that failed since the node started: a writer that sends several writes in a row,
    /// each decided against the state its predecessors left (a replica link's records), reads it
    /// before the first and passes it with each, so that none is decided once an earlier one has
    /// failed. (Without it, a record whose predecessor failed, decided after the storage had
    /// recovered from that failure, was logged with its source position and the failed one was
    /// skipped for good: chaos disk-full, seed 3.)
    package var appendFailures: UInt64 { state.withLock { $0.failures } }

    /// ``write(_:completion:)``, refused (retryably) when an append has failed since
    /// `failures` was read (``appendFailures``).
    package func write(
        unlessFailedSince failures: UInt64?,
        _ decide: (SecretState) -> Result<WriteDecision, AWSError>,
        completion: @escaping @Sendable (Result<JSONValue, AWSError>) -> Void
    ) {
        if let standbyOf { return completion(.failure(AWSError.standbyRefusesWrites(primary: standbyOf))) }
        let immediate = state.withLock { state -> Result<JSONValue, AWSError>? in
            if let failures, state.failures != failures { return .failure(AWSError.storageUnavailable) }
            if let higher = state.fencedBy { return .failure(AWSError.fencedPrimary(epoch: epoch, higher: higher)) }
            if state.confirming { return .failure(AWSError.confirmingPrimary(epoch: epoch)) }
            if state.failed {
                guard state.inFlight == 0 else { return .failure(AWSError.storageUnavailable) }
                recoverFromFailure(&state)
            }
            let decision: WriteDecision
            switch decide(state.pending) {
            case .failure(let error): return .failure(error)
            case .success(let decided): decision = decided
            }
            if decision.facts.isEmpty {
                // Nothing to log, but the answer may rest on writes not yet durable (or, with
                // synchronous standbys, not yet committed).
                guard state.inFlight > 0 || !state.awaiting.isEmpty else { return .success(decision.answer) }
                state.waiters.append((state.lastQueued, decision.answer, completion, MonotonicClock.seconds()))
                return nil
            }
            let sequence = state.lastQueued + 1
            let facts = decision.facts
            let answer = decision.answer
            let payload = Fact.encode(routed: facts, routes: state.pending.routes(for: facts))
            let refused = journal.tryAppend(type: Self.routedRecordType, epoch: epoch, payload: payload) {
                [self] result in
                completed(sequence, facts: facts, answer: answer, result: result, completion: completion)
            }
            // Refused at once (halted, overloaded, closed): retryable, no detail of the disk.
            if refused != nil { return .failure(AWSError.storageUnavailable) }
            state.lastQueued = sequence
            state.inFlight += 1
            for fact in facts { state.pending.apply(fact) }
            return nil
        }
        if let immediate { completion(immediate) }
    }

    /// Why a standby could not append its primary's record.
    package struct FollowError: Error, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// On a standby: appends the primary's record as it is, at the same epoch and LSN, and
    /// applies its facts once durable. A record that is not the next of this log, or does not
    /// decode, is refused before anything is appended (`completion` gets why).
    package func appendFollowed(epoch recordEpoch: UInt64, lsn: UInt64, payload: [UInt8],
                                completion: @escaping @Sendable (Result<Void, FollowError>) -> Void) {
        let refusal = state.withLock { state -> FollowError? in
            guard standbyOf != nil else { return FollowError("this node is its region's primary; it follows no log") }
            guard !state.followingStopped else { return FollowError("this node takes no more records of this primary (a higher epoch is known)") }
            let next = state.committedLSN + state.followedInFlight + 1
            guard lsn == next else { return FollowError("record \(lsn) is not the next of this log (\(next))") }
            guard case .success(let entries) = RegionLogRecord.routedFacts(type: Self.routedRecordType, payload: payload) else {
                return FollowError("record \(lsn) does not decode")
            }
            let facts = entries.map(\.fact)
            let refused = journal.tryAppend(type: Self.routedRecordType, epoch: recordEpoch, payload: payload) { [self] result in
                followedCompleted(lsn: lsn, epoch: recordEpoch, facts: facts, result: result, completion: completion)
            }
            if let refused { return FollowError("record \(lsn) not stored: \(refused)") }
            state.followedInFlight += 1
            for fact in facts { state.pending.apply(fact) }
            return nil
        }
        if let refusal { completion(.failure(refusal)) }
    }

    /// On the journal's writer thread, in LSN order.
    private func followedCompleted(lsn expected: UInt64, epoch recordEpoch: UInt64, facts: [Fact], result: Result<UInt64, JournalError>,
                                   completion: @Sendable (Result<Void, FollowError>) -> Void) {
        var resume = false
        let outcome = state.withLock { state -> Result<Void, FollowError> in
            state.followedInFlight -= 1
            switch result {
            case .success(let lsn) where lsn == expected:
                // A standby's record is durable and committed at once: its log's end is both.
                state.durableLSN = lsn
                applyCommitted(&state, facts: facts, lsn: lsn)
                state.committedEpoch = recordEpoch
                return .success(())
            case .success(let lsn):
                // Cannot happen while appends are checked against the next LSN under the lock.
                log.error("standby: the primary's record \(expected) was appended at LSN \(lsn); stop this node and seed it again")
                return .failure(FollowError("record \(expected) appended at \(lsn)"))
            case .failure(let error):
                state.failures += 1
                // The journal halted and fails every record queued behind this one: once the
                // last has completed, the state is the committed one and the journal goes on.
                if state.followedInFlight == 0 {
                    state.pending = state.committed
                    resume = true
                }
                return .failure(FollowError("record \(expected) not stored: \(error)"))
            }
        }
        if resume { journal.resume() }
        if case .success = outcome { advanceCommits(to: expected) }
        completion(outcome)
    }

    /// On the journal's writer thread, in LSN order.
    private func completed(
        _ sequence: UInt64, facts: [Fact], answer: JSONValue, result: Result<UInt64, JournalError>,
        completion: @escaping @Sendable (Result<JSONValue, AWSError>) -> Void
    ) {
        var released: [(@Sendable (Result<JSONValue, AWSError>) -> Void, Result<JSONValue, AWSError>)] = []
        var answerNow = true
        var committedNow: UInt64?
        // A primary fenced by a newer epoch acknowledges nothing more: a write it had queued is
        // answered with a retryable error (it may survive in the new primary's log, or not).
        var fencedBy: UInt64?
        state.withLock { state in
            state.inFlight -= 1
            fencedBy = state.fencedBy
            switch result {
            case .success(let lsn) where state.sync != nil:
                // Durable here; committed (applied, answered, shipped) once the standbys hold it.
                state.durableLSN = lsn
                var awaiting = AwaitingCommit(sequence: sequence, lsn: lsn, facts: facts, answer: answer, completion: completion,
                                              sinceSeconds: MonotonicClock.seconds())
                if let higher = state.fencedBy {
                    awaiting.answered = true
                    released.append((completion, .failure(AWSError.fencedPrimary(epoch: epoch, higher: higher))))
                }
                state.awaiting.append(awaiting)
                answerNow = false
                if let commit = state.sync?.localDurable(lsn) {
                    released += commitAwaiting(&state, through: commit)
                    committedNow = commit
                }
            case .success(let lsn):
                state.durableLSN = lsn
                applyCommitted(&state, facts: facts, lsn: lsn)
                committedNow = lsn
                while let first = state.waiters.first, first.after <= sequence {
                    released.append((first.completion, .success(first.answer)))
                    state.waiters.removeFirst()
                }
            case .failure(let error):
                if !state.failed { log.error("write not stored, refusing writes until the journal drains: \(error)") }
                state.failed = true
                state.failures += 1
                // Idempotent answers queued behind a failed write rest on it: they fail too.
                for waiter in state.waiters { released.append((waiter.completion, .failure(AWSError.storageUnavailable))) }
                state.waiters.removeAll()
            }
            if state.failed && state.inFlight == 0 { recoverFromFailure(&state) }
        }
        if case .success(let lsn) = result {
            durables.withLock { $0 = max($0, lsn) }
            durables.broadcast()
        }
        if let committedNow { advanceCommits(to: committedNow) }
        if answerNow {
            if let higher = fencedBy, case .success = result {
                completion(.failure(AWSError.fencedPrimary(epoch: epoch, higher: higher)))
            } else {
                completion(result.map { _ in answer }.mapError { _ in AWSError.storageUnavailable })
            }
        }
        for (waiter, outcome) in released { waiter(outcome) }
    }

    /// Applies a committed record's facts to what readers see.
    func applyCommitted(_ state: inout State, facts: [Fact], lsn: UInt64) {
        for fact in facts where !state.committed.apply(fact) {
            state.divergences += 1
            if state.firstDivergence == nil {
                let text = Self.divergence(fact, lsn: lsn)
                state.firstDivergence = text
                log.error("the state has diverged from its log: \(text)")
            }
        }
        state.committedLSN = lsn
    }

    /// Wakes the shippers waiting for committed records.
    func advanceCommits(to lsn: UInt64) {
        commits.withLock { $0 = max($0, lsn) }
        commits.broadcast()
    }

    /// Every queued append has completed since a failure: forget what never became durable
    /// (durable records still waiting for their standbys stay: they are in the log).
    private func recoverFromFailure(_ state: inout State) {
        state.pending = state.committed
        for waiting in state.awaiting { for fact in waiting.facts { state.pending.apply(fact) } }
        state.failed = false
        journal.resume()
        log.info("journal resumed after a failed write; accepting writes again")
    }

    // MARK: SnapshotSource

    package func captureSnapshot() -> (lsn: UInt64, epoch: UInt64, state: [UInt8]) {
        let (lsn, recordEpoch, copy) = state.withLock { ($0.committedLSN, $0.committedEpoch, $0.committed) }
        return (lsn, max(recordEpoch, 1), copy.encode())
    }
}
