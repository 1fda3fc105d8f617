/// A new value as the API decoded and sealed it.
public struct NewValue: Sendable, Hashable {
    public var sealed: SealedValue
    /// The plaintext's size in bytes (checked against the 65,536-byte limit).
    public var plaintextSize: Int

    public init(sealed: SealedValue, plaintextSize: Int) {
        self.sealed = sealed
        self.plaintextSize = plaintextSize
    }
}

/// A write request, with its inputs as the API layer decoded them. `secretId` is a name, a full
/// ARN or a partial ARN, exactly as the client sent it.
public enum Command: Sendable, Hashable {
    case createSecret(name: String, clientRequestToken: String?, description: String?, kmsKeyId: String?,
                      value: NewValue?, tags: [SecretTag], replicas: [ReplicaRegion] = [], forceOverwriteReplica: Bool = false)
    case putSecretValue(secretId: String, clientRequestToken: String?, value: NewValue, versionStages: [String]?)
    /// `resealed`: when `kmsKeyId` names another key, the secret's labelled versions sealed
    /// again under it by the API (the core cannot decrypt); empty otherwise.
    case updateSecret(secretId: String, clientRequestToken: String?, description: String?, kmsKeyId: String?,
                      value: NewValue?, resealed: [ResealedValue] = [])
    case updateSecretVersionStage(secretId: String, versionStage: String, removeFromVersionId: String?,
                                  moveToVersionId: String?)
    case deleteSecret(secretId: String, recoveryWindowInDays: Int64?, forceDeleteWithoutRecovery: Bool)
    case restoreSecret(secretId: String)
    case tagResource(secretId: String, tags: [SecretTag])
    case untagResource(secretId: String, tagKeys: [String])
    case putResourcePolicy(secretId: String, policy: String)
    case deleteResourcePolicy(secretId: String)
    /// RotateSecret: the rotation configuration, and with `rotateImmediately` the rotation's
    /// version `token` (AWSPENDING, no value yet: the function's createSecret puts it). Running
    /// the function is the node's rotation runner's. `minimumIntervalMillis` is the node's floor
    /// for schedules (AWS's four hours unless configured lower).
    case rotateSecret(secretId: String, rotationLambdaARN: String?, rules: RotationRules?, token: String? = nil,
                      rotateImmediately: Bool = false, minimumIntervalMillis: Int64 = RotationSchedule.awsMinimumIntervalMillis)
    /// A scheduled rotation starts (the rotation runner, on the region's primary): the version
    /// `token`, AWSPENDING, no value.
    case startRotation(secretId: String, token: String)
    /// The rotation of `token` finished (its finishSecret step made it AWSCURRENT): record
    /// LastRotatedDate and the next window.
    case finishRotation(secretId: String, token: String)
    case cancelRotateSecret(secretId: String)
    /// GetSecretValue succeeded: record the access day (a fact only when the day changes).
    case recordAccess(secretId: String, versionId: String? = nil)
    /// Purge every secret whose recovery window has passed at `context.now`.
    case purgeExpired
    case replicateSecretToRegions(secretId: String, replicas: [ReplicaRegion], forceOverwrite: Bool)
    case removeRegionsFromReplication(secretId: String, regions: [String])
    /// In a replica region: the replica becomes a standalone secret of this region.
    case stopReplicationToReplica(secretId: String)
    /// Region-level DR: every replica here whose primary is in `region` becomes a standalone
    /// secret of this region (StopReplicationToReplica for each, in one write). Nothing to do
    /// is not an error: running it twice promotes nothing the second time.
    case promoteReplicas(of: String)
    /// A replica region's notices about secrets of this region (see `recordNotices`).
    case recordReplicaNotices(region: String, notices: [String: ReplicaNotice])
}

/// What a decision may depend on besides the state: time, place, caller and pre-drawn randomness.
public struct DecisionContext: Sendable, Hashable {
    /// Milliseconds since the epoch.
    public var now: Int64
    public var region: String
    /// The calling account: names resolve in it, new secrets belong to it.
    public var accountId: String
    /// Six characters of `[A-Za-z0-9]` for a new secret's ARN.
    public var arnSuffix: String
    /// A UUID for a new version when the client sent no ClientRequestToken.
    public var versionId: String

    public init(now: Int64, region: String, accountId: String, arnSuffix: String, versionId: String) {
        precondition(arnSuffix.utf8.count == 6 && arnSuffix.utf8.allSatisfy(Names.isAlphanumeric),
                     "an ARN suffix is six alphanumeric characters")
        self.now = now
        self.region = region
        self.accountId = accountId
        self.arnSuffix = arnSuffix
        self.versionId = versionId
    }
}
