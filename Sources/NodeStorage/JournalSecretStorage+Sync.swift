package import AWSProtocol
import Failover
import JSON
import Platform
import SecretStore
import SecretsAPI
import Synchronization
import Logging

/// A durable record waiting for its synchronous standbys: applied, answered and shipped to the
/// other regions once committed.
struct AwaitingCommit {
    var sequence: UInt64
    var lsn: UInt64
    var facts: [Fact]
    var answer: JSONValue
    var completion: @Sendable (Result<JSONValue, AWSError>) -> Void
    var sinceSeconds: Double
    /// Answered already (with the retryable error, when it waited too long).
    var answered = false
}

extension AWSError {
    /// A write durable here but not yet on enough standbys within the bound: its outcome is
    /// unknown (it commits when they catch up), so a server fault that SDKs retry; the retry,
    /// with the same ClientRequestToken, finds it.
    package static func syncStandbysUnavailable(required: Int) -> AWSError {
        AWSError(.internalServiceError, "An error occurred on the server side: the write is not yet held by \(required) standby node(s) "
            + "of this region (syncStandbys); its outcome is unknown: retry it with the same ClientRequestToken.")
    }
}

/// `syncStandbys: k` on a primary: a write is answered, shown to readers and shipped to other
/// regions only once it is durable here and on `k` standbys (``SyncCommit``, the decision the
/// failover simulation proves). Standbys are sent durable records; their acks move the commit.
extension JournalSecretStorage {
    /// `k`, or nil with `syncStandbys: 0` (and on a standby).
    package var syncStandbys: Int? { state.withLock { $0.sync?.required } }

    /// The newest LSN durable in this node's log.
    package var durableLSN: UInt64 { state.withLock { $0.durableLSN } }

    /// The newest durable LSN once it is beyond `lsn`, or after `timeout` seconds whatever it is.
    package func waitForDurable(beyond lsn: UInt64, timeout: Double) -> UInt64 {
        durables.withLock(waitingUntil: { $0 > lsn }, timeout: timeout) { durable, _ in durable }
    }

    /// A standby acknowledged holding this log through `lsn` (its link checked it follows this
    /// log from its own end).
    package func standbyAcknowledged(_ node: String, through lsn: UInt64) {
        var released: [(@Sendable (Result<JSONValue, AWSError>) -> Void, Result<JSONValue, AWSError>)] = []
        let committed = state.withLock { state -> UInt64? in
            guard var sync = state.sync else { return nil }
            let commit = sync.acknowledged(by: node, through: min(lsn, state.durableLSN))
            state.sync = sync
            guard let commit else { return nil }
            released = commitAwaiting(&state, through: commit)
            return commit
        }
        if let committed { advanceCommits(to: committed) }
        for (completion, outcome) in released { completion(outcome) }
    }

    /// Answers with the retryable error every write that has waited longer than the bound (it
    /// stays in the log, and commits when the standbys catch up). Called a few times a second.
    package func expireSyncWaits(nowSeconds: Double = MonotonicClock.seconds()) {
        var expired: [@Sendable (Result<JSONValue, AWSError>) -> Void] = []
        let required = state.withLock { state -> Int in
            guard let sync = state.sync else { return 0 }
            for index in state.awaiting.indices where !state.awaiting[index].answered
                && nowSeconds - state.awaiting[index].sinceSeconds >= syncTimeoutSeconds {
                state.awaiting[index].answered = true
                expired.append(state.awaiting[index].completion)
            }
            // An idempotent retry waits for the write it rests on as long as a write would.
            let waiting = state.waiters
            state.waiters = waiting.filter { nowSeconds - $0.sinceSeconds < syncTimeoutSeconds }
            expired += waiting.filter { nowSeconds - $0.sinceSeconds >= syncTimeoutSeconds }.map(\.completion)
            return sync.required
        }
        guard !expired.isEmpty else { return }
        log.error("\(expired.count) write(s) not held by \(required) standby node(s) within \(syncTimeoutSeconds) s: answered with a retryable error")
        for completion in expired { completion(.failure(AWSError.syncStandbysUnavailable(required: required))) }
    }

    /// The node is stopping: every write still waiting for its standbys is answered now with the
    /// retryable error (it is in the log, and committed when the node starts again), so that no
    /// thread waits for an ack that the closed links will never bring.
    package func answerAwaitingCommits() {
        let (waiting, required) = state.withLock { state in
            (Self.takeUnanswered(&state, waiters: state.sync != nil), state.sync?.required ?? 0)
        }
        for completion in waiting { completion(.failure(AWSError.syncStandbysUnavailable(required: required))) }
    }

    /// The completions of the writes waiting for their standbys that are not yet answered, each
    /// marked answered (its record stays and may still commit, unanswered); with `waiters`,
    /// also the idempotent answers queued behind writes, removed. The caller answers them all.
    static func takeUnanswered(_ state: inout State, waiters: Bool) -> [@Sendable (Result<JSONValue, AWSError>) -> Void] {
        var taken: [@Sendable (Result<JSONValue, AWSError>) -> Void] = []
        for index in state.awaiting.indices where !state.awaiting[index].answered {
            state.awaiting[index].answered = true
            taken.append(state.awaiting[index].completion)
        }
        if waiters {
            taken += state.waiters.map(\.completion)
            state.waiters.removeAll()
        }
        return taken
    }

    /// Commits the awaiting records through `lsn`: applied to what readers see, answered (unless
    /// answered already), and the idempotent answers queued behind them released.
    func commitAwaiting(_ state: inout State, through lsn: UInt64)
        -> [(@Sendable (Result<JSONValue, AWSError>) -> Void, Result<JSONValue, AWSError>)] {
        var released: [(@Sendable (Result<JSONValue, AWSError>) -> Void, Result<JSONValue, AWSError>)] = []
        while let first = state.awaiting.first, first.lsn <= lsn {
            state.awaiting.removeFirst()
            applyCommitted(&state, facts: first.facts, lsn: first.lsn)
            if !first.answered { released.append((first.completion, .success(first.answer))) }
            while let waiter = state.waiters.first, waiter.after <= first.sequence {
                released.append((waiter.completion, .success(waiter.answer)))
                state.waiters.removeFirst()
            }
        }
        return released
    }
}
