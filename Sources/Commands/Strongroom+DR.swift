import ArgumentParsing
import Foundation
import Node

extension Strongroom {
    /// `strongroom dr promote-region`: region-level DR, run against a surviving region's node.
    struct PromoteRegion: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["dr", "promote-region"],
            [.value("--endpoint", "URL", required: true), .value("--lost", "R", required: true), .flag("--dry-run"), .flag("--json"),
             .value("--ca-bundle", "FILE"), .value("--region", "R")], """
            When region R is lost, make every secret the node at URL (https://HOST:PORT, in a surviving
            region) holds as a replica of R its own region's secret, as StopReplicationToReplica does
            for one: it accepts writes there at once. --dry-run lists them and changes nothing. Safe
            to run twice (the second run finds nothing). When R returns, it hears of each promotion
            and drops that region from the secret's ReplicationStatus. Signed as `strongroom status`
            signs (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; --region for the
            scope, AWS_CA_BUNDLE or --ca-bundle); the caller must be one of the cluster's admins
            allowed strongroom:PromoteRegion, and the call is in the node's audit trail. Exit 1 when
            the node cannot be reached or refuses.
            """)

        var endpoint: String
        var lost: String
        var dryRun: Bool
        var json: Bool
        var caBundle: String?
        var region: String?

        init(_ arguments: ParsedArguments) throws(UsageError) {
            endpoint = arguments.value("--endpoint") ?? ""
            lost = arguments.value("--lost") ?? ""
            dryRun = arguments.has("--dry-run")
            json = arguments.has("--json")
            caBundle = arguments.value("--ca-bundle")
            region = arguments.value("--region")
        }

        func run(_ console: Console) -> Int32 {
            PromoteRegionCommand.run(endpoint: endpoint, caBundle: caBundle, region: region, lost: lost, dryRun: dryRun, json: json,
                                     environment: console.environment, now: Date(), print: console.say, error: console.warn)
        }
    }

    /// `strongroom promote --node ID`: a standby becomes its region's primary at a new epoch.
    struct Promote: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["promote"],
            [.value("--node", "ID", required: true), .value("--dir", "DIR"), .value("--endpoint", "URL"), .flag("--force"), .flag("--json"),
             .value("--ca-bundle", "FILE"), .value("--region", "R")], """
            Make the standby ID its region's primary. It fences every other node of its region it
            reaches with a new epoch (each records it durably, and a primary among them accepts
            no more writes), takes the records a fenced node holds beyond its own, and promotes
            itself when no reached node's log is further ahead and, with syncStandbys k >= 1, at
            least n - k of the region's n nodes answered. Otherwise it refuses and says why;
            --force promotes anyway and says what may be lost. The node then restarts in its
            new role (same process) and accepts writes; the others follow it, and an old primary
            that returns sets its divergent records aside (strongroom journal dump --quarantine).
            The node is found in DIR/cluster.json (default .strongroom-cluster), or at URL.
            Signed as `strongroom status` signs (with DIR's first admin when AWS_ACCESS_KEY_ID is
            not set); the caller needs strongroom:PromoteNode, and the call is in the node's audit
            trail. Exit 1 when refused or unreachable.
            """)

        var node: String
        var directory: String
        var endpoint: String?
        var force: Bool
        var json: Bool
        var caBundle: String?
        var region: String?

        init(_ arguments: ParsedArguments) throws(UsageError) {
            node = arguments.value("--node") ?? ""
            directory = arguments.value("--dir") ?? ".strongroom-cluster"
            endpoint = arguments.value("--endpoint")
            force = arguments.has("--force")
            json = arguments.has("--json")
            caBundle = arguments.value("--ca-bundle")
            region = arguments.value("--region")
        }

        func run(_ console: Console) -> Int32 {
            PromoteNodeCommand.run(node: node, directory: directory, endpoint: endpoint, caBundle: caBundle, region: region, force: force,
                                   json: json, environment: console.environment, now: Date(), print: console.say, error: console.warn)
        }
    }
}
