import Audit
import Foundation
import Node
import Platform
import Configuration
import Front
import Logging
import Provisioning

/// The `strongroom` command line. Exit status: 0 on a clean stop, 2 for a usage or
/// configuration problem (one line on standard error, nothing started).
let usage = """
    usage:
      strongroom dev [--dir DIR] [--port N] [--region R]
          Make (first run) or reuse a complete single-node environment in DIR
          (default \(DevEnvironment.defaultDirectory)) and serve it on https://127.0.0.1:N
          (default \(DevEnvironment.defaultPort)), region R (default \(DevEnvironment.defaultRegion)).
      strongroom serve --config FILE
          Run a node from an explicit JSON configuration.
      strongroom cluster init [--dir DIR] [--regions R1,R2,...]
          Make a local multi-region cluster in DIR (default \(ClusterEnvironment.defaultDirectory),
          missing or empty): a CA, one node per region (default
          \(ClusterEnvironment.defaultRegions.joined(separator: ",")); node ids REGION-a) on free
          127.0.0.1 ports, each replicating from every other, one IAM file and a front. cluster/up
          starts it.
      strongroom cluster manifest [--dir DIR] --pids R1=PID,R2=PID,... [--front-pid PID]
          Write DIR/cluster.json for the running processes and print how to use the cluster.
      strongroom cluster show [--dir DIR]
          Print how to use the cluster that DIR/cluster.json describes.
    \(FrontConfiguration.usage)
      strongroom status --endpoint URL [--json] [--ca-bundle FILE] [--region R]
          Ask the node at URL (https://HOST:PORT) for its region, role, replication address and
          logs: per subscriber its acked LSN, lag and link; per replica log its source, applied
          and source LSN, lag, link and last error. A summary, or the node's JSON with --json.
          Signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) for region
          R (default AWS_REGION, AWS_DEFAULT_REGION, else \(StatusCommand.defaultRegion)), trusting FILE (default
          AWS_CA_BUNDLE); the caller needs strongroom:GetNodeStatus. Exit 1 when the node cannot
          be reached or answers with an error (its __type and message on standard error).
      strongroom journal verify --dir DIR
          Check a data directory's region log and snapshots offline (exit 1 on a problem).
      strongroom journal dump --dir DIR [--from LSN] [--limit N]
          Print record metadata (LSN, epoch, type, size; never values). The node must be stopped.
      strongroom journal bench --dir DIR [--seconds N]
          Measure the disk: raw fdatasync rate, and group-committed journal appends at 1, 16, 64.
      strongroom iam issue-session --principal ARN [--duration 1h] [--session-name NAME]
                                   [--tag KEY=VALUE]... [--env] [--iam FILE | --dir DIR]
          Temporary credentials (access key, secret, session token) for a configured user or
          role, valid 15m to 12h (default 1h), signed with the IAM file's sessionSigningKey.
          The IAM file is FILE, or DIR/iam.json (default DIR \(DevEnvironment.defaultDirectory)).
          JSON as STS prints it, or export lines with --env.
      strongroom audit verify [--dir DATA_DIR]
          Check the audit trail in DATA_DIR/audit (default \(defaultDataDirectory), the dev
          environment's) against its hash chain and signatures (key DATA_DIR/audit-signing.key).
          Prints one line and exits 0 when intact; lists each edited, removed or reordered record
          and exits 1 otherwise.
      strongroom audit query [--dir DATA_DIR] [--since T] [--until T] [--principal P]
                             [--secret S] [--event E] [--denied] [--json]
          Print the audit records that match every filter given, as a table or (--json) as the
          stored JSON lines. T: 2026-11-23T10:00:00Z or a date 2026-11-23 (UTC, the whole day);
          P: a user or role ARN, its name, a principal id or an access key id; S: a secret name
          or ARN; E: an operation name such as GetSecretValue; --denied: AccessDeniedException only.
      strongroom help
    """

