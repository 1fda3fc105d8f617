/// What each request of a run asks for.
public enum Workload: String, CaseIterable, Sendable {
    /// GetSecretValue on a uniformly random secret of `--secrets`.
    case smGet = "sm-get"
    /// PutSecretValue with a fresh ClientRequestToken and 100-byte SecretString (a new version).
    case smPut = "sm-put"
    /// `--read-percent` GetSecretValue, the rest PutSecretValue.
    case smMix = "sm-mix"
    /// DescribeSecret on a random secret.
    case smDescribe = "sm-describe"
    /// ListSecrets with MaxResults 100.
    case smList = "sm-list"
    /// Creates the `--secrets` secrets and `--versions` extra versions each, every request once.
    case smSeed = "sm-seed"
    /// PutSecretValue at `--rate` writes/s against `--url` while `--replica-url` is polled with
    /// GetSecretValue: replication lag (`LagRun`).
    case smReplicationLag = "sm-replication-lag"
    /// GET `--path` (a static file server such as nginx).
    case httpGet = "http-get"
    /// etcd's JSON gateway: put a fresh value on one of `--keys` keys.
    case etcdPut = "etcd-put"
    /// etcd's JSON gateway: range (get) on one of `--keys` keys.
    case etcdGet = "etcd-get"

    /// Whether requests are AWS JSON 1.1 calls signed with SigV4.
    public var isSecretsManager: Bool { rawValue.hasPrefix("sm-") }

    /// Whether the run is a fixed list of requests (each sent once) rather than a timed loop.
    public var isWorkQueue: Bool { self == .smSeed }

    /// The names, for usage text and errors.
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
