public import Foundation
import Cryptography
import JSON
import Platform

/// `strongroom status`: asks a node for its region, role and logs (`Strongroom.GetNodeStatus`)
/// and prints them as a summary, or with `json` as the node's JSON.
public enum StatusCommand {
    /// The region signed for when neither `--region` nor the environment names one (as the AWS
    /// CLI's examples assume).
    public static let defaultRegion = "us-east-1"

    /// Runs the command. Credentials come from `environment` as the AWS SDKs read them
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the CA bundle from
    /// `caBundle` or `AWS_CA_BUNDLE`, the region from `region`, `AWS_REGION`, `AWS_DEFAULT_REGION`
    /// or `defaultRegion`.
    ///
    /// - Returns: the exit status: 0 with the status on `print`; 1 when the node cannot be
    ///   reached or answers with an error; 2 for a usage problem (a bad URL, no credentials, no
    ///   CA bundle). Every failure is one line on `error`.
    public static func run(
        endpoint: String, caBundle: String?, region: String?, json: Bool, environment: [String: String],
        now: Date, rotationOnly: Bool = false, print: (String) -> Void, error: (String) -> Void
    ) -> Int32 {
        let client: NodeStatusClient
        switch Self.client(endpoint: endpoint, caBundle: caBundle, region: region, environment: environment) {
        case .success(let made): client = made
        case .failure(let problem):
            error(problem.message)
            return 2
        }
        let body: [UInt8]
        do {
            body = try client.fetch(now: now)
        } catch let failure {
            return exitStatus(failure, unreachable: "cannot get the status of \(endpoint)", error: error)
        }
        // `fetch` only returns bodies that parse as a JSON object.
        let status = (try? JSONValue.parse(body)) ?? .null
        if rotationOnly {
            let rotation = status["rotation"] ?? .null
            print(json ? rotation.serialized() : rotationSummary(rotation).joined(separator: "\n"))
        } else if json {
            print(String(decoding: body, as: UTF8.self))
        } else {
            print(summary(status))
        }
        return 0
    }

    /// Says what went wrong with a call to a node, and the exit status: 2 for what the user
    /// gave (a CA bundle, a URL), 1 for a node that cannot be reached or answers an error.
    static func exitStatus(_ failure: NodeStatusError, unreachable: String, error: (String) -> Void) -> Int32 {
        switch failure.code {
        case .configuration:
            error(failure.message)
            return 2
        case .connection:
            error("\(unreachable): \(failure.message)")
            return 1
        case .service:
            error(failure.description)
            return 1
        }
    }

