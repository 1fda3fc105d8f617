import ArgumentParsing
@testable import Commands
import Configuration
import Platform
import Synchronization
import Testing

/// Every `strongroom` command line as documented (README, usage, cluster/up, scripts/dev, the
/// end-to-end tests) keeps parsing; each command's --help prints its usage; usage errors exit 2.
/// Nothing here runs a command: `resolve` reads the options without touching anything.
@Suite struct StrongroomCommandLineTests {
    /// What a run wrote to each stream.
    final class Captured: Sendable {
        private let lines = Mutex<(out: [String], err: [String])>(([], []))
        var console: Console {
            Console(standardOutput: { text in self.lines.withLock { $0.out.append(text) } },
                    standardError: { text in self.lines.withLock { $0.err.append(text) } }, environment: [:])
        }
        var out: String { lines.withLock { $0.out.joined(separator: "\n") } }
        var err: String { lines.withLock { $0.err.joined(separator: "\n") } }
    }

    func run(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
        let captured = Captured()
        let status = Strongroom.run(arguments, console: captured.console)
        return (status, captured.out, captured.err)
    }

    func command(_ arguments: [String]) throws -> any StrongroomCommand {
        switch Strongroom.resolve(arguments) {
        case .command(let command): return command
        case .usage: throw UsageError("\(arguments) asked for the usage")
        case .problem(let message, _): throw UsageError("\(arguments): \(message)")
        }
    }

    static let front = ["front", "--listen", "127.0.0.1:8443", "--certificate", "f.pem", "--private-key", "f.key", "--ca", "ca.pem",
                        "--route", "us-east-1=127.0.0.1:7001"]

    /// Every command and every option, spelled as documented before the commands moved here.
    static let documented: [[String]] = [
        ["dev"],
        ["dev", "--dir", "/tmp/d", "--port", "7443", "--region", "eu-west-1"],
        ["dev", "--port", "0"],
        ["serve", "--config", "/tmp/d/config.json"],
        ["cluster", "init"],
        ["cluster", "init", "--dir", "/tmp/c", "--regions", "us-east-1,eu-west-1"],
        ["cluster", "manifest", "--dir", "/tmp/c", "--pids", "us-east-1=10,eu-west-1=11", "--front-pid", "12"],
        ["cluster", "manifest", "--dir", "/tmp/c", "--pids", "us-east-1=10"],
        ["cluster", "show"],
        ["cluster", "show", "--dir", "/tmp/c"],
        front,
        front + ["--route", "eu-west-1=localhost:7002", "--max-connections", "64", "--limit", "silentTimeoutSeconds=3",
                 "--limit", "maxUnfinishedPerAddress=256"],
        ["status", "--endpoint", "https://127.0.0.1:7443"],
        ["status", "--endpoint", "https://127.0.0.1:7443", "--json", "--ca-bundle", "ca.pem", "--region", "us-east-1"],
        ["journal", "verify", "--dir", "/tmp/d/data"],
        ["journal", "dump", "--dir", "/tmp/d/data"],
        ["journal", "dump", "--dir", "/tmp/d/data", "--from", "5", "--limit", "50"],
        ["journal", "bench", "--dir", "/tmp/disk", "--seconds", "1", "--payload-bytes", "4096"],
        ["iam", "issue-session", "--principal", "arn:aws:iam::123456789012:role/app"],
        ["iam", "issue-session", "--principal", "arn:aws:iam::123456789012:role/app", "--duration", "1h", "--session-name", "s",
         "--tag", "team=payments", "--tag", "env=prod", "--env", "--dir", "/tmp/d"],
        ["iam", "issue-session", "--iam", "/tmp/iam.json", "--principal", "arn:aws:iam::123456789012:user/admin"],
        ["audit", "verify"],
        ["audit", "verify", "--dir", "/tmp/d/data"],
        ["audit", "query", "--dir", "/tmp/d/data", "--since", "2026-11-23", "--until", "2026-11-23T10:00:00Z",
         "--principal", "admin", "--secret", "MyTestSecret", "--event", "CreateSecret", "--denied", "--json"],
        ["help"],
        // After "help": the tests above address some lines by their index.
        ["dr", "promote-region", "--endpoint", "https://127.0.0.1:7444", "--lost", "us-east-1"],
        ["dr", "promote-region", "--endpoint", "https://127.0.0.1:7444", "--lost", "us-east-1", "--dry-run", "--json",
         "--ca-bundle", "ca.pem", "--region", "eu-west-1"],
        ["cluster", "init", "--dir", "/tmp/c", "--standbys", "2", "--sync-standbys", "1"],
        ["promote", "--node", "us-east-1-b"],
        ["promote", "--node", "us-east-1-b", "--dir", "/tmp/c", "--force", "--json"],
        ["promote", "--node", "us-east-1-b", "--endpoint", "https://127.0.0.1:7444", "--ca-bundle", "ca.pem", "--region", "us-east-1"],
        ["journal", "dump", "--dir", "/tmp/d/data", "--quarantine"],
        ["cluster", "manifest", "--dir", "/tmp/c", "--pids", "us-east-1=10", "--standby-pids", "us-east-1-b=11,us-east-1-c=12", "--front-pid", "13"],
        ["rotation", "status", "--endpoint", "https://127.0.0.1:7443"],
        ["rotation", "status", "--endpoint", "https://127.0.0.1:7443", "--json", "--ca-bundle", "ca.pem", "--region", "us-east-1"],
        ["ca", "init", "--dir", "/tmp/ca"],
        ["ca", "init", "--dir", "/tmp/ca", "--name", "Example CA"],
        ["ca", "issue", "--ca-dir", "/tmp/ca", "--node-id", "node-1", "--region", "eu-west-1", "--host", "node-1.example.internal",
         "--host", "10.0.0.7", "--out", "/tmp/node-1"],
        ["cluster", "plan", "--spec", "/tmp/spec.json", "--out", "/tmp/plan"],
        // Last: valuesAreReadAsBefore reads it as `documented.last`.
        ["cluster", "init", "--dir", "/tmp/c", "--address", "us-east-1=10.231.0.11", "--address", "eu-west-1=10.231.0.12"],
    ]

