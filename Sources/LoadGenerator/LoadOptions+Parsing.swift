import Foundation
import JSON
import Platform

extension LoadOptions {
    /// The command's help, printed by `--help` and after a usage error.
    public static let usage = """
        usage: strongroom-load --url URL --workload NAME [options]

        Drives one HTTP/1.1 server with closed-loop keep-alive connections (each sends a request,
        reads the whole response, records its latency and sends the next), then reports
        throughput, latency percentiles and the generator's own CPU.

        Target:
          --url URL              http://HOST:PORT[/path] or https://HOST:PORT[/path]; HOST is an
                                 IP literal or localhost
          --ca FILE              PEM CA bundle the server certificate must chain to (https)
          --endpoint-json FILE   endpoint.json of `strongroom dev`: URL, region, CA bundle and
                                 the admin's keys (options given explicitly win)
          --label NAME           the target's name in the report (default: the URL)
        Workload:
          --workload NAME        sm-get | sm-put | sm-mix | sm-describe | sm-list | sm-seed |
                                 sm-replication-lag | http-get | etcd-put | etcd-get
          --secrets N            secrets PREFIX000000 … PREFIX(N-1) (default 100)
          --secret-prefix P      (default bench/s)
          --versions V           sm-seed: PutSecretValue calls per secret after creating it (0)
          --read-percent P       sm-mix: share of GetSecretValue, the rest PutSecretValue (90)
          --keys N               etcd-put, etcd-get: keys PREFIX000000 … (default 100)
          --key-prefix P         (default bench/k)
          --path PATH            http-get: the path (default: the URL's, else /)
          --access-key ID        SigV4 credentials (sm-*)
          --secret-key KEY
          --region R             (default us-east-1)
        Replication lag (sm-replication-lag: PutSecretValue on --url at a fixed rate, each
        value carrying its sequence number, while --replica-url is polled with GetSecretValue
        for the secrets with a write not yet seen there; lag = seen on the replica - the
        primary's 200, on one monotonic clock; --concurrency is the most write connections):
          --replica-url URL      the replica node (same --ca and credentials)
          --replica-region R     the replica's region (its requests are signed for it)
          --rate N               writes per second, open loop, for --duration seconds
          --pollers N            poll connections (default 4)
          --hot-secrets G        write G secrets round robin at a time, each taking its share
                                 of the writes before the next G take over, so that only a few
                                 secrets wait to be polled (default: all --secrets at once)
          --drain S              seconds allowed after the last write for the replica to show
                                 every acknowledged write (default 10)
        Load:
          --concurrency N        connections, one request in flight each (default 16)
          --threads T            event-loop threads (default: one per core)
          --warmup S             seconds of unrecorded load first (default 1; not sm-seed)
          --duration S           seconds measured (default 10; sm-seed: the time allowed, 300)
          --requests N           stop after N measured responses
          --seed N               seed of the key choice (default 1)
          --timeout S            extra seconds before a stuck run is abandoned (default 10)
        Output:
          --json                 one JSON object on stdout instead of the human line
          --help

        Exit status: 0 when the run completed (errors are counted and reported), 1 when no
        request succeeded, seeding did not finish in time or (sm-replication-lag) an
        acknowledged write never showed on the replica, 2 for a usage error.
        """

    /// Options that take no value.
    static let switches: Set<String> = ["--json", "--help"]
    static let valued: Set<String> = [
        "--url", "--ca", "--endpoint-json", "--label", "--workload", "--secrets", "--secret-prefix",
        "--versions", "--read-percent", "--keys", "--key-prefix", "--path", "--access-key", "--secret-key",
        "--region", "--replica-url", "--replica-region", "--rate", "--pollers", "--hot-secrets", "--drain", "--concurrency", "--threads", "--warmup", "--duration", "--requests", "--seed", "--timeout",
    ]

