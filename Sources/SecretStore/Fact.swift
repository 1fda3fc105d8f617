/// A decided outcome, as the region log records it. Facts carry everything a replica needs to
/// reach the same state (ids, dates, label moves), so `apply` never decides anything.
public enum Fact: Sendable, Hashable {
    /// A new secret without versions (a `versionAdded` follows when it has a value).
    case secretCreated(arn: String, name: String, accountId: String, description: String?, kmsKeyId: String?,
                       tags: [SecretTag], date: Int64)
    /// A new version, then `moves` applied in order (they may name the new version).
    case versionAdded(arn: String, version: SecretVersion, moves: [LabelMove], date: Int64)
    /// Deprecated versions removed beyond the 100-version quota.
    case versionsRemoved(arn: String, versionIds: [String])
    /// UpdateSecretVersionStage's outcome.
    case labelsMoved(arn: String, moves: [LabelMove], date: Int64)
    /// UpdateSecret's metadata: nil members are unchanged.
    case metadataUpdated(arn: String, description: String?, kmsKeyId: String?, date: Int64)
    /// Labelled versions' values re-wrapped under another keyring key (a `KmsKeyId` change).
    case valuesResealed(arn: String, values: [ResealedValue], date: Int64)
    /// Scheduled for deletion; purged at `deletionDate`.
    case secretDeleted(arn: String, deletionDate: Int64)
    case secretRestored(arn: String, date: Int64)
    /// Gone for good (forced deletion or an expired recovery window). The name is free again.
    case secretPurged(arn: String)
    /// The resulting tag list.
    case tagsSet(arn: String, tags: [SecretTag], date: Int64)
    case policySet(arn: String, policy: String?, date: Int64)
    case rotationSet(arn: String, rotation: Rotation, date: Int64)
    /// Midnight UTC of the day the value was read.
    case secretAccessed(arn: String, day: Int64)
    /// One version read on a new `day` (ListSecretVersionIds' per-version LastAccessedDate).
    /// Kept in its region: never shipped (format 4).
    case versionAccessed(arn: String, versionId: String, day: Int64)

    // Replication (see `SecretState+Replication.swift`).

    /// The primary's resulting replica list (regions added or removed, a status recorded).
    case replicationSet(arn: String, replicas: [ReplicaStatus])
    /// A whole secret copied to `region` (ReplicateSecretToRegions, CreateSecret's
    /// AddReplicaRegions, a snapshot catch-up); its `arn` is the secret's. On the primary it
    /// changes nothing; a replica region turns it into its own copy.
    case replicaSeeded(region: String, forceOverwrite: Bool, secret: Secret)
    /// The replica in `region` is to be deleted (RemoveRegionsFromReplication). Removes the secret
    /// only where it is a replica.
    case replicaRemoved(arn: String, region: String)
    /// StopReplicationToReplica: the replica becomes a standalone secret of this region.
    case replicaPromoted(arn: String, date: Int64)
    /// The primary recorded `region`'s `notice` about its secret `arn` (nothing changes on the
    /// primary; the replica region forgets the notice when it receives this, if it is still
    /// that notice: a newer one, such as a promotion after a copy, stays until it is recorded).
    case noticeAcknowledged(arn: String, region: String, notice: ReplicaNotice)
    /// A replica region applied the source region's log through (epoch, LSN).
    case replicatedThrough(sourceRegion: String, epoch: UInt64, lsn: UInt64)
    /// A replica region's notice to the source region about the primary secret `primaryARN`
    /// (nil: recorded by the source, forgotten here).
    case replicaNoticeSet(sourceRegion: String, primaryARN: String, notice: ReplicaNotice?)
    /// Every replica of `sourceRegion` dropped (a snapshot catch-up follows with the copies).
    case replicasDropped(sourceRegion: String)

    /// The fact's case name (e.g. `versionAdded`), for messages: never its values.
    public var kindName: String {
        Mirror(reflecting: self).children.first?.label ?? "\(self)"
    }

    /// The secret the fact is about; "" for the facts about a replication source.
    public var arn: String {
        switch self {
        case .replicationSet(let arn, _), .replicaRemoved(let arn, _), .replicaPromoted(let arn, _),
             .noticeAcknowledged(let arn, _, _):
            return arn
        case .replicaSeeded(_, _, let secret):
            return secret.arn
        case .replicatedThrough, .replicaNoticeSet, .replicasDropped:
            return ""
        case .secretCreated(let arn, _, _, _, _, _, _), .versionAdded(let arn, _, _, _),
             .versionsRemoved(let arn, _), .labelsMoved(let arn, _, _), .metadataUpdated(let arn, _, _, _),
             .secretDeleted(let arn, _), .secretRestored(let arn, _), .secretPurged(let arn),
             .tagsSet(let arn, _, _), .policySet(let arn, _, _), .rotationSet(let arn, _, _),
             .secretAccessed(let arn, _), .valuesResealed(let arn, _, _), .versionAccessed(let arn, _, _):
            return arn
        }
    }
}