    @Test(arguments: documented)
    func documentedCommandLinesParse(arguments: [String]) throws {
        _ = try command(arguments)
        // The same line with every value joined by '=' parses to the same command.
        var joined: [String] = []
        var rest = arguments[...]
        while let word = rest.popFirst() {
            if word.hasPrefix("--"), let next = rest.first, !next.hasPrefix("--") {
                joined.append(word + "=" + next)
                rest = rest.dropFirst()
            } else {
                joined.append(word)
            }
        }
        _ = try command(joined)
    }

    @Test func everyOptionOfEveryCommandIsInTheDocumentedTable() {
        for command in Strongroom.commands {
            let lines = Self.documented.filter { $0.starts(with: command.syntax.path) }
            #expect(!lines.isEmpty, "\(command.syntax.name) has no documented line")
            for option in command.syntax.options {
                #expect(lines.contains { $0.contains(option.name) }, "\(command.syntax.name) \(option.name) is never given above")
            }
        }
    }

    @Test func valuesAreReadAsBefore() throws {
        let dev = try #require(try command(["dev", "--dir=/tmp/d", "--port", "7443"]) as? Strongroom.Dev)
        #expect(dev.directory == "/tmp/d" && dev.port == 7443 && dev.region == nil)
        let session = try #require(try command(Self.documented[19]) as? Strongroom.IAMIssueSession)
        #expect(session.tags == ["team": "payments", "env": "prod"] && session.env && session.iamFile == "/tmp/d/iam.json")
        #expect(session.duration == "1h" && session.sessionName == "s")
        let front = try #require(try command(Self.documented[11]) as? Strongroom.Front)
        #expect(front.configuration.routes.count == 2 && front.configuration.limits.maxConnections == 64)
        #expect(front.configuration.listen == SocketAddress("127.0.0.1:8443"))
        let manifest = try #require(try command(Self.documented[6]) as? Strongroom.ClusterManifest)
        #expect(manifest.pids == ["us-east-1": 10, "eu-west-1": 11] && manifest.frontPid == 12)
        let dump = try #require(try command(Self.documented[15]) as? Strongroom.JournalDump)
        #expect(dump.from == 1 && dump.limit == Int.max)
        let status = try #require(try command(Self.documented[13]) as? Strongroom.Status)
        #expect(status.request.json && status.request.caBundle == "ca.pem" && status.request.region == "us-east-1")
        let rotation = try #require(try command(["rotation", "status", "--endpoint", "https://127.0.0.1:7443", "--json", "--ca-bundle",
                                                 "ca.pem", "--region", "us-east-1"]) as? Strongroom.RotationStatus)
        #expect(rotation.request.json && rotation.request.caBundle == "ca.pem" && rotation.request.region == "us-east-1")
        let initAt = try #require(try command(Self.documented.last!) as? Strongroom.ClusterInit)
        #expect(initAt.addresses == ["us-east-1": "10.231.0.11", "eu-west-1": "10.231.0.12"] && initAt.directory == "/tmp/c")
        let standbys = try #require(try command(["cluster", "init", "--standbys=2", "--sync-standbys", "1"]) as? Strongroom.ClusterInit)
        #expect(standbys.standbys == 2 && standbys.syncStandbys == 1 && initAt.standbys == 0 && initAt.syncStandbys == 0)
        let standbyManifest = try #require(try command(["cluster", "manifest", "--pids", "us-east-1=10", "--standby-pids", "us-east-1-b=11"])
            as? Strongroom.ClusterManifest)
        #expect(standbyManifest.standbyPids == ["us-east-1-b": 11] && manifest.standbyPids.isEmpty)
        let audit = try #require(try command(["audit", "verify"]) as? Strongroom.AuditVerify)
        #expect(audit.dataDirectory == ".strongroom-dev/data")
    }

    @Test func everyCommandPrintsItsUsageForHelp() {
        for command in Strongroom.commands {
            for help in ["--help", "-h"] {
                let result = run(command.syntax.path + [help])
                #expect(result.status == 0, "\(command.syntax.name) \(help)")
                #expect(result.out == "usage:\n" + command.syntax.usage(indent: "  "), "\(command.syntax.name) \(help)")
                #expect(result.err.isEmpty)
                // `strongroom help COMMAND` prints the same.
                #expect(run(["help"] + command.syntax.path).out == result.out)
            }
        }
    }

    @Test func theUsageListsEveryCommandAndEveryOption() {
        let result = run(["help"])
        #expect(result.status == 0 && result.err.isEmpty)
        for command in Strongroom.commands {
            #expect(result.out.contains(command.syntax.usage(indent: "  ")))
            for option in command.syntax.options { #expect(command.syntax.synopsis().contains(option.name)) }
        }
        // cluster/up starts the front only when the usage names it.
        #expect(result.out.contains("strongroom front"))
        #expect(run(["--help"]).out == result.out && run(["-h"]).out == result.out)
    }

    @Test func aGroupPrintsItsCommands() {
        for group in ["cluster", "journal", "iam", "audit"] {
            let members = Strongroom.commands.filter { $0.syntax.path[0] == group }
            let result = run(["help", group])
            #expect(result.status == 0)
            #expect(result.out == "usage:\n" + members.map { $0.syntax.usage(indent: "  ") }.joined(separator: "\n"))
            #expect(run([group, "--help"]).out == result.out)
        }
    }

    @Test(arguments: [
        ([], "no command given"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["help", "frobnicate"], "no command 'frobnicate'"),
        (["help", "cluster", "nope"], "no command 'cluster nope'"),
        (["dev", "--colour", "red"], "unknown option '--colour'"),
        (["dev", "--port", "70000"], "--port must be a number from 0 to 65535, got '70000'"),
        (["dev", "--dir", "a", "--dir", "b"], "--dir is given twice"),
        (["dev", "--dir"], "--dir needs a value (DIR)"),
        (["serve"], "serve needs --config FILE"),
        (["cluster"], "cluster needs init, manifest, show or plan"),
        (["cluster", "grow"], "cluster needs init, manifest, show or plan"),
        (["cluster", "init", "--regions", "us-east-1,us-east-1"], "--regions names us-east-1 twice"),
        (["cluster", "init", "--address", "us-east-1=nowhere"], "--address takes REGION=IP or NODE=IP with an IP literal, got 'us-east-1=nowhere'"),
        (["cluster", "init", "--address", "mars-1=10.0.0.1"], "--address: the cluster has no region or node mars-1"),
        (["cluster", "init", "--address", "us-east-1=10.0.0.1", "--address", "us-east-1=10.0.0.2"], "--address: us-east-1 is given twice"),
        (["cluster", "manifest", "--pids", "us-east-1"], "--pids takes REGION=PID,..., got 'us-east-1'"),
        (["cluster", "manifest", "--pids", "a=1", "--front-pid", "x"], "--front-pid takes a process id, got 'x'"),
        (["cluster", "init", "--standbys", "4"], "--standbys takes a whole number from 0 to 3, got '4'"),
        (["cluster", "init", "--standbys", "1", "--sync-standbys", "2"], "--sync-standbys takes a whole number from 0 to --standbys (1), got '2'"),
        (["cluster", "init", "--sync-standbys", "1"], "--sync-standbys takes a whole number from 0 to --standbys (0), got '1'"),
        (["cluster", "manifest", "--pids", "a=1", "--standby-pids", "a-b"], "--standby-pids takes NODE=PID,..., got 'a-b'"),
        (["journal"], "journal needs verify, dump or bench"),
        (["journal", "verify"], "journal verify needs --dir DIR"),
        (["journal", "dump", "--dir", "d", "--limit", "0"], "--from and --limit take positive whole numbers"),
        (["journal", "bench", "--dir", "d", "--seconds", "601"], "--seconds takes 0 to 600, --payload-bytes 1 to 1048576"),
        (["iam"], "iam needs issue-session"),
        (["iam", "issue-session"], "iam issue-session needs --principal ARN"),
        (["iam", "issue-session", "--principal", "p", "--tag", "=x"], "--tag takes KEY=VALUE"),
        (["iam", "issue-session", "--principal", "p", "--iam", "f", "--dir", "d"], "give --iam or --dir, not both"),
        (["iam", "issue-session", "--principal", "p", "--duration", "1h", "--duration", "2h"], "--duration is given twice"),
        (["audit"], "audit needs verify or query"),
        (["audit", "query", "--since", "yesterday"], ""),
        (["audit", "query", "--json", "--json"], "--json is given twice"),
        (["status"], "status needs --endpoint URL"),
        (["status", "--endpoint", "https://127.0.0.1:1", "--region", "a", "--region", "b"], "--region is given twice"),
        (Array(front.dropLast(2)), "front needs --route REGION=HOST:PORT"),
        (front + ["--ca", "other.pem"], "--ca is given twice"),
        (front + ["--bogus", "1"], "unknown option '--bogus'"),
        (["front", "--listen"], "--listen needs a value (HOST:PORT)"),
        (["front", "--listen", "127.0.0.1:1", "--certificate", "f", "--private-key", "k", "--route", "a=127.0.0.1:1"], "front needs --ca FILE"),
        (front + ["--route", "us-east-1=127.0.0.1:7001"], "--route: us-east-1=127.0.0.1:7001 is given twice"),
        (front + ["--max-connections", "0"], "--max-connections takes a whole number from 1 to 100000, got '0'"),
    ] as [([String], String)])
    func usageProblemsExitTwoWithTheCommandsUsage(arguments: [String], message: String) {
        let result = run(arguments)
        #expect(result.status == 2)
        #expect(result.out.isEmpty)
        #expect(result.err.hasPrefix("strongroom: " + message), "\(result.err)")
        #expect(result.err.contains("\n\nusage:\n  strongroom "))
    }
}