    /// A client for a node's Strongroom operations: the endpoint, credentials, CA bundle and
    /// region as the status command (and `dr promote-region`) read them.
    static func client(endpoint: String, caBundle: String?, region: String?, environment: [String: String])
        -> Result<NodeStatusClient, NodeStatusError> {
        func given(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let url = TargetURL(endpoint) else {
            return .failure(NodeStatusError(.configuration, "--endpoint takes https://HOST:PORT with HOST an IP address or localhost, got '\(endpoint)'"))
        }
        guard let accessKeyId = given("AWS_ACCESS_KEY_ID"), let secret = given("AWS_SECRET_ACCESS_KEY") else {
            return .failure(NodeStatusError(.configuration, "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)"))
        }
        guard let bundle = caBundle ?? given("AWS_CA_BUNDLE") else {
            return .failure(NodeStatusError(.configuration, "no CA bundle to trust the node's certificate: give --ca-bundle FILE or set AWS_CA_BUNDLE"))
        }
        let credentials = NodeStatusClient.Credentials(
            accessKeyId: accessKeyId, secretAccessKey: SecureBytes(Array(secret.utf8)), sessionToken: given("AWS_SESSION_TOKEN"))
        return .success(NodeStatusClient(endpoint: url, caBundle: bundle, credentials: credentials,
                                         region: region ?? given("AWS_REGION") ?? given("AWS_DEFAULT_REGION") ?? defaultRegion))
    }

    /// The status document as text: the node, then each log it holds with its subscribers (the
    /// region's own log) or its source (a replica log). Fields the document lacks print as `-`.
    static func summary(_ status: JSONValue) -> String {
        var lines: [String] = []
        lines.append("node \(text(status["nodeId"]))  region \(text(status["region"]))  role \(text(status["role"]))"
            + (status["confirming"] == .bool(true) ? " (confirming its epoch with its region)" : ""))
        if let epoch = status["epoch"], epoch != .null {
            lines.append("epoch \(text(epoch))  highest heard of \(text(status["highestSeenEpoch"]))  epochs \(text(status["epochHistory"]))"
                + "  committed LSN \(text(status["committedLSN"]))  durable LSN \(text(status["durableLSN"]))")
        }
        if let replication = status["replication"], replication != .null {
            lines.append("replication listens on \(text(replication))")
        } else {
            lines.append("replication: not configured (single region)")
        }
        if let following = status["following"], following != .null {
            lines.append("following \(text(following["primary"]))  link \(text(following["link"]))  primary lsn \(text(following["primaryLSN"]))"
                + "  lag \(text(following["lagRecords"])) records  last heard \(millisAgo(following["lastHeardMillisAgo"]))")
            if let lastError = following["lastError"], lastError != .null { lines.append("  last error: \(text(lastError))") }
        }
        if let divergence = status["divergence"], divergence != .null {
            lines.append("DIVERGED: \(text(divergence["facts"])) fact(s) about secrets this node does not hold; the first: \(text(divergence["first"]))")
        }
        if let rotation = status["rotation"], rotation != .null {
            lines.append("")
            lines += rotationSummary(rotation)
        }
        guard case .array(let logs)? = status["logs"] else { return lines.joined(separator: "\n") }
        for log in logs {
            let role = text(log["role"])
            lines.append("")
            lines.append("log \(text(log["region"]))  \(role)  epoch \(text(log["epoch"]))  lsn \(text(log["lsn"]))")
            if role == "replica" {
                lines.append("  source \(text(log["source"]))  link \(text(log["link"]))"
                    + "  last heard \(millisAgo(log["lastHeardMillisAgo"]))")
                lines.append("  applied lsn \(text(log["lsn"]))  source lsn \(text(log["sourceLSN"]))"
                    + "  lag \(text(log["lagRecords"])) records")
                if let lastError = log["lastError"], lastError != .null {
                    lines.append("  last error: \(text(lastError))")
                }
                continue
            }
            guard case .array(let subscribers)? = log["subscribers"], !subscribers.isEmpty else {
                if role == "primary" { lines.append("  no subscribers connected") }
                continue
            }
            for subscriber in subscribers {
                lines.append("  subscriber \(text(subscriber["nodeId"])) (\(text(subscriber["region"])))"
                    + "  acked lsn \(text(subscriber["ackedLSN"]))"
                    + "  lag \(text(subscriber["lagRecords"])) records, \(text(subscriber["lagMillis"])) ms"
                    + "  link \(text(subscriber["link"]))  last heard \(millisAgo(subscriber["lastHeardMillisAgo"]))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The rotation runner's state: the functions it can invoke, the rotations running and the
    /// last ones that ended (newest first), each with its step, attempt and last error.
    static func rotationSummary(_ rotation: JSONValue) -> [String] {
        guard case .object = rotation else { return ["rotation: not reported by this node"] }
        var lines: [String] = []
        let functions = rotation["functions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        lines.append("rotation: " + (rotation["runsRotations"] == .bool(true) ? "runs this region's rotations" : "a standby (its primary rotates)")
            + "; \(functions.count) function(s) registered" + (functions.isEmpty ? "" : ": " + functions.joined(separator: ", ")))
        func entry(_ run: JSONValue) -> String {
            var line = "  \(text(run["secretId"]))  version \(text(run["clientRequestToken"]))  \(text(run["kind"]))  \(text(run["phase"]))"
            if run["step"] != .null { line += " \(text(run["step"]))" }
            if run["attempt"] != .null { line += " (attempt \(text(run["attempt"])))" }
            if let error = run["lastError"], error != .null { line += "  last error: \(text(error))" }
            return line
        }
        let running = rotation["running"]?.arrayValue ?? []
        lines.append(running.isEmpty ? "no rotation running" : "running:")
        lines += running.map(entry)
        let recent = rotation["recent"]?.arrayValue ?? []
        if !recent.isEmpty {
            lines.append("recent (newest first):")
            lines += recent.map(entry)
        }
        return lines
    }

    /// A scalar as text; `-` for null, a missing member or a structure.
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: return s
        case .number(let n)?: return n
        case .bool(let b)?: return b ? "true" : "false"
        default: return "-"
        }
    }

    static func millisAgo(_ value: JSONValue?) -> String {
        let shown = text(value)
        return shown == "-" ? "never" : "\(shown) ms ago"
    }
}