/// The data directory of `strongroom dev`, where the audit commands look by default.
var defaultDataDirectory: String { DevEnvironment.defaultDirectory + "/data" }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("strongroom: \(message)\n".utf8))
    exit(2)
}

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Parses `--name value` options and `--flag`s without a value (present: "" in the result);
/// anything else is a usage error.
func options(_ arguments: ArraySlice<String>, allowed: Set<String>, flags: Set<String> = []) -> [String: String] {
    var result: [String: String] = [:]
    var rest = arguments
    while let flag = rest.popFirst() {
        if flags.contains(flag) {
            result[flag] = ""
            continue
        }
        guard allowed.contains(flag) else { fail("unknown option '\(flag)'\n\(usage)") }
        guard let value = rest.popFirst(), !value.hasPrefix("--") else { fail("\(flag) needs a value") }
        result[flag] = value
    }
    return result
}

/// `strongroom audit verify`: exit 0 with one line when intact, 1 with every problem otherwise.
func auditVerify(dataDirectory: String) -> Int32 {
    let keyPath = dataDirectory + "/audit-signing.key"
    let key = Result { () throws(AuditError) in try AuditSigningKey.load(path: keyPath) }
    if case .failure(let error) = key {
        FileHandle.standardError.write(Data("strongroom: \(error.message); signatures are not checked\n".utf8))
    }
    let result = AuditVerifier.verify(directory: dataDirectory + "/audit", signingKey: try? key.get())
    say(result.summary)
    guard !result.ok else { return 0 }
    for problem in result.problems { say("  " + problem.description) }
    if result.omittedProblems > 0 { say("  … and \(result.omittedProblems) more problems") }
    for note in result.notes { say("  note: " + note) }
    return 1
}

/// `strongroom audit query`: the matching records as a table, or the stored lines with --json.
func auditQuery(dataDirectory: String, given: [String: String]) -> Int32 {
    let query: AuditQuery
    do {
        query = try AuditQuery(since: given["--since"], until: given["--until"], principal: given["--principal"],
                               secret: given["--secret"], event: given["--event"], deniedOnly: given["--denied"] != nil)
    } catch {
        fail(error.message)
    }
    let json = given["--json"] != nil
    var rows: [AuditQuery.Row] = []
    let statistics: AuditQuery.Statistics
    do {
        statistics = try query.run(directory: dataDirectory + "/audit") { match in
            if json { say(match.text) } else { rows.append(match.row) }
        }
    } catch {
        fail(error.message)
    }
    if !json { say(rows.isEmpty ? "no matching records (\(statistics.records) read)" : AuditQuery.table(rows)) }
    if statistics.skippedLines > 0 {
        FileHandle.standardError.write(Data("strongroom: \(statistics.skippedLines) lines are not JSON and were skipped; run strongroom audit verify\n".utf8))
    }
    return 0
}

func run(_ node: Node) -> Never {
    do {
        try node.start()
    } catch {
        fail(error.message)
    }
    node.runUntilSignalled()
    exit(0)
}

let arguments = CommandLine.arguments.dropFirst()

