public import ArgumentParsing
import Foundation
import JSON
import Platform

extension LoadOptions {
    /// The options under the usage's headings, each with what the usage says of it: the
    /// parser's declaration (`syntax`) and the usage text are both made from this table.
    static let sections: [(heading: String, options: [(option: Option, help: String)])] = [
        ("Target:", [
            (.value("--url", "URL"), """
                http://HOST:PORT[/path] or https://HOST:PORT[/path]; HOST is an
                IP literal or localhost (required unless --endpoint-json gives it)
                """),
            (.value("--ca", "FILE"), "PEM CA bundle the server certificate must chain to (https)"),
            (.value("--endpoint-json", "FILE"), """
                endpoint.json of `strongroom dev`: URL, region, CA bundle and
                the admin's keys (options given explicitly win)
                """),
            (.value("--label", "NAME"), "the target's name in the report (default: the URL)"),
        ]),
        ("Workload:", [
            (.value("--workload", "NAME", required: true), """
                sm-get | sm-put | sm-mix | sm-describe | sm-list | sm-seed |
                sm-replication-lag | http-get | etcd-put | etcd-get
                """),
            (.value("--secrets", "N"), "secrets PREFIX000000 … PREFIX(N-1) (default 100)"),
            (.value("--secret-prefix", "P"), "(default bench/s)"),
            (.value("--versions", "V"), "sm-seed: PutSecretValue calls per secret after creating it (0)"),
            (.value("--read-percent", "P"), "sm-mix: share of GetSecretValue, the rest PutSecretValue (90)"),
            (.value("--keys", "N"), "etcd-put, etcd-get: keys PREFIX000000 … (default 100)"),
            (.value("--key-prefix", "P"), "(default bench/k)"),
            (.value("--path", "PATH"), "http-get: the path (default: the URL's, else /)"),
            (.value("--access-key", "ID"), "SigV4 credentials (sm-*)"),
            (.value("--secret-key", "KEY"), ""),
            (.value("--region", "R"), "(default us-east-1)"),
        ]),
        ("""
            Replication lag (sm-replication-lag: PutSecretValue on --url at a fixed rate, each
            value carrying its sequence number, while --replica-url is polled with GetSecretValue
            for the secrets with a write not yet seen there; lag = seen on the replica - the
            primary's 200, on one monotonic clock; --concurrency is the most write connections):
            """, [
            (.value("--replica-url", "URL"), "the replica node (same --ca and credentials)"),
            (.value("--replica-region", "R"), "the replica's region (its requests are signed for it)"),
            (.value("--rate", "N"), "writes per second, open loop, for --duration seconds"),
            (.value("--pollers", "N"), "poll connections (default 4)"),
            (.value("--hot-secrets", "G"), """
                write G secrets round robin at a time, each taking its share
                of the writes before the next G take over, so that only a few
                secrets wait to be polled (default: all --secrets at once)
                """),
            (.value("--drain", "S"), """
                seconds allowed after the last write for the replica to show
                every acknowledged write (default 10)
                """),
        ]),
        ("Load:", [
            (.value("--concurrency", "N"), "connections, one request in flight each (default 16)"),
            (.value("--threads", "T"), "event-loop threads (default: one per core)"),
            (.value("--warmup", "S"), "seconds of unrecorded load first (default 1; not sm-seed)"),
            (.value("--duration", "S"), "seconds measured (default 10; sm-seed: the time allowed, 300)"),
            (.value("--requests", "N"), "stop after N measured responses"),
            (.value("--seed", "N"), "seed of the key choice (default 1)"),
            (.value("--timeout", "S"), "extra seconds before a stuck run is abandoned (default 10)"),
        ]),
        ("Output:", [
            (.flag("--json"), "one JSON object on stdout instead of the human line"),
        ]),
    ]

    /// The command's syntax: every option, once, in the usage's order (no operands, no subcommand).
    public static let syntax = CommandSyntax(
        program: "strongroom-load", path: [], options: sections.flatMap { $0.options.map(\.option) },
        description: description)

    /// What the usage says under the synopsis: what the command does, each option under its
    /// heading with its help, and the exit statuses.
    static var description: String {
        var lines = [
            "Drives one HTTP/1.1 server with closed-loop keep-alive connections (each sends a request,",
            "reads the whole response, records its latency and sends the next), then reports",
            "throughput, latency percentiles and the generator's own CPU.",
        ]
        for section in sections {
            lines.append("")
            lines += section.heading.split(separator: "\n").map(String.init)
            for (option, help) in section.options {
                let spelled = option.placeholder.isEmpty ? option.name : option.name + " " + option.placeholder
                let helpLines = help.isEmpty ? [""] : help.split(separator: "\n").map(String.init)
                let column = String(repeating: " ", count: max(2, 23 - spelled.count))
                lines.append(helpLines[0].isEmpty ? "  " + spelled : "  " + spelled + column + helpLines[0])
                lines += helpLines.dropFirst().map { String(repeating: " ", count: 25) + $0 }
            }
        }
        lines += [
            "",
            "Exit status: 0 when the run completed (errors are counted and reported), 1 when no",
            "request succeeded, seeding did not finish in time or (sm-replication-lag) an",
            "acknowledged write never showed on the replica, 2 for a usage error.",
        ]
        return lines.joined(separator: "\n")
    }

