import Foundation
import JSON
public import Policy
import SecretStore
import Synchronization
import AWSProtocol

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
        let request = requestContext(context, action: action, resource: resource, secret: secret, keys: keys)
        let answer = PolicyEvaluator.evaluate(request, identityPolicies: context.identityPolicies,
                                              resourcePolicy: resourcePolicy(secret?.resourcePolicy),
                                              resourceAccountId: resourceAccount)
        guard answer.isAllowed else {
            var shown = request
            shown.resource = named ?? resource
            throw AWSError(.notAuthorized, answer.message(for: shown))
        }
    }

    /// The request `action` on `resource` as the policy evaluator sees it: the request-wide
    /// keys, the operation's own `keys`, and the secret's keys (tags, id, primary region,
    /// rotation function) when there is one.
    func requestContext(
        _ context: OperationContext, action: String, resource: String, secret: Secret?, keys: [String: ContextValue] = [:]
    ) -> RequestContext {
        var values = context.requestKeys
        for (key, value) in keys { values[key] = value }
        if let secret {
            for tag in secret.tags {
                values["aws:ResourceTag/\(tag.key)"] = .single(tag.value)
                values["secretsmanager:ResourceTag/\(tag.key)"] = .single(tag.value)
            }
            values["secretsmanager:SecretId"] = .single(secret.arn)
            values["secretsmanager:SecretPrimaryRegion"] = .single(secret.primaryRegion ?? context.region)
            if let lambda = secret.rotation.lambdaARN {
                values["secretsmanager:resource/AllowRotationLambdaArn"] = .single(lambda)
            }
        }
        // A bare name is a Secrets Manager action; Strongroom's own come as `strongroom:Name`.
        // (On bytes: with Foundation imported, `String.contains(String)` is NSString's
        // `range(of:)`, 2% of a GetSecretValue's CPU.)
        let qualified = action.utf8.contains(UInt8(ascii: ":"))
        return RequestContext(action: qualified ? action : "secretsmanager:" + action, resource: resource,
                              caller: context.caller.identity, values: values)
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
            "aws:CurrentTime": .single(AWSTimestamp.extended(now)),
            "aws:EpochTime": .single(String(Int64(now.timeIntervalSince1970.rounded(.down)))),
            "aws:RequestedRegion": .single(region),
        ]
        if !sourceIP.isEmpty { keys["aws:SourceIp"] = .single(sourceIP) }
        // Session credentials carry their issue time: a `DateLessThan aws:TokenIssueTime` deny
        // revokes every session issued before it, as in AWS.
        if let session { keys["aws:TokenIssueTime"] = .single(AWSTimestamp.extended(seconds: session.issuedAt)) }
        for member in ["Name", "Description", "VersionId", "VersionStage", "RotationLambdaARN"] {
            if let value = SecretsOperations.string(input, member) { keys["secretsmanager:" + member] = .single(value) }
        }
        for member in ["ForceDeleteWithoutRecovery", "BlockPublicPolicy", "ForceOverwriteReplicaSecret", "RotateImmediately"] {
            if let value = SecretsOperations.bool(input, member) { keys["secretsmanager:" + member] = .single(value ? "true" : "false") }
        }
        if case .number(let days)? = input["RecoveryWindowInDays"] { keys["secretsmanager:RecoveryWindowInDays"] = .single(days) }
        if let rules = input["RotationRules"], rules != .null { keys["secretsmanager:ModifyRotationRules"] = .single("true") }
        if case .array(let regions)? = input["AddReplicaRegions"] {
            keys["secretsmanager:AddReplicaRegions"] = .multiple(regions.compactMap { $0["Region"]?.stringValue })
        }
        if case .array(let tags)? = input["Tags"] {
            var tagKeys: [String] = []
            for tag in tags {
                guard let key = tag["Key"]?.stringValue else { continue }
                tagKeys.append(key)
                keys["aws:RequestTag/\(key)"] = .single(tag["Value"]?.stringValue ?? "")
            }
            keys["aws:TagKeys"] = .multiple(tagKeys)
        }
        if let tagKeys = SecretsOperations.strings(input, "TagKeys") { keys["aws:TagKeys"] = .multiple(tagKeys) }
        return keys
    }
}
