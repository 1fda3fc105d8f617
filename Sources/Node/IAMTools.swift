public import Foundation
import Cryptography
import JSON
import SecretsAPI

/// `strongroom iam issue-session`: temporary credentials for a configured user or role, signed
/// with the IAM configuration's session key, so that workloads need no long-lived keys.
public enum IAMTools {
    /// Parses `1h`, `90m`, `3600s` or `3600` (seconds).
    public static func parseDuration(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600]
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, let factor = units[last] {
            unit = factor
            digits = text.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0,
              value <= Int64.max / unit else { return nil }
        return value * unit
    }

    /// Issues a session and renders it: STS's JSON shape by default, or `export` lines for a
    /// shell with `env`. Returns the exit status (0, or 2 with the reason on `error`).
    public static func issueSession(
        iamFile: String, principalArn: String, duration: String, sessionName: String?, tags: [String: String],
        env: Bool, now: Date, print: (String) -> Void, error: (String) -> Void
    ) -> Int32 {
        let configuration: IAMConfiguration
        do {
            configuration = try Node.loadIAM(iamFile)
        } catch let failure {
            error(failure.message)
            return 2
        }
        guard let seconds = parseDuration(duration) else {
            error("--duration takes 15m to 12h, e.g. 1h, 90m or 3600s")
            return 2
        }
        let name = sessionName ?? "strongroom-\(Int64(now.timeIntervalSince1970))"
        let credentials: SessionCredentials
        do {
            credentials = try configuration.issueSession(principalArn: principalArn, sessionName: name, durationSeconds: seconds,
                                                         tags: tags, now: now, random: SystemRandomSource())
        } catch let failure {
            error(failure.message)
            return 2
        }
        let secret = String(decoding: credentials.secretAccessKey.unsafeCopiedBytes, as: UTF8.self)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let expiration = formatter.string(from: credentials.expiration)
        if env {
            print("""
                export AWS_ACCESS_KEY_ID=\(credentials.accessKeyId)
                export AWS_SECRET_ACCESS_KEY=\(secret)
                export AWS_SESSION_TOKEN=\(credentials.sessionToken)
                # expires \(expiration)
                """)
            return 0
        }
        var members: [(key: String, value: JSONValue)] = [
            ("Credentials", ["AccessKeyId": .string(credentials.accessKeyId), "SecretAccessKey": .string(secret),
                             "SessionToken": .string(credentials.sessionToken), "Expiration": .string(expiration)]),
            ("Principal", .string(principalArn)), ("SessionName", .string(name)),
        ]
        if let identity = configuration.identity(arn: principalArn), identity.principal.type == .role {
            let caller = Caller(principal: identity.principal, accessKeyId: credentials.accessKeyId,
                                session: credentials.claims)
            members.append(("AssumedRoleUser", ["Arn": .string(caller.arn), "AssumedRoleId": .string(caller.userId)]))
        }
        // STS's shape, members sorted by name as before.
        print(JSONValue.object(members).sortingMembers().formatted())
        return 0
    }
}
