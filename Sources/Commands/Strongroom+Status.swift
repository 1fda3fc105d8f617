import ArgumentParsing
import Foundation
import Node

extension Strongroom {
    /// `strongroom status`: a node's region, role, and each log's replication state.
    struct Status: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["status"], NodeStatusRequest.options, """
            Ask the node at URL (https://HOST:PORT) for its region, role, replication address and
            logs: per subscriber its acked LSN, lag and link; per replica log its source, applied
            and source LSN, lag, link and last error. A summary, or the node's JSON with --json.
            Signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) for region
            R (default AWS_REGION, AWS_DEFAULT_REGION, else \(StatusCommand.defaultRegion)), trusting FILE (default
            AWS_CA_BUNDLE); the caller needs strongroom:GetNodeStatus. Exit 1 when the node cannot
            be reached or answers with an error (its __type and message on standard error).
            """)

        var request: NodeStatusRequest

        init(_ arguments: ParsedArguments) throws(UsageError) {
            request = NodeStatusRequest(arguments)
        }

        func run(_ console: Console) -> Int32 {
            request.run(console, rotationOnly: false)
        }
    }
}

extension Strongroom {
    /// `strongroom rotation status`: the rotation runner of a node (the region's primary runs
    /// the rotations): functions registered, rotations running, the last ones that ended.
    struct RotationStatus: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["rotation", "status"],
            NodeStatusRequest.options, """
            Ask the node at URL (https://HOST:PORT) for its rotations: whether it runs its region's
            rotations (the primary does), the rotation functions it can invoke, each rotation
            running (secret, version, step, attempt) and the last ones that ended, with their last
            error. The `rotation` member of the node's status as JSON with --json. Credentials,
            FILE and R as for `strongroom status` (strongroom:GetNodeStatus).
            """)

        var request: NodeStatusRequest

        init(_ arguments: ParsedArguments) throws(UsageError) {
            request = NodeStatusRequest(arguments)
        }

        func run(_ console: Console) -> Int32 {
            request.run(console, rotationOnly: true)
        }
    }
}

/// What `strongroom status` and `strongroom rotation status` both take: the node's endpoint,
/// the CA bundle, the region to sign for and `--json`, and the call that fetches the status.
struct NodeStatusRequest: Sendable {
    static let options: [Option] = [
        .value("--endpoint", "URL", required: true), .flag("--json"), .value("--ca-bundle", "FILE"), .value("--region", "R"),
    ]

    var endpoint: String
    var caBundle: String?
    var region: String?
    var json: Bool

    init(_ arguments: ParsedArguments) {
        endpoint = arguments.value("--endpoint") ?? ""
        caBundle = arguments.value("--ca-bundle")
        region = arguments.value("--region")
        json = arguments.has("--json")
    }

    /// The whole status, or (`rotationOnly`) its rotation member.
    func run(_ console: Console, rotationOnly: Bool) -> Int32 {
        StatusCommand.run(endpoint: endpoint, caBundle: caBundle, region: region, json: json, environment: console.environment,
                          now: Date(), rotationOnly: rotationOnly, print: console.say, error: console.warn)
    }
}
