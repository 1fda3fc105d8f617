public import Foundation
import JSON

/// `strongroom promote --node ID`: asks a standby to become its region's primary at a new
/// epoch (`Strongroom.PromoteNode`). The node is found in a cluster's `cluster.json` (`--dir`)
/// or given by `--endpoint`; the request is signed as `strongroom status` signs, with the
/// cluster's first admin when the environment names no credentials and `--dir` is used.
public enum PromoteNodeCommand {
    /// Where node `id` serves, its region, and the CA and admin keys of the cluster in `directory`.
    struct ClusterNode {
        var endpoint: String
        var region: String
        var caBundle: String?
        var accessKeyId: String?
        var secretAccessKey: String?
    }

    static func find(node id: String, directory: String) -> Result<ClusterNode, NodeStatusError> {
        let path = directory + "/cluster.json"
        guard let data = FileManager.default.contents(atPath: path), let root = try? JSONValue.parse(Array(data)) else {
            return .failure(NodeStatusError(.configuration, "\(path): no cluster.json (start the cluster with cluster/up, or give --endpoint)"))
        }
        let entries = (root["nodes"]?.arrayValue ?? []) + (root["standbys"]?.arrayValue ?? [])
        guard let entry = entries.first(where: { $0["id"]?.stringValue == id }), let endpoint = entry["endpoint"]?.stringValue,
              let region = entry["region"]?.stringValue else {
            let known = entries.compactMap { $0["id"]?.stringValue }
            return .failure(NodeStatusError(.configuration, "\(path) names no node \(id) (its nodes: \(known.joined(separator: ", ")))"))
        }
        let admin = root["accounts"]?.arrayValue?.first?["principals"]?.arrayValue?.first { $0["name"]?.stringValue == "admin" }
        return .success(ClusterNode(endpoint: endpoint, region: region, caBundle: root["caBundle"]?.stringValue,
                                    accessKeyId: admin?["accessKeyId"]?.stringValue, secretAccessKey: admin?["secretAccessKey"]?.stringValue))
    }

    /// - Returns: 0 promoted (a summary, or the node's JSON with `json`); 1 refused or
    ///   unreachable (the reason on `error`); 2 for a usage problem.
    public static func run(
        node id: String, directory: String, endpoint: String?, caBundle: String?, region: String?, force: Bool, json: Bool,
        environment: [String: String], now: Date, print: (String) -> Void, error: (String) -> Void
    ) -> Int32 {
        var environment = environment
        var target = endpoint
        var signingRegion = region
        var bundle = caBundle
        if endpoint == nil {
            switch find(node: id, directory: directory) {
            case .failure(let problem):
                error(problem.message)
                return 2
            case .success(let found):
                target = found.endpoint
                signingRegion = signingRegion ?? found.region
                bundle = bundle ?? environment["AWS_CA_BUNDLE"] ?? found.caBundle
                if (environment["AWS_ACCESS_KEY_ID"] ?? "").isEmpty, let key = found.accessKeyId, let secret = found.secretAccessKey {
                    environment["AWS_ACCESS_KEY_ID"] = key
                    environment["AWS_SECRET_ACCESS_KEY"] = secret
                    environment["AWS_SESSION_TOKEN"] = nil
                }
            }
        }
        guard let target else { return 2 }
        var client: NodeStatusClient
        switch StatusCommand.client(endpoint: target, caBundle: bundle, region: signingRegion, environment: environment) {
        case .success(let made): client = made
        case .failure(let problem):
            error(problem.message)
            return 2
        }
        // The fence waits on every other node of the region (a few seconds at most).
        client.timeout = 30
        let request = JSONValue.object([(key: "Force", value: .bool(force))])
        let body: [UInt8]
        do {
            body = try client.call("Strongroom.PromoteNode", body: request.serializedBytes(), now: now)
        } catch let failure {
            return StatusCommand.exitStatus(failure, unreachable: "cannot reach \(target)", error: error)
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
            return 0
        }
        let answer = (try? JSONValue.parse(body)) ?? .null
        var lines = ["\(StatusCommand.text(answer["NodeId"])) is now the primary of \(StatusCommand.text(answer["Region"])) at epoch "
            + "\(StatusCommand.text(answer["Epoch"])) (was epoch \(StatusCommand.text(answer["PreviousEpoch"]))); its promotion record is "
            + "LSN \(StatusCommand.text(answer["PromotionLSN"])), in \(StatusCommand.text(answer["Milliseconds"])) ms."]
        for reached in answer["Reached"]?.arrayValue ?? [] {
            lines.append("  fenced \(StatusCommand.text(reached["NodeId"])) (\(StatusCommand.text(reached["Role"])), log ends at "
                + "\(StatusCommand.text(reached["EndEpoch"]))/\(StatusCommand.text(reached["EndLSN"])))")
        }
        for missing in answer["NotReached"]?.arrayValue ?? [] { lines.append("  not reached: \(StatusCommand.text(missing))") }
        if let lost = answer["MayLose"], lost != .null { lines.append("MAY LOSE: \(StatusCommand.text(lost))") }
        lines.append("It restarts in its new role now and accepts writes within about a second; the others follow it.")
        print(lines.joined(separator: "\n"))
        return 0
    }
}