switch arguments.first {
case "dev":
    Signals.prepare()
    let given = options(arguments.dropFirst(), allowed: ["--dir", "--port", "--region"])
    var port: UInt16?
    if let text = given["--port"] {
        guard let value = UInt16(text) else { fail("--port must be a number from 0 to 65535, got '\(text)'") }
        port = value
    }
    let directory = given["--dir"] ?? DevEnvironment.defaultDirectory
    do {
        let configuration = try DevEnvironment.prepare(directory: directory, port: port, region: given["--region"], now: Date())
        let node = try Node(configuration: configuration)
        let boundPort = node.boundAddresses.first?.port ?? 0
        let endpointPath = Files.absolutePath(directory) + "/endpoint.json"
        let endpoint = try DevEnvironment.endpointDocument(configuration: configuration, boundPort: boundPort)
        do {
            try Files.writeAtomically(Array(endpoint), to: endpointPath, mode: 0o600)
        } catch {
            fail("\(endpointPath): cannot write: \(error.message)")
        }
        say(DevEnvironment.banner(endpointJSON: endpoint, directory: Files.absolutePath(directory)))
        run(node)
    } catch let error as ProvisioningError {
        fail(error.message)
    } catch let error as Node.StartupError {
        fail(error.message)
    } catch {
        fail("\(error)")
    }
case "serve":
    Signals.prepare()
    let given = options(arguments.dropFirst(), allowed: ["--config"])
    guard let path = given["--config"] else { fail("serve needs --config FILE\n\(usage)") }
    do {
        let configuration = try NodeConfiguration.load(path: path)
        run(try Node(configuration: configuration))
    } catch let error as NodeConfiguration.Problem {
        fail(error.message)
    } catch let error as Node.StartupError {
        fail(error.message)
    } catch {
        fail("\(error)")
    }
case "cluster":
    let rest = arguments.dropFirst()
    switch rest.first {
    case "init":
        let given = options(rest.dropFirst(), allowed: ["--dir", "--regions"])
        let directory = Files.absolutePath(given["--dir"] ?? ClusterEnvironment.defaultDirectory)
        do {
            let regions = try given["--regions"].map { text throws(ProvisioningError) in try ClusterEnvironment.parseRegions(text) }
            let nodes = try ClusterEnvironment.initialize(directory: directory, regions: regions ?? ClusterEnvironment.defaultRegions, now: Date())
            say("made a cluster of \(nodes.count) regions in \(directory): " + nodes.map { "\($0.nodeId) https://\($0.listen[0])" }.joined(separator: ", "))
        } catch {
            fail(error.message)
        }
    case "manifest":
        let given = options(rest.dropFirst(), allowed: ["--dir", "--pids", "--front-pid"])
        let directory = Files.absolutePath(given["--dir"] ?? ClusterEnvironment.defaultDirectory)
        var pids: [String: Int32] = [:]
        for pair in (given["--pids"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let pid = Int32(parts[1]), pid > 0 else { fail("--pids takes REGION=PID,..., got '\(pair)'") }
            pids[String(parts[0])] = pid
        }
        var frontPid: Int32?
        if let text = given["--front-pid"] {
            guard let pid = Int32(text), pid > 0 else { fail("--front-pid takes a process id, got '\(text)'") }
            frontPid = pid
        }
        do {
            let manifest = try ClusterEnvironment.manifest(directory: directory, pids: pids, frontPid: frontPid)
            let path = directory + "/cluster.json"
            do {
                try Files.writeAtomically(Array(manifest), to: path, mode: 0o600)
            } catch {
                fail("\(path): cannot write: \(error.message)")
            }
            say(ClusterEnvironment.banner(manifest: manifest, directory: directory))
        } catch {
            fail(error.message)
        }
    case "show":
        let given = options(rest.dropFirst(), allowed: ["--dir"])
        let directory = Files.absolutePath(given["--dir"] ?? ClusterEnvironment.defaultDirectory)
        guard let manifest = FileManager.default.contents(atPath: directory + "/cluster.json") else {
            fail("\(directory)/cluster.json: no running cluster described here; start one with cluster/up")
        }
        say(ClusterEnvironment.banner(manifest: manifest, directory: directory))
    default:
        fail("cluster needs init, manifest or show\n\(usage)")
    }
case "front":
    Signals.prepare()
    do {
        let configuration = try FrontConfiguration.parse(arguments: Array(arguments.dropFirst()))
        let front = try FrontProxy(configuration: configuration, log: Logger(label: "front", maxBytes: configuration.limits.logMaxBytes))
        do {
            try front.start()
        } catch {
            fail("cannot start the front: \(error)")
        }
        front.runUntilSignalled()
        exit(0)
    } catch let error as FrontConfiguration.Problem {
        fail("\(error.message)\n\(usage)")
    } catch let error as FrontProxy.StartupError {
        fail(error.message)
    } catch {
        fail("\(error)")
    }
case "status":
    let given = options(arguments.dropFirst(), allowed: ["--endpoint", "--ca-bundle", "--region"], flags: ["--json"])
    guard let endpoint = given["--endpoint"] else { fail("status needs --endpoint URL\n\(usage)") }
    exit(StatusCommand.run(endpoint: endpoint, caBundle: given["--ca-bundle"], region: given["--region"],
                           json: given["--json"] != nil, environment: ProcessInfo.processInfo.environment, now: Date(),
                           print: { say($0) }, error: { FileHandle.standardError.write(Data("strongroom: \($0)\n".utf8)) }))
case "journal":
    let rest = arguments.dropFirst()
    let emit: @Sendable (String) -> Void = { say($0) }
    switch rest.first {
    case "verify":
        let given = options(rest.dropFirst(), allowed: ["--dir"])
        guard let dir = given["--dir"] else { fail("journal verify needs --dir DIR") }
        exit(JournalTools.verify(directory: dir, print: emit))
    case "dump":
        let given = options(rest.dropFirst(), allowed: ["--dir", "--from", "--limit"])
        guard let dir = given["--dir"] else { fail("journal dump needs --dir DIR") }
        guard let from = UInt64(given["--from"] ?? "1"), let limit = Int(given["--limit"] ?? "\(Int.max)"), limit > 0 else {
            fail("--from and --limit take positive whole numbers")
        }
        exit(JournalTools.dump(directory: dir, from: from, limit: limit, print: emit))
    case "bench":
        let given = options(rest.dropFirst(), allowed: ["--dir", "--seconds", "--payload-bytes"])
        guard let dir = given["--dir"] else { fail("journal bench needs --dir DIR") }
        guard let seconds = Double(given["--seconds"] ?? "3"), seconds > 0, seconds <= 600,
              let payload = Int(given["--payload-bytes"] ?? "200"), (1...1_048_576).contains(payload) else {
            fail("--seconds takes 0 to 600, --payload-bytes 1 to 1048576")
        }
        exit(JournalTools.bench(directory: dir, seconds: seconds, payloadBytes: payload, print: emit))
    default:
        fail("journal needs verify, dump or bench\n\(usage)")
    }
case "iam":
    let rest = arguments.dropFirst()
    guard rest.first == "issue-session" else { fail("iam needs issue-session\n\(usage)") }
    var flags = Array(rest.dropFirst())
    var given: [String: String] = [:]
    var tags: [String: String] = [:]
    var env = false
    while !flags.isEmpty {
        let flag = flags.removeFirst()
        if flag == "--env" {
            env = true
            continue
        }
        guard ["--principal", "--duration", "--session-name", "--tag", "--iam", "--dir"].contains(flag) else {
            fail("unknown option '\(flag)'\n\(usage)")
        }
        guard !flags.isEmpty, !flags[0].hasPrefix("--") else { fail("\(flag) needs a value") }
        let value = flags.removeFirst()
        if flag == "--tag" {
            guard let eq = value.firstIndex(of: "="), eq != value.startIndex else { fail("--tag takes KEY=VALUE") }
            tags[String(value[..<eq])] = String(value[value.index(after: eq)...])
        } else {
            given[flag] = value
        }
    }
    guard let principal = given["--principal"] else { fail("iam issue-session needs --principal ARN") }
    if given["--iam"] != nil && given["--dir"] != nil { fail("give --iam or --dir, not both") }
    let iamFile = given["--iam"] ?? ((given["--dir"] ?? DevEnvironment.defaultDirectory) + "/iam.json")
    exit(IAMTools.issueSession(iamFile: iamFile, principalArn: principal, duration: given["--duration"] ?? "1h",
                               sessionName: given["--session-name"], tags: tags, env: env, now: Date(),
                               print: { say($0) }, error: { FileHandle.standardError.write(Data("strongroom: \($0)\n".utf8)) }))
case "audit":
    let rest = arguments.dropFirst()
    switch rest.first {
    case "verify":
        let given = options(rest.dropFirst(), allowed: ["--dir"])
        exit(auditVerify(dataDirectory: given["--dir"] ?? defaultDataDirectory))
    case "query":
        let given = options(rest.dropFirst(), allowed: ["--dir", "--since", "--until", "--principal", "--secret", "--event"],
                            flags: ["--denied", "--json"])
        exit(auditQuery(dataDirectory: given["--dir"] ?? defaultDataDirectory, given: given))
    default:
        fail("audit needs verify or query\n\(usage)")
    }
case "help", "--help", "-h":
    say(usage)
case nil:
    fail("no command given\n\(usage)")
case let other?:
    fail("unknown command '\(other)'\n\(usage)")
}
