public import SecretStore

/// Which rotations are due, from the secrets' state alone (pure): what the rotation runner on a
/// region's primary asks every few seconds. Everything it reads is in the replicated state
/// (the rotation configuration, `NextRotationDate`, a version carrying AWSPENDING without
/// AWSCURRENT), so a new primary after a promotion finds the same schedules and the same
/// rotations in progress, and a node that was down through a window rotates when it returns:
/// once, since a finished rotation moves `NextRotationDate` past now.
public enum RotationPlanner {
    public struct Due: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// The window has come: a new rotation, with a fresh token.
            case scheduled
            /// A rotation in progress (AWSPENDING on a version that is not AWSCURRENT):
            /// resumed with its own token, from createSecret (each step is idempotent).
            case resume(token: String)
            /// A rotation finished (its version is AWSCURRENT) whose end was never recorded:
            /// record it, rather than rotate again.
            case record(token: String)
        }

        public var secretARN: String
        public var accountId: String
        public var kind: Kind

        public init(secretARN: String, accountId: String, kind: Kind) {
            self.secretARN = secretARN
            self.accountId = accountId
            self.kind = kind
        }
    }

    /// The rotations due at `now`, in the order of `secrets`.
    ///
    /// - Parameters:
    ///   - running: secrets whose rotation runs now (never two at once for one secret).
    ///   - heldUntil: secrets whose last run failed, with the time before which it is not
    ///     tried again on its own (a RotateSecret call lifts the hold).
    public static func due(
        _ secrets: some Sequence<Secret>, now: Int64, running: Set<String>, heldUntil: [String: Int64]
    ) -> [Due] {
        var due: [Due] = []
        for secret in secrets {
            guard !secret.isReplica, !secret.isScheduledForDeletion, secret.rotation.enabled, secret.rotation.lambdaARN != nil,
                  !running.contains(secret.arn) else { continue }
            if let hold = heldUntil[secret.arn], now < hold { continue }
            if let pending = SecretState.rotationInProgress(secret) {
                // A rotation someone started (RotateSecret) or one cut short (a failure, a crash,
                // a promotion). CancelRotateSecret stops it (the guard above): AWS leaves the
                // partial version's AWSPENDING for the operator to remove.
                due.append(Due(secretARN: secret.arn, accountId: secret.accountId, kind: .resume(token: pending.versionId)))
            } else if let finished = SecretState.unrecordedRotation(secret) {
                due.append(Due(secretARN: secret.arn, accountId: secret.accountId, kind: .record(token: finished.versionId)))
            } else if let next = secret.rotation.nextRotationDate, next <= now {
                due.append(Due(secretARN: secret.arn, accountId: secret.accountId, kind: .scheduled))
            }
        }
        return due
    }
}
