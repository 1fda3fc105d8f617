public import Platform

/// Everything one run needs, validated: `LoadOptions.parse` is the only way in from a command
/// line, and it refuses combinations that cannot work (https without a CA, Secrets Manager
/// without credentials) with a message naming the option.
public struct LoadOptions: Sendable {
    public var url: TargetURL
    /// The CA bundle the server certificate must chain to (https only).
    public var caFile: String?
    /// The target's name in the report.
    public var label: String
    public var workload: Workload

    /// Connections, each a closed loop with one request in flight.
    public var concurrency = 16
    /// Event-loop threads the connections are spread over.
    public var threads = OSThread.availableCores
    /// Seconds of load before measuring (not recorded).
    public var warmup = 1.0
    /// Seconds measured (for `sm-seed`: the time allowed for the whole seeding).
    public var duration = 10.0
    /// Stop after this many measured responses.
    public var requests: Int?
    /// Seconds granted beyond warmup + duration before the run is abandoned as stuck.
    public var timeout = 10.0
    public var seed: UInt64 = 1

    /// Secrets Manager names are `secretPrefix` + six digits, 0..<secrets.
    public var secrets = 100
    public var secretPrefix = "bench/s"
    /// `sm-seed`: PutSecretValue calls per secret after its CreateSecret.
    public var versions = 0
    /// `sm-mix`: the share of reads, 0–100.
    public var readPercent = 90
    /// etcd keys are `keyPrefix` + six digits, 0..<keys.
    public var keys = 100
    public var keyPrefix = "bench/k"
    /// `http-get`: the path requested.
    public var path = "/"

    public var accessKey: String?
    public var secretKey: String?
    public var region = "us-east-1"

    /// `sm-replication-lag`: the replica polled, its region, the primary's write rate (writes
    /// per second, open loop), the poll connections and the seconds allowed after the last
    /// write for the replica to show every write.
    public var replicaURL: TargetURL?
    public var replicaRegion: String?
    public var rate: Double?
    public var pollers = 4
    public var hotSecrets: Int?
    public var drain = 10.0

    /// Print one JSON object instead of the human line.
    public var json = false

    public init(url: TargetURL, workload: Workload, label: String? = nil) {
        self.url = url
        self.workload = workload
        self.label = label ?? "\(url.isTLS ? "https" : "http")://\(url.authority)"
        self.path = url.path
    }

    /// Limits that keep a mistyped number from exhausting the machine.
    public static let maximumConcurrency = 10_000
    public static let maximumThreads = 256
    /// Names carry six digits.
    public static let maximumNames = 1_000_000
}
