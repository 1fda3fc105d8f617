public import Foundation
import JSON

/// `strongroom dr promote-region`: region-level disaster recovery. Asks a node of a surviving
/// region (`Strongroom.PromoteRegion`) to make every secret whose primary is in the lost region
/// its own, as StopReplicationToReplica does for one; with `dryRun`, only lists them.
public enum PromoteRegionCommand {
    /// Runs the command: credentials, CA bundle and region as `strongroom status` reads them.
    ///
    /// - Returns: 0 with the list on `print` (one line per secret, or the node's JSON with
    ///   `json`); 1 when the node cannot be reached or refuses (its `__type` and message on
    ///   `error`); 2 for a usage problem.
    public static func run(
        endpoint: String, caBundle: String?, region: String?, lost: String, dryRun: Bool, json: Bool,
        environment: [String: String], now: Date, print: (String) -> Void, error: (String) -> Void
    ) -> Int32 {
        let client: NodeStatusClient
        switch StatusCommand.client(endpoint: endpoint, caBundle: caBundle, region: region, environment: environment) {
        case .success(let made): client = made
        case .failure(let problem):
            error(problem.message)
            return 2
        }
        let request = JSONValue.object([(key: "LostRegion", value: .string(lost)), (key: "DryRun", value: .bool(dryRun))])
        let body: [UInt8]
        do {
            body = try client.call("Strongroom.PromoteRegion", body: request.serializedBytes(), now: now)
        } catch let failure {
            return StatusCommand.exitStatus(failure, unreachable: "cannot reach \(endpoint)", error: error)
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
            return 0
        }
        print(summary((try? JSONValue.parse(body)) ?? .null))
        return 0
    }

    /// What was (or, in a dry run, would be) promoted, one secret a line.
    static func summary(_ answer: JSONValue) -> String {
        let lost = StatusCommand.text(answer["LostRegion"])
        let dryRun = answer["DryRun"] == .bool(true)
        guard case .array(let promoted)? = answer["Promoted"], !promoted.isEmpty else {
            return "no secret here has its primary in \(lost): nothing \(dryRun ? "would be" : "was") promoted"
        }
        var lines = [dryRun
            ? "dry run: \(promoted.count) secret(s) whose primary is in \(lost) would become this region's own:"
            : "promoted \(promoted.count) secret(s) whose primary was in \(lost); they now accept writes here:"]
        for secret in promoted {
            lines.append("  \(StatusCommand.text(secret["Name"]))  \(StatusCommand.text(secret["ARN"]))")
        }
        if !dryRun {
            lines.append("When \(lost) returns, it hears of each promotion and drops this region from that secret's ReplicationStatus.")
        }
        return lines.joined(separator: "\n")
    }
}
