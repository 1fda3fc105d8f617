/// AWS's limits, kept (DESIGN.md "Limits"). Every one is named here.
public enum Limits {
    public static let maxValueBytes = 65_536
    public static let maxDescriptionLength = 2_048
    public static let maxTags = 50
    public static let maxTagKeyLength = 128
    public static let maxTagValueLength = 256
    public static let maxResourcePolicyLength = 20_480
    public static let maxRotationLambdaARNLength = 2_048
    /// Versions per secret; deprecated versions beyond it are removed, oldest first.
    public static let maxVersions = 100
    /// Distinct staging labels across the versions of one secret.
    public static let maxStagingLabels = 20
    /// A deprecated version younger than this is never removed.
    public static let minDeprecatedAgeMillis: Int64 = millisPerDay
    public static let recoveryWindowDays: ClosedRange<Int64> = 7...30
    public static let defaultRecoveryWindowDays: Int64 = 30
    public static let rotationDays: ClosedRange<Int64> = 1...1000
    public static let maxListResults = 100
    public static let millisPerDay: Int64 = 86_400_000
}

/// The labels Secrets Manager gives meaning to.
public enum StagingLabel {
    public static let current = "AWSCURRENT"
    public static let previous = "AWSPREVIOUS"
    public static let pending = "AWSPENDING"
}
