/// A tag as AWS stores it: tags are an ordered list with unique keys.
public struct SecretTag: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// RotateSecret's `RotationRules`.
public struct RotationRules: Sendable, Hashable {
    public var automaticallyAfterDays: Int64?
    public var scheduleExpression: String?
    public var duration: String?

    public init(automaticallyAfterDays: Int64? = nil, scheduleExpression: String? = nil, duration: String? = nil) {
        self.automaticallyAfterDays = automaticallyAfterDays
        self.scheduleExpression = scheduleExpression
        self.duration = duration
    }
}

/// Rotation metadata of a secret. The core records it; invoking the Lambda is the API's business.
public struct Rotation: Sendable, Hashable {
    public var enabled: Bool
    public var lambdaARN: String?
    public var rules: RotationRules?
    public var nextRotationDate: Int64?
    public var lastRotatedDate: Int64?

    public init(
        enabled: Bool = false, lambdaARN: String? = nil, rules: RotationRules? = nil,
        nextRotationDate: Int64? = nil, lastRotatedDate: Int64? = nil
    ) {
        self.enabled = enabled
        self.lambdaARN = lambdaARN
        self.rules = rules
        self.nextRotationDate = nextRotationDate
        self.lastRotatedDate = lastRotatedDate
    }
}

/// A secret: its identity, metadata and versions. All dates are milliseconds since the epoch.
public struct Secret: Sendable, Hashable {
    /// `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`.
    public var arn: String
    public var name: String
    public var accountId: String
    public var description: String?
    public var kmsKeyId: String?
    public var tags: [SecretTag]
    public var resourcePolicy: String?
    public var createdDate: Int64
    public var lastChangedDate: Int64
    /// Day granularity (midnight UTC of the last day a value was read), as AWS reports it.
    public var lastAccessedDate: Int64?
    /// When a secret scheduled for deletion will be purged; nil when it is not scheduled.
    public var deletedDate: Int64?
    public var rotation: Rotation
    /// In creation order.
    public var versions: [SecretVersion]
    /// The region whose log owns the secret when this is a replica (read-only here); nil for a
    /// secret owned by this node's own region log.
    public var primaryRegion: String?
    /// On the primary: the regions the secret is replicated to, with their status.
    public var replicas: [ReplicaStatus]
    /// Whether the secret ever had tags: AWS then lists `Tags` (empty once every tag is gone);
    /// a secret never tagged has no `Tags` member.
    public var everTagged: Bool

    public init(
        arn: String, name: String, accountId: String, description: String?, kmsKeyId: String?,
        tags: [SecretTag], resourcePolicy: String? = nil, createdDate: Int64, lastChangedDate: Int64,
        lastAccessedDate: Int64? = nil, deletedDate: Int64? = nil, rotation: Rotation = Rotation(),
        versions: [SecretVersion] = [], primaryRegion: String? = nil, replicas: [ReplicaStatus] = [], everTagged: Bool? = nil
    ) {
        self.arn = arn
        self.name = name
        self.accountId = accountId
        self.description = description
        self.kmsKeyId = kmsKeyId
        self.tags = tags
        self.resourcePolicy = resourcePolicy
        self.createdDate = createdDate
        self.lastChangedDate = lastChangedDate
        self.lastAccessedDate = lastAccessedDate
        self.deletedDate = deletedDate
        self.rotation = rotation
        self.versions = versions
        self.primaryRegion = primaryRegion
        self.replicas = replicas
        self.everTagged = everTagged ?? !tags.isEmpty
    }

    /// True for a replica of another region's secret: reads only, until promoted.
    public var isReplica: Bool { primaryRegion != nil }

    /// True while the secret is scheduled for deletion.
    public var isScheduledForDeletion: Bool { deletedDate != nil }

    /// The version carrying `label`, if any (a label is on at most one version).
    public func version(withStage label: String) -> SecretVersion? {
        // From the newest: labels (AWSCURRENT above all) sit on recent versions, and a secret
        // may hold a hundred. A label is on at most one version, so the direction changes nothing.
        versions.last { $0.stages.contains(label) }
    }

    /// The version with this id.
    public func version(id: String) -> SecretVersion? {
        let wanted = VersionID(id)
        return versions.first { $0.id == wanted }
    }

    /// Every label in use, across versions.
    public var allStages: Set<String> {
        var labels = Set<String>()
        for version in versions { labels.formUnion(version.stages) }
        return labels
    }

    /// `VersionIdsToStages` for DescribeSecret: labelled versions only.
    public var versionIdsToStages: [(versionId: String, stages: [String])] {
        versions.filter { !$0.isDeprecated }.map { ($0.versionId, $0.stages) }
    }
}

/// One replica region of a primary secret, as DescribeSecret's `ReplicationStatus` reports it.
public struct ReplicaStatus: Sendable, Hashable {
    public enum State: UInt8, Sendable, Hashable {
        case inProgress = 1
        case inSync = 2
        case failed = 3

        /// AWS's spelling.
        public var name: String {
            switch self {
            case .inProgress: "InProgress"
            case .inSync: "InSync"
            case .failed: "Failed"
            }
        }
    }

    public var region: String
    /// The replica region's key, as the client named it; nil for that region's default key.
    public var kmsKeyId: String?
    public var state: State
    public var message: String?
    /// Midnight UTC of the last day the copy was read in its region, as the replica region
    /// reported it; nil until then (AWS omits `LastAccessedDate` for a replica never read).
    public var lastAccessedDate: Int64?

    public init(region: String, kmsKeyId: String?, state: State, message: String? = nil, lastAccessedDate: Int64? = nil) {
        self.region = region
        self.kmsKeyId = kmsKeyId
        self.state = state
        self.message = message
        self.lastAccessedDate = lastAccessedDate
    }
}

/// What a replica region reports back to the source region about one secret, kept in the
/// replica's state until the source has recorded it (so that neither a restart nor a cut link
/// loses it).
public struct ReplicaNotice: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        /// The secret was copied into the replica region.
        case seeded = 1
        /// The copy was refused (a name clash without ForceOverwriteReplicaSecret).
        case failed = 2
        /// StopReplicationToReplica made the replica a standalone secret of its region.
        case promoted = 3
        /// The copy was read (`accessedDay` says which day); nothing else to report.
        case accessed = 4
    }

    public var kind: Kind
    public var message: String?
    /// The last day (midnight UTC) the copy was read in the replica region, carried by any
    /// kind of notice so that a pending one is amended rather than replaced.
    public var accessedDay: Int64?

    public init(kind: Kind, message: String? = nil, accessedDay: Int64? = nil) {
        self.kind = kind
        self.message = message
        self.accessedDay = accessedDay
    }

    /// Whether it carries an access day (or is the `.accessed` kind): what only format 3 holds,
    /// and what a node of the previous version cannot read.
    public var carriesAccessDay: Bool { accessedDay != nil || kind == .accessed }
}

/// A replica region's progress through one source region's log: the last applied record's
/// (epoch, LSN), and the notices the source has not yet recorded, by the primary's ARN.
public struct SourceProgress: Sendable, Hashable {
    public var epoch: UInt64
    public var lsn: UInt64
    public var notices: [String: ReplicaNotice]

    public init(epoch: UInt64 = 0, lsn: UInt64 = 0, notices: [String: ReplicaNotice] = [:]) {
        self.epoch = epoch
        self.lsn = lsn
        self.notices = notices
    }
}
