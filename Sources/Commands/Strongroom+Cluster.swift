import ArgumentParsing
import Configuration
import Foundation
import Platform
import Provisioning

extension Strongroom {
    /// `strongroom cluster init`: make a local multi-region cluster's files.
    struct ClusterInit: StrongroomCommand {
        static let syntax = Strongroom.syntax(["cluster", "init"], [.value("--dir", "DIR"), .value("--regions", "R1,R2,..."), .repeatable("--address", "REGION=IP")], """
            Make a local multi-region cluster in DIR (default \(ClusterEnvironment.defaultDirectory),
            missing or empty): a CA, one node per region (default
            \(ClusterEnvironment.defaultRegions.joined(separator: ",")); node ids REGION-a) on free
            127.0.0.1 ports, each replicating from every other, one IAM file and a front. cluster/up
            starts it. --address REGION=IP puts that region's node on IP instead of 127.0.0.1 (its
            certificate names both), for nodes in network namespaces (chaos/run).
            """)

        var directory: String
        var regions: [String]
        var addresses: [String: String] = [:]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ClusterEnvironment.defaultDirectory
            regions = ClusterEnvironment.defaultRegions
            do {
                if let text = arguments.value("--regions") {
                    regions = try ClusterEnvironment.parseRegions(text)
                }
                addresses = try ClusterEnvironment.parseAddresses(arguments.all("--address"), regions: regions)
            } catch {
                throw UsageError(error.message)
            }
        }

        func run(_ console: Console) -> Int32 {
            let directory = Files.absolutePath(directory)
            do {
                let nodes = try ClusterEnvironment.initialize(directory: directory, regions: regions, addresses: addresses, now: Date())
                console.say("made a cluster of \(nodes.count) regions in \(directory): "
                    + nodes.map { "\($0.nodeId) https://\($0.listen[0])" }.joined(separator: ", "))
                return succeeded
            } catch {
                return console.fail(error.message)
            }
        }
    }

    /// `strongroom cluster manifest`: record the running cluster's processes in DIR/cluster.json.
    struct ClusterManifest: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["cluster", "manifest"], [.value("--dir", "DIR"), .value("--pids", "R1=PID,R2=PID,...", required: true), .value("--front-pid", "PID")], """
            Write DIR/cluster.json for the running processes and print how to use the cluster.
            """)

        var directory: String
        var pids: [String: Int32] = [:]
        var frontPid: Int32?

        init(_ arguments: ParsedArguments) throws(UsageError) {
            directory = arguments.value("--dir") ?? ClusterEnvironment.defaultDirectory
            for pair in (arguments.value("--pids") ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let pid = Int32(parts[1]), pid > 0 else { throw UsageError("--pids takes REGION=PID,..., got '\(pair)'") }
                pids[String(parts[0])] = pid
            }
            if let text = arguments.value("--front-pid") {
                guard let pid = Int32(text), pid > 0 else { throw UsageError("--front-pid takes a process id, got '\(text)'") }
                frontPid = pid
            }
        }

        func run(_ console: Console) -> Int32 {
            let directory = Files.absolutePath(directory)
            let manifest: Data
            do {
                manifest = try ClusterEnvironment.manifest(directory: directory, pids: pids, frontPid: frontPid)
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
