public import Platform

/// A `sm-replication-lag` run's settings, taken from parsed `LoadOptions` (which checked them):
/// every member a run needs, none optional.
public struct LagOptions: Sendable {
    public var primary: TargetURL
    public var replica: TargetURL
    public var primaryRegion: String
    public var replicaRegion: String
    public var caFile: String?
    public var accessKey: String
    public var secretKey: String
    public var label: String
    /// Writes per second, and the seconds they are sent for.
    public var rate: Double
    public var duration: Double
    /// Writes in all: `rate × duration`, rounded down.
    public var writes: Int
    /// Write `seq` goes to secret `seq % secrets` (`secretPrefix` + six digits), which must exist
    /// on both nodes.
    public var secrets: Int
    public var secretPrefix: String
    /// Secrets written round robin at a time (nil: all); see `LagTracker`.
    public var hotSecrets: Int?
    /// The most write connections to the primary, and the poll connections to the replica.
    public var writeConnections: Int
    public var pollers: Int
    public var drain: Double
    public var timeout: Double

    /// Nil unless `options` is a `sm-replication-lag` run.
    public init?(_ options: LoadOptions) {
        guard options.workload == .smReplicationLag, let replica = options.replicaURL, let replicaRegion = options.replicaRegion,
              let rate = options.rate, let accessKey = options.accessKey, let secretKey = options.secretKey else { return nil }
        primary = options.url
        self.replica = replica
        primaryRegion = options.region
        self.replicaRegion = replicaRegion
        caFile = options.caFile
        self.accessKey = accessKey
        self.secretKey = secretKey
        label = options.label
        self.rate = rate
        duration = options.duration
        writes = Int(rate * options.duration)
        secrets = options.secrets
        secretPrefix = options.secretPrefix
        hotSecrets = options.hotSecrets
        writeConnections = options.concurrency
        pollers = options.pollers
        drain = options.drain
        timeout = options.timeout
    }
}
