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

    public init(
        arn: String, name: String, accountId: String, description: String?, kmsKeyId: String?,
        tags: [SecretTag], resourcePolicy: String? = nil, createdDate: Int64, lastChangedDate: Int64,
        lastAccessedDate: Int64? = nil, deletedDate: Int64? = nil, rotation: Rotation = Rotation(),
        versions: [SecretVersion] = []
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
    }

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
        versions.first { $0.versionId == id }
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
