import Foundation
import JSON
public import Policy
import SecretStore
import Synchronization

/// Authorization of Secrets Manager calls, the way IAM authorizes them: the caller's identity
/// policies and the secret's resource policy, evaluated by the pure `Policy` module against the
/// request's context keys. Every operation asks it before it reads or decides anything.
///
/// Resource policies are stored as text (the region log holds them so); their parsed form is
/// cached here by text, so the hot read path parses a policy once per node, not per request.
final class Authorizer: Sendable {
    /// Parsed resource policies by document text. Bounded: cleared when full (a policy is
    /// re-parsed on its next use; no stale entry can exist since the key is the text itself).
    private let cache = Mutex<[String: PolicyDocument]>([:])
    static let cacheLimit = 4096

    /// The parsed form of a stored resource policy. A stored policy was accepted by
    /// PutResourcePolicy, so it parses; if it somehow does not (a log from a build with other
    /// rules), it grants nothing and denies nothing, and the refusal says why in the log.
    func resourcePolicy(_ text: String?) -> PolicyDocument? {
        guard let text else { return nil }
        if let cached = cache.withLock({ $0[text] }) { return cached }
        guard let parsed = try? PolicyDocument.parse(text, kind: .resource) else { return nil }
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[text] = parsed
        }
        return parsed
    }

    /// Evaluates `action` on `resource` for the caller of `context`.
    /// - Parameters:
    ///   - secret: the secret the request resolved to, when it exists: its tags, rotation
    ///     function, region and resource policy join the evaluation.
    ///   - resourceAccount: the account that owns (or would own) the resource.
    ///   - keys: the operation's own condition keys (beyond the request-wide ones).
    ///   - named: how the refusal names the resource: the `SecretId` as the caller sent it
    ///     (AWS's messages do so: "on resource: db-connection"), so that a refusal never reveals
    ///     a secret's full ARN or whether it exists. Defaults to `resource`.
    /// - Throws: AccessDeniedException with IAM's message when the answer is not Allow.
    func authorize(
        _ context: OperationContext, action: String, resource: String, resourceAccount: String, secret: Secret?,
        keys: [String: ContextValue] = [:], named: String? = nil
    ) throws(AWSError) {
        var values = context.requestKeys
        for (key, value) in keys { values[key] = value }
        if let secret {
            for tag in secret.tags {
                values["aws:ResourceTag/\(tag.key)"] = .single(tag.value)
                values["secretsmanager:ResourceTag/\(tag.key)"] = .single(tag.value)
            }
            values["secretsmanager:SecretId"] = .single(secret.arn)
            values["secretsmanager:SecretPrimaryRegion"] = .single(context.region)
            if let lambda = secret.rotation.lambdaARN {
                values["secretsmanager:resource/AllowRotationLambdaArn"] = .single(lambda)
            }
        }
        let request = RequestContext(action: "secretsmanager:" + action, resource: resource,
                                     caller: context.caller.identity, values: values)
        let answer = PolicyEvaluator.evaluate(request, identityPolicies: context.identityPolicies,
                                              resourcePolicy: resourcePolicy(secret?.resourcePolicy),
                                              resourceAccountId: resourceAccount)
        guard answer.isAllowed else {
            var shown = request
            shown.resource = named ?? resource
            throw AWSError(.notAuthorized, answer.message(for: shown))
        }
    }
}

extension Caller {
    /// The caller as the policy evaluator sees it.
    public var identity: CallerIdentity {
        CallerIdentity(arn: arn, principalArn: principal.arn, accountId: principal.accountId,
                       kind: principal.type == .role ? .assumedRole : .user, userId: userId,
                       username: principal.type == .user ? principal.name : nil, organizationId: organizationId,
                       tags: tags)
    }
}

/// The condition keys a request carries whatever it touches: the global `aws:` keys and the
/// `secretsmanager:` keys that come straight from the operation's input members.
enum RequestKeys {
    static func make(input: JSONValue, sourceIP: String, now: Date, region: String, session: SessionClaims? = nil) -> [String: ContextValue] {
        var keys: [String: ContextValue] = [
            "aws:SecureTransport": .single("true"),
            "aws:CurrentTime": .single(iso8601(now)),
            "aws:EpochTime": .single(String(Int64(now.timeIntervalSince1970.rounded(.down)))),
            "aws:RequestedRegion": .single(region),
        ]
        if !sourceIP.isEmpty { keys["aws:SourceIp"] = .single(sourceIP) }
        // Session credentials carry their issue time: a `DateLessThan aws:TokenIssueTime` deny
        // revokes every session issued before it, as in AWS.
        if let session { keys["aws:TokenIssueTime"] = .single(iso8601Seconds(session.issuedAt)) }
        for (member, key) in [("Name", "Name"), ("Description", "Description"), ("VersionId", "VersionId"),
                              ("VersionStage", "VersionStage"), ("RotationLambdaARN", "RotationLambdaARN")] {
            if let value = input.string(member) { keys["secretsmanager:" + key] = .single(value) }
        }
        for member in ["ForceDeleteWithoutRecovery", "BlockPublicPolicy", "ForceOverwriteReplicaSecret", "RotateImmediately"] {
            if let value = input.bool(member) { keys["secretsmanager:" + member] = .single(value ? "true" : "false") }
        }
        if let days = input.number("RecoveryWindowInDays") { keys["secretsmanager:RecoveryWindowInDays"] = .single(days) }
        if input.has("RotationRules") { keys["secretsmanager:ModifyRotationRules"] = .single("true") }
        if let regions = input.objects("AddReplicaRegions") {
            keys["secretsmanager:AddReplicaRegions"] = .multiple(regions.compactMap { $0.string("Region") })
        }
        if let tags = input.objects("Tags") {
            var tagKeys: [String] = []
            for tag in tags {
                guard let key = tag.string("Key") else { continue }
                tagKeys.append(key)
                keys["aws:RequestTag/\(key)"] = .single(tag.string("Value") ?? "")
            }
            keys["aws:TagKeys"] = .multiple(tagKeys)
        }
        if let tagKeys = input.strings("TagKeys") { keys["aws:TagKeys"] = .multiple(tagKeys) }
        return keys
    }

    static func iso8601(_ date: Date) -> String {
        iso8601Seconds(Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds, without Foundation's formatters (hot path).
    static func iso8601Seconds(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }
}

extension JSONValue {
    fileprivate func string(_ member: String) -> String? { self[member]?.stringValue }

    fileprivate func bool(_ member: String) -> Bool? {
        if case .bool(let value)? = self[member] { return value }
        return nil
    }

    fileprivate func number(_ member: String) -> String? {
        if case .number(let text)? = self[member] { return text }
        return nil
    }

    fileprivate func has(_ member: String) -> Bool { self[member] != nil && self[member] != .null }

    fileprivate func objects(_ member: String) -> [JSONValue]? {
        guard case .array(let items)? = self[member] else { return nil }
        return items
    }

    fileprivate func strings(_ member: String) -> [String]? {
        guard case .array(let items)? = self[member] else { return nil }
        return items.compactMap(\.stringValue)
    }
}
