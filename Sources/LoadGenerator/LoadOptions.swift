public import Platform

/// Where requests go: `http://HOST:PORT[/path]` or `https://HOST:PORT[/path]`, HOST an IP literal
/// or `localhost` (the benchmark only targets this machine, so there is no DNS).
public struct TargetURL: Sendable, Equatable {
    /// TLS (https) or plain TCP (http).
    public var isTLS: Bool
    /// The address connected to.
    public var address: SocketAddress
    /// The Host header: the authority exactly as written in the URL (SigV4 signs it).
    public var authority: String
    /// The name the server certificate must carry: the IP literal or `localhost`.
    public var host: String
    /// The URL's path, "/" when it has none.
    public var path: String

    /// Parses a URL; nil for anything but the forms above.
    public init?(_ text: String) {
        let rest: Substring
        if text.hasPrefix("https://") {
            isTLS = true
            rest = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            isTLS = false
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@"), !path.contains("#") else { return nil }
        var hostPart = authority
        var port: UInt16 = isTLS ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = UInt16(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            hostPart = String(authority[..<colon])
            port = p
        }
        host = hostPart
        let numeric = hostPart == "localhost" ? "127.0.0.1" : hostPart
        guard port != 0, let address = SocketAddress(host: numeric, port: port) else { return nil }
        self.address = address
        self.authority = authority
    }
}

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

/// A command line that cannot run: printed with the usage text, exit status 2.
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
