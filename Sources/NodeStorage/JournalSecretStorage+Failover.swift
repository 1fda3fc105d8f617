import AWSProtocol
import Failover
package import LogShipping
import JSON
import SecretsAPI
import Journal
import Platform
import SecretStore
import Synchronization

/// What a promotion and a fence do to the storage: stop accepting writes (a primary that hears
/// of a higher epoch), stop taking the primary's records (a standby fenced, or being promoted),
/// wait for the appends already queued, and append the promotion record.
extension JournalSecretStorage {
    /// From now on client writes are refused (retryably): `higher` is a newer epoch of this region.
    /// Writes waiting for their standbys are answered now with a retryable error and never
    /// acknowledged later (a fenced node acknowledges nothing): their records stay in the log,
    /// and survive if the new primary holds them.
    package func fence(epoch higher: UInt64) {
        let waiting = state.withLock { state in
            if state.fencedBy.map({ $0 < higher }) ?? true { state.fencedBy = higher }
            return Self.takeUnanswered(&state, waiters: true)
        }
        for completion in waiting { completion(.failure(AWSError.fencedPrimary(epoch: epoch, higher: higher))) }
    }

    /// A primary that just started refuses client writes until its region has told it no newer
    /// epoch exists (``confirming``), so that an old primary coming back does not take writes
    /// for the moment before it hears of a promotion.
    package func setConfirming(_ on: Bool) {
        state.withLock { $0.confirming = on }
    }

    package var isConfirming: Bool { state.withLock { $0.confirming } }

    /// The newer epoch this storage was fenced by, if any.
    package var fencedBy: UInt64? { state.withLock { $0.fencedBy } }

    /// A standby takes no more of its primary's records (those queued still complete).
    package func stopFollowing() {
        state.withLock { $0.followingStopped = true }
    }

    /// Waits (at most `timeout` seconds) until no append this storage queued is in flight.
    /// Returns whether they all finished.
    package func waitForAppendsToSettle(timeout: Double) -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        while true {
            let busy = state.withLock { $0.inFlight > 0 || $0.followedInFlight > 0 }
            if !busy { return true }
            if MonotonicClock.seconds() >= deadline { return false }
            OSThread.sleep(seconds: 0.002)
        }
    }

    /// Appends the promotion record (an empty routed record) at `epoch`, the first record of
    /// that epoch in this log, and waits until it is durable. The caller stopped following and
    /// waited for the appends in flight; returns its LSN.
    package func appendPromotionRecord(epoch newEpoch: UInt64, expectedLSN: UInt64, timeout: Double) -> Result<UInt64, FollowError> {
        let outcome = ConditionLock<Result<UInt64, JournalError>?>(nil)
        let payload = Fact.encode(routed: [], routes: [])
        let refused = journal.tryAppend(type: Self.routedRecordType, epoch: newEpoch, payload: payload) { result in
            outcome.withLock { $0 = result }
            outcome.broadcast()
        }
        if let refused { return .failure(FollowError("the promotion record was not appended: \(refused)")) }
        let result = outcome.withLock(waitingUntil: { $0 != nil }, timeout: timeout) { state, _ in state }
        switch result {
        case .success(let lsn)?:
            guard lsn == expectedLSN else {
                return .failure(FollowError("the promotion record was appended at LSN \(lsn), not \(expectedLSN)"))
            }
            return .success(lsn)
        case .failure(let error)?:
            return .failure(FollowError("the promotion record was not stored: \(error)"))
        case nil:
            return .failure(FollowError("the promotion record was not durable within \(timeout) s"))
        }
    }

    /// On a standby: a read on a new day is noted for the primary to record (the notes ride on
    /// the standby link's acks); false on a primary, which records it itself.
    package func noteAccess(arn: String, versionId: String, day: Int64) -> Bool {
        guard standbyOf != nil else { return false }
        accessNotes.withLock { notes in
            if notes.count < StandbyAccessNotes.maximumNotes * 4 { notes.insert(StandbyAccessNote(arn: arn, versionId: versionId, day: day)) }
        }
        return true
    }

    /// The notes not yet recorded: those the log this standby follows does not show yet (the
    /// others are dropped).
    package func pendingAccessNotes() -> [StandbyAccessNote] {
        let shown = { (state: SecretState, note: StandbyAccessNote) -> Bool in
            guard let secret = state.secrets[note.arn] else { return true }  // gone: nothing to record
            let version = secret.version(id: note.versionId)
            return (secret.lastAccessedDate ?? .min) >= note.day && (version.map { ($0.lastAccessedDate ?? .min) >= note.day } ?? true)
        }
        let snapshot = accessNotes.withLock { $0 }
        guard !snapshot.isEmpty else { return [] }
        let done = read { state in snapshot.filter { shown(state, $0) } }
        return accessNotes.withLock { notes in
            notes.subtract(done)
            return notes.sorted { ($0.day, $0.arn, $0.versionId) < ($1.day, $1.arn, $1.versionId) }
        }
    }
}