    /// Parses a command line (without the program name).
    /// - Returns: nil for `--help`.
    /// - Throws: `UsageError` naming the offending option.
    public static func parse(_ arguments: [String]) throws(UsageError) -> LoadOptions? {
        var given: [String: String] = [:]
        var i = 0
        while i < arguments.count {
            var name = arguments[i]
            var value: String?
            if let eq = name.firstIndex(of: "="), name.hasPrefix("--") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if switches.contains(name) {
                guard value == nil else { throw UsageError("\(name) takes no value") }
                given[name] = ""
            } else if valued.contains(name) {
                if value == nil {
                    i += 1
                    guard i < arguments.count else { throw UsageError("\(name) needs a value") }
                    value = arguments[i]
                }
                guard given[name] == nil else { throw UsageError("\(name) given twice") }
                given[name] = value
            } else {
                throw UsageError(name.hasPrefix("-") ? "unknown option \(name)" : "unexpected argument \(name)")
            }
            i += 1
        }
        if given["--help"] != nil { return nil }

        var endpoint: EndpointFile?
        if let file = given["--endpoint-json"] { endpoint = try EndpointFile.read(file) }
        guard let urlText = given["--url"] ?? endpoint?.endpoint else { throw UsageError("--url is required") }
        guard let url = TargetURL(urlText) else {
            throw UsageError("--url \(urlText): expected http://HOST:PORT or https://HOST:PORT with an IP literal or localhost")
        }
        guard let workloadName = given["--workload"] else { throw UsageError("--workload is required (\(Workload.names))") }
        guard let workload = Workload(rawValue: workloadName) else {
            throw UsageError("--workload \(workloadName): expected one of \(Workload.names)")
        }
        var options = LoadOptions(url: url, workload: workload, label: given["--label"])
        options.caFile = given["--ca"] ?? endpoint?.caBundle
        options.accessKey = given["--access-key"] ?? endpoint?.accessKeyId
        options.secretKey = given["--secret-key"] ?? endpoint?.secretAccessKey
        options.region = given["--region"] ?? endpoint?.region ?? options.region
        options.json = given["--json"] != nil
        if let path = given["--path"] {
            guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
                throw UsageError("--path \(path): expected an absolute path without spaces")
            }
            options.path = path
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int? {
            guard let text = given[name] else { return nil }
            guard let n = Int(text), range.contains(n) else {
                throw UsageError("\(name) \(text): expected an integer in \(range.lowerBound)…\(range.upperBound)")
            }
            return n
        }
        func seconds(_ name: String, minimum: Double) throws(UsageError) -> Double? {
            guard let text = given[name] else { return nil }
            guard let s = Double(text), s.isFinite, s >= minimum, s <= 86_400 else {
                throw UsageError("\(name) \(text): expected seconds, at least \(minimum)")
            }
            return s
        }
        func namePrefix(_ name: String, default fallback: String) throws(UsageError) -> String {
            guard let text = given[name] else { return fallback }
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-")
            guard !text.isEmpty, text.count <= 200, text.allSatisfy({ allowed.contains($0) }) else {
                throw UsageError("\(name) \(text): expected 1–200 characters of A-Z a-z 0-9 /_+=.@-")
            }
            return text
        }
        options.concurrency = try integer("--concurrency", 1...maximumConcurrency) ?? options.concurrency
        options.threads = try integer("--threads", 1...maximumThreads) ?? options.threads
        options.threads = min(options.threads, options.concurrency)
        options.requests = try integer("--requests", 1...Int(Int32.max))
        options.secrets = try integer("--secrets", 1...(maximumNames - 1)) ?? options.secrets
        options.keys = try integer("--keys", 1...(maximumNames - 1)) ?? options.keys
        options.versions = try integer("--versions", 0...99) ?? options.versions
        options.readPercent = try integer("--read-percent", 0...100) ?? options.readPercent
        options.secretPrefix = try namePrefix("--secret-prefix", default: options.secretPrefix)
        options.keyPrefix = try namePrefix("--key-prefix", default: options.keyPrefix)
        if let text = given["--seed"] {
            guard let seed = UInt64(text) else { throw UsageError("--seed \(text): expected a non-negative integer") }
            options.seed = seed
        }
        options.warmup = workload.isWorkQueue ? 0 : try seconds("--warmup", minimum: 0) ?? options.warmup
        options.duration = try seconds("--duration", minimum: 0.01) ?? (workload.isWorkQueue ? 300 : options.duration)
        options.timeout = try seconds("--timeout", minimum: 0) ?? options.timeout

        options.pollers = try integer("--pollers", 1...256) ?? options.pollers
        options.hotSecrets = try integer("--hot-secrets", 1...(maximumNames - 1))
        options.drain = try seconds("--drain", minimum: 0) ?? options.drain
        if workload == .smReplicationLag {
            guard let text = given["--replica-url"], let replica = TargetURL(text) else {
                throw UsageError("sm-replication-lag needs --replica-url http(s)://HOST:PORT (the replica polled)")
            }
            options.replicaURL = replica
            guard let region = given["--replica-region"] else { throw UsageError("sm-replication-lag needs --replica-region") }
            options.replicaRegion = region
            guard let text = given["--rate"], let rate = Double(text), rate.isFinite, rate > 0, rate <= 100_000 else {
                throw UsageError("sm-replication-lag needs --rate N: writes per second, above 0 and at most 100000")
            }
            options.rate = rate
            let writes = rate * options.duration
            guard writes >= 1, writes <= Double(LagTracker.maximumWrites) else {
                throw UsageError("--rate × --duration: \(Int(writes)) writes; expected 1…\(LagTracker.maximumWrites)")
            }
            if let option = ["--requests", "--warmup", "--versions", "--read-percent"].first(where: { given[$0] != nil }) {
                throw UsageError("\(option) does not apply to sm-replication-lag")
            }
            if replica.isTLS && options.caFile == nil { throw UsageError("an https --replica-url needs --ca FILE") }
        } else if let option = ["--replica-url", "--replica-region", "--rate", "--pollers", "--hot-secrets", "--drain"].first(where: { given[$0] != nil }) {
            throw UsageError("\(option) applies only to sm-replication-lag")
        }

        if url.isTLS && options.caFile == nil {
            throw UsageError("an https URL needs --ca FILE (the CA bundle the server certificate chains to)")
        }
        if workload.isSecretsManager && (options.accessKey == nil || options.secretKey == nil) {
            throw UsageError("\(workload.rawValue) signs requests: give --access-key and --secret-key (or --endpoint-json)")
        }
        if workload.isWorkQueue, let option = ["--requests", "--warmup"].first(where: { given[$0] != nil }) {
            throw UsageError("\(option) does not apply to sm-seed, which sends each of its requests once")
        }
        return options
    }
}

