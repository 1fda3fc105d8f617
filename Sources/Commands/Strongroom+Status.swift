import ArgumentParsing
import Foundation
import Node

extension Strongroom {
    /// `strongroom status`: a node's region, role, and each log's replication state.
    struct Status: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["status"], [.value("--endpoint", "URL", required: true), .flag("--json"), .value("--ca-bundle", "FILE"), .value("--region", "R")], """
            Ask the node at URL (https://HOST:PORT) for its region, role, replication address and
            logs: per subscriber its acked LSN, lag and link; per replica log its source, applied
            and source LSN, lag, link and last error. A summary, or the node's JSON with --json.
            Signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) for region
            R (default AWS_REGION, AWS_DEFAULT_REGION, else \(StatusCommand.defaultRegion)), trusting FILE (default
            AWS_CA_BUNDLE); the caller needs strongroom:GetNodeStatus. Exit 1 when the node cannot
            be reached or answers with an error (its __type and message on standard error).
            """)

        var endpoint: String
        var caBundle: String?
        var region: String?
        var json: Bool

        init(_ arguments: ParsedArguments) throws(UsageError) {
            endpoint = arguments.value("--endpoint") ?? ""
            caBundle = arguments.value("--ca-bundle")
            region = arguments.value("--region")
            json = arguments.has("--json")
        }

        func run(_ console: Console) -> Int32 {
            StatusCommand.run(endpoint: endpoint, caBundle: caBundle, region: region, json: json, environment: console.environment,
                              now: Date(), print: console.say, error: console.warn)
        }
    }
}

extension Strongroom {
    /// `strongroom rotation status`: the rotation runner of a node (the region's primary runs
    /// the rotations): functions registered, rotations running, the last ones that ended.
    struct RotationStatus: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["rotation", "status"],
            [.value("--endpoint", "URL", required: true), .flag("--json"), .value("--ca-bundle", "FILE"), .value("--region", "R")], """
            Ask the node at URL (https://HOST:PORT) for its rotations: whether it runs its region's
            rotations (the primary does), the rotation functions it can invoke, each rotation
            running (secret, version, step, attempt) and the last ones that ended, with their last
            error. The `rotation` member of the node's status as JSON with --json. Credentials,
            FILE and R as for `strongroom status` (strongroom:GetNodeStatus).
            """)

        var endpoint: String
        var caBundle: String?
        var region: String?
        var json: Bool

        init(_ arguments: ParsedArguments) throws(UsageError) {
            endpoint = arguments.value("--endpoint") ?? ""
            caBundle = arguments.value("--ca-bundle")
            region = arguments.value("--region")
            json = arguments.has("--json")
        }

        func run(_ console: Console) -> Int32 {
            StatusCommand.run(endpoint: endpoint, caBundle: caBundle, region: region, json: json, environment: console.environment,
                              now: Date(), rotationOnly: true, print: console.say, error: console.warn)
        }
    }
}
