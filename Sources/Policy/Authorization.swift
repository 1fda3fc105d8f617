/// The outcome of evaluating one request, with the reason AWS would give.
public struct Authorization: Sendable, Equatable {
    /// IAM's three outcomes: allowed, explicitly denied, or not allowed by anything.
    public enum Decision: Sendable, Equatable {
        case allow
        case explicitDeny
        case implicitDeny
    }

    /// Why, in the terms of AWS's AccessDenied messages.
    public enum Reason: Sendable, Equatable {
        case allowed
        case explicitDenyInIdentityPolicy
        case explicitDenyInResourcePolicy
        /// Same account and nothing allows; or cross-account and the identity side does not allow.
        case noIdentityPolicyAllows
        /// Cross-account: an identity policy allows but the resource policy does not.
        case noResourcePolicyAllows
    }

    public var decision: Decision
    public var reason: Reason

    /// Whether the request may proceed.
    public var isAllowed: Bool { decision == .allow }

    /// An outcome (the evaluator builds them; tests and callers may compare against them).
    public init(decision: Decision, reason: Reason) {
        self.decision = decision
        self.reason = reason
    }

    static let allowed = Authorization(decision: .allow, reason: .allowed)
    static let deniedByIdentityPolicy = Authorization(decision: .explicitDeny, reason: .explicitDenyInIdentityPolicy)
    static let deniedByResourcePolicy = Authorization(decision: .explicitDeny, reason: .explicitDenyInResourcePolicy)
    static let noIdentityAllow = Authorization(decision: .implicitDeny, reason: .noIdentityPolicyAllows)
    static let noResourceAllow = Authorization(decision: .implicitDeny, reason: .noResourcePolicyAllows)

    /// AWS's `AccessDeniedException` message for this outcome, for example
    /// `User: arn:aws:iam::111122223333:user/reader is not authorized to perform:
    /// secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:…:secret:db-AbCdEf
    /// because no identity-based policy allows the secretsmanager:GetSecretValue action`.
    /// The `User:` part is the caller's ARN (the assumed-role ARN for sessions). For actions
    /// without a resource (`resource == "*"`, e.g. `ListSecrets`) AWS leaves out the
    /// `on resource:` part. An allowed request gets a sentence saying so (never sent to clients).
    public func message(for request: RequestContext) -> String {
        let action = request.action
        var text = "User: \(request.caller.arn) is "
        text += decision == .allow ? "authorized to perform: \(action)" : "not authorized to perform: \(action)"
        if request.resource != "*" { text += " on resource: \(request.resource)" }
        switch reason {
        case .allowed: break
        case .explicitDenyInIdentityPolicy: text += " with an explicit deny in an identity-based policy"
        case .explicitDenyInResourcePolicy: text += " with an explicit deny in a resource-based policy"
        case .noIdentityPolicyAllows: text += " because no identity-based policy allows the \(action) action"
        case .noResourcePolicyAllows: text += " because no resource-based policy allows the \(action) action"
        }
        return text
    }
}
