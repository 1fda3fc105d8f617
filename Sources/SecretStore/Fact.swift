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

    /// The secret the fact is about.
    public var arn: String {
        switch self {
        case .secretCreated(let arn, _, _, _, _, _, _), .versionAdded(let arn, _, _, _),
             .versionsRemoved(let arn, _), .labelsMoved(let arn, _, _), .metadataUpdated(let arn, _, _, _),
             .secretDeleted(let arn, _), .secretRestored(let arn, _), .secretPurged(let arn),
             .tagsSet(let arn, _, _), .policySet(let arn, _, _), .rotationSet(let arn, _, _),
             .secretAccessed(let arn, _), .valuesResealed(let arn, _, _):
            return arn
        }
    }
}