    /// The command's help, printed by `--help` (or `-h`) and after a usage error: the synopsis
    /// generated from `syntax`, then its description.
    public static let usage = "usage:\n" + syntax.usage(indent: "  ")
        + "\n\nOptions are --name VALUE or --name=VALUE; --help (or -h) prints this usage."

    /// Parses a command line (without the program name).
    /// - Returns: nil for `--help` or `-h`.
    /// - Throws: `UsageError` naming the offending option: an unknown, valueless, repeated or
    ///   missing one (`syntax` finds those), or a value out of range or of the wrong form.
    public static func parse(_ arguments: [String]) throws(UsageError) -> LoadOptions? {
        let given = try syntax.parse(arguments)
        if given.help { return nil }

        var endpoint: EndpointFile?
        if let file = given.value("--endpoint-json") { endpoint = try EndpointFile.read(file) }
        guard let urlText = given.value("--url") ?? endpoint?.endpoint else { throw UsageError("--url is required (or --endpoint-json)") }
        guard let url = TargetURL(urlText) else {
            throw UsageError("--url \(urlText): expected http://HOST:PORT or https://HOST:PORT with an IP literal or localhost")
        }
        let workloadName = given.value("--workload") ?? ""  // required: `syntax` refuses a line without it
        guard let workload = Workload(rawValue: workloadName) else {
            throw UsageError("--workload \(workloadName): expected one of \(Workload.names)")
        }
        var options = LoadOptions(url: url, workload: workload, label: given.value("--label"))
        options.caFile = given.value("--ca") ?? endpoint?.caBundle
        options.accessKey = given.value("--access-key") ?? endpoint?.accessKeyId
        options.secretKey = given.value("--secret-key") ?? endpoint?.secretAccessKey
        options.region = given.value("--region") ?? endpoint?.region ?? options.region
        options.json = given.has("--json")
        if let path = given.value("--path") {
            guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
                throw UsageError("--path \(path): expected an absolute path without spaces")
            }
            options.path = path
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int? {
            guard let text = given.value(name) else { return nil }
            guard let n = Int(text), range.contains(n) else {
                throw UsageError("\(name) \(text): expected an integer in \(range.lowerBound)…\(range.upperBound)")
            }
            return n
        }
        func seconds(_ name: String, minimum: Double) throws(UsageError) -> Double? {
            guard let text = given.value(name) else { return nil }
            guard let s = Double(text), s.isFinite, s >= minimum, s <= 86_400 else {
                throw UsageError("\(name) \(text): expected seconds, at least \(minimum)")
            }
            return s
        }
        func namePrefix(_ name: String, default fallback: String) throws(UsageError) -> String {
            guard let text = given.value(name) else { return fallback }
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
        if let text = given.value("--seed") {
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
            guard let text = given.value("--replica-url"), let replica = TargetURL(text) else {
                throw UsageError("sm-replication-lag needs --replica-url http(s)://HOST:PORT (the replica polled)")
            }
            options.replicaURL = replica
            guard let region = given.value("--replica-region") else { throw UsageError("sm-replication-lag needs --replica-region") }
            options.replicaRegion = region
            guard let text = given.value("--rate"), let rate = Double(text), rate.isFinite, rate > 0, rate <= 100_000 else {
                throw UsageError("sm-replication-lag needs --rate N: writes per second, above 0 and at most 100000")
            }
            options.rate = rate
            let writes = rate * options.duration
            guard writes >= 1, writes <= Double(LagTracker.maximumWrites) else {
                throw UsageError("--rate × --duration: \(Int(writes)) writes; expected 1…\(LagTracker.maximumWrites)")
            }
            if let option = ["--requests", "--warmup", "--versions", "--read-percent"].first(where: { given.has($0) }) {
                throw UsageError("\(option) does not apply to sm-replication-lag")
            }
            if replica.isTLS && options.caFile == nil { throw UsageError("an https --replica-url needs --ca FILE") }
        } else if let option = ["--replica-url", "--replica-region", "--rate", "--pollers", "--hot-secrets", "--drain"].first(where: { given.has($0) }) {
            throw UsageError("\(option) applies only to sm-replication-lag")
        }

        if url.isTLS && options.caFile == nil {
            throw UsageError("an https URL needs --ca FILE (the CA bundle the server certificate chains to)")
        }
        if workload.isSecretsManager && (options.accessKey == nil || options.secretKey == nil) {
            throw UsageError("\(workload.rawValue) signs requests: give --access-key and --secret-key (or --endpoint-json)")
        }
        if workload.isWorkQueue, let option = ["--requests", "--warmup"].first(where: { given.has($0) }) {
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
