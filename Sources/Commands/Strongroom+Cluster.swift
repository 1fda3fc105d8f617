import ArgumentParsing
import Configuration
import Foundation
import Platform
import Provisioning

extension Strongroom {
    /// `strongroom cluster init`: make a local multi-region cluster's files.
    struct ClusterInit: StrongroomCommand {
        static let syntax = Strongroom.syntax(["cluster", "init"], [
            .value("--dir", "DIR"), .value("--regions", "R1,R2,..."), .repeatable("--address", "REGION=IP|NODE=IP"),
            .value("--standbys", "N"), .value("--sync-standbys", "K"),
        ], """
            Make a local multi-region cluster in DIR (default \(ClusterEnvironment.defaultDirectory),
            missing or empty): a CA, one node per region (default
            \(ClusterEnvironment.defaultRegions.joined(separator: ",")); node ids REGION-a) on free
            127.0.0.1 ports, each replicating from every other, one IAM file and a front. cluster/up
            starts it. --address REGION=IP puts that region's nodes on IP instead of 127.0.0.1 (its
            certificate names both), --address NODE=IP one node (REGION-b: a standby), for nodes in
            network namespaces (chaos/run). --standbys N (0 to
            \(ClusterEnvironment.maximumStandbys), default 0) adds N standbys per region (REGION-b,
            REGION-c, ... in DIR/REGION-b/, ...) on the region's address, sharing its keyring and the
            IAM file; --sync-standbys K (0 to N, default 0) is every node's replication.syncStandbys.
            """)

        var directory: String
        var regions: [String]
        var addresses: [String: String] = [:]
        var standbys = 0
        var syncStandbys = 0

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ClusterEnvironment.defaultDirectory
            regions = ClusterEnvironment.defaultRegions
            do {
                if let text = arguments.value("--regions") {
                    regions = try ClusterEnvironment.parseRegions(text)
                }
                addresses = try ClusterEnvironment.parseAddresses(arguments.all("--address"), regions: regions)
                if let text = arguments.value("--standbys") {
                    standbys = try ClusterEnvironment.parseStandbys(text)
                }
                if let text = arguments.value("--sync-standbys") {
                    syncStandbys = try ClusterEnvironment.parseSyncStandbys(text, standbys: standbys)
                }
            } catch {
                throw UsageError(error.message)
            }
        }

        func run(_ console: Console) -> Int32 {
            let directory = Files.absolutePath(directory)
            do {
                let nodes = try ClusterEnvironment.initialize(directory: directory, regions: regions, addresses: addresses,
                                                              standbys: standbys, syncStandbys: syncStandbys, now: Date())
                let standbyNodes = try ClusterEnvironment.standbys(directory: directory)
                console.say("made a cluster of \(nodes.count) regions in \(directory): "
                    + (nodes + standbyNodes).map { "\($0.nodeId) https://\($0.listen[0])" }.joined(separator: ", ")
                    + (standbys == 0 ? "" : " (--standbys \(standbys), --sync-standbys \(syncStandbys))"))
                return succeeded
            } catch {
                return console.fail(error.message)
            }
        }
    }

    /// `strongroom cluster plan`: bundles for a cluster of nodes on their own hosts.
    struct ClusterPlanCommand: StrongroomCommand {
        static let syntax = Strongroom.syntax(["cluster", "plan"], [
            .value("--spec", "FILE", required: true), .value("--out", "DIR", required: true),
        ], """
            Turn FILE, a JSON description of regions and their nodes' addresses (see the README's
            "Deployment"), into DIR (missing or empty): the cluster CA in DIR/ca (its key stays
            there), one bundle per node in DIR/<nodeId> (config.json with paths relative to it,
            node.pem, node.key, ca.pem, iam.json, the region's keyring.json) to copy to its host
            and start with `strongroom serve --config config.json`, and DIR/credentials.json
            (the accounts' keys and every node's endpoint).
            """)

        var spec: String
        var output: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            spec = arguments.value("--spec") ?? ""
            output = arguments.value("--out") ?? ""
        }

        func run(_ console: Console) -> Int32 {
            guard let bytes = FileManager.default.contents(atPath: spec) else { return console.fail("\(spec): cannot read the spec") }
            do {
                let nodes = try ClusterPlan.write(spec: Array(bytes), directory: output, now: Date())
                console.say("planned \(nodes.count) nodes in \(Files.absolutePath(output)): \(nodes.joined(separator: ", ")); "
                    + "copy each DIR/<node> to its host, keep DIR/ca/ca.key off them")
                return succeeded
            } catch {
                return console.fail("\(spec): \(error.message)")
            }
        }
    }

    /// `strongroom cluster manifest`: record the running cluster's processes in DIR/cluster.json.
    struct ClusterManifest: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["cluster", "manifest"], [
                .value("--dir", "DIR"), .value("--pids", "R1=PID,R2=PID,...", required: true),
                .value("--standby-pids", "NODE=PID,..."), .value("--front-pid", "PID"),
            ], """
            Write DIR/cluster.json for the running processes and print how to use the cluster.
            --pids names each region's first primary's process, --standby-pids each standby's
            (by node id, e.g. us-east-1-b=PID); every node of the cluster needs one.
            """)

        var directory: String
        var pids: [String: Int32] = [:]
        var standbyPids: [String: Int32] = [:]
        var frontPid: Int32?

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ClusterEnvironment.defaultDirectory
            pids = try Self.pids(arguments.value("--pids") ?? "", option: "--pids", key: "REGION")
            standbyPids = try Self.pids(arguments.value("--standby-pids") ?? "", option: "--standby-pids", key: "NODE")
            if let text = arguments.value("--front-pid") {
                guard let pid = Int32(text), pid > 0 else { throw UsageError("--front-pid takes a process id, got '\(text)'") }
                frontPid = pid
            }
        }

        func run(_ console: Console) -> Int32 {
            let directory = Files.absolutePath(directory)
            let manifest: Data
            do {
                manifest = try ClusterEnvironment.manifest(directory: directory, pids: pids, standbyPids: standbyPids, frontPid: frontPid)
            } catch {
                return console.fail(error.message)
            }
            let path = directory + "/cluster.json"
            do {
                try Files.writeAtomically(Array(manifest), to: path, mode: 0o600)
            } catch {
                return console.fail("\(path): cannot write: \(error.message)")
            }
            console.say(ClusterEnvironment.banner(manifest: manifest, directory: directory))
            return succeeded
        }

        /// `KEY=PID,...` as a dictionary; a pair without a positive process id is a usage error.
        static func pids(_ text: String, option: String, key: String) throws(UsageError) -> [String: Int32] {
            var pids: [String: Int32] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let pid = Int32(parts[1]), pid > 0 else { throw UsageError("\(option) takes \(key)=PID,..., got '\(pair)'") }
                pids[String(parts[0])] = pid
            }
            return pids
        }
    }

    /// `strongroom cluster show`: print how to use the cluster DIR/cluster.json describes.
    struct ClusterShow: StrongroomCommand {
        static let syntax = Strongroom.syntax(["cluster", "show"], [.value("--dir", "DIR")], """
            Print how to use the cluster that DIR/cluster.json describes.
            """)

        var directory: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ClusterEnvironment.defaultDirectory
        }

        func run(_ console: Console) -> Int32 {
            let directory = Files.absolutePath(directory)
            guard let manifest = FileManager.default.contents(atPath: directory + "/cluster.json") else {
                return console.fail("\(directory)/cluster.json: no running cluster described here; start one with cluster/up")
            }
            console.say(ClusterEnvironment.banner(manifest: manifest, directory: directory))
            return succeeded
        }
    }
}
