import ArgumentParsing
import Foundation
import Node
import Provisioning

extension Strongroom {
    /// `strongroom iam issue-session`: temporary credentials for a configured user or role.
    struct IAMIssueSession: StrongroomCommand {
        static let syntax = Strongroom.syntax(
            ["iam", "issue-session"],
            [
                .value("--principal", "ARN", required: true), .value("--duration", "1h"), .value("--session-name", "NAME"),
                .repeatable("--tag", "KEY=VALUE"), .flag("--env"), .value("--iam", "FILE"), .value("--dir", "DIR"),
            ],
            exclusive: [["--iam", "--dir"]], """
            Temporary credentials (access key, secret, session token) for a configured user or
            role, valid 15m to 12h (default 1h), signed with the IAM file's sessionSigningKey.
            The IAM file is FILE, or DIR/iam.json (default DIR \(DevEnvironment.defaultDirectory)).
            JSON as STS prints it, or export lines with --env.
            """)

        var principal: String
        var duration: String
        var sessionName: String?
        /// A key given twice keeps its last value.
        var tags: [String: String] = [:]
        var env: Bool
        var iamFile: String

        init(_ arguments: ParsedArguments) throws(UsageError) {
            principal = arguments.value("--principal") ?? ""
            duration = arguments.value("--duration") ?? "1h"
            sessionName = arguments.value("--session-name")
            env = arguments.has("--env")
            for tag in arguments.all("--tag") {
                guard let equals = tag.firstIndex(of: "="), equals != tag.startIndex else { throw UsageError("--tag takes KEY=VALUE") }
                tags[String(tag[..<equals])] = String(tag[tag.index(after: equals)...])
            }
            iamFile = arguments.value("--iam") ?? ((arguments.value("--dir") ?? DevEnvironment.defaultDirectory) + "/iam.json")
        }

        func run(_ console: Console) -> Int32 {
            IAMTools.issueSession(iamFile: iamFile, principalArn: principal, duration: duration, sessionName: sessionName, tags: tags,
                                  env: env, now: Date(), print: console.say, error: console.warn)
        }
    }
}