/// The fields of `strongroom dev`'s endpoint.json that a client needs.
struct EndpointFile {
    var endpoint: String
    var region: String?
    var caBundle: String?
    var accessKeyId: String?
    var secretAccessKey: String?

    /// Reads `path`; a missing file or one without an endpoint is a usage error.
    static func read(_ path: String) throws(UsageError) -> EndpointFile {
        let bytes: [UInt8]
        do {
            bytes = try Files.readContents(of: path, limit: 1 << 20)
        } catch {
            throw UsageError("--endpoint-json \(path): \(error.message)")
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw UsageError("--endpoint-json \(path): \(error)")
        }
        guard let endpoint = root["endpoint"]?.stringValue else {
            throw UsageError("--endpoint-json \(path): no \"endpoint\" field")
        }
        var file = EndpointFile(endpoint: endpoint, region: root["region"]?.stringValue, caBundle: root["caBundle"]?.stringValue)
        if case .array(let accounts)? = root["accounts"], let first = accounts.first,
           case .array(let principals)? = first["principals"],
           let admin = principals.first(where: { $0["name"]?.stringValue == "admin" }) {
            file.accessKeyId = admin["accessKeyId"]?.stringValue
            file.secretAccessKey = admin["secretAccessKey"]?.stringValue
        }
        return file
    }
}
