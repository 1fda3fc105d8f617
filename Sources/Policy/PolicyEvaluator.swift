/// AWS's policy evaluation logic for one request, restricted to the policy types Strongroom
/// has: identity-based policies and the secret's resource-based policy (no SCPs, RCPs,
/// permission boundaries or session policies). IAM User Guide, "Policy evaluation logic" and
/// "Cross-account policy evaluation logic":
///
/// 1. An explicit `Deny` in any applicable statement wins. When both sides deny, the identity
///    side is reported (IAM documents no order for this; one is needed for a stable message).
/// 2. Same account (`caller.accountId == resourceAccountId`): allowed when an identity policy
///    allows, or when the resource policy allows *the caller itself* (`*`, its user ARN, its
///    role ARN, its session ARN, or `NotPrincipal` not naming it).
/// 3. Cross-account: allowed only when an identity policy allows *and* the resource policy
///    allows the caller, an account entry naming the caller's account included.
/// 4. Otherwise an implicit deny.
///
/// The account subtlety of rule 2: a resource-policy `Allow` whose principal matches only as the
/// account (`"123456789012"` or `arn:aws:iam::123456789012:root`) delegates to that account's
/// identity policies; it grants nothing by itself, in the resource's own account as well. That
/// is IAM's meaning of the account principal ("the account's administrators decide"), and why
/// AWS's own example resource policies name the account for cross-account access.
public enum PolicyEvaluator {
    /// Evaluates `request` against the caller's identity policies and the resource policy of the
    /// secret (nil when it has none, or for actions without a resource). Pass documents parsed
    /// with the matching `PolicyKind`: the principal of a statement is read only on the resource
    /// side, so a resource-kind document among the identity policies has its principals ignored,
    /// and an identity-kind document as the resource policy grants and denies nothing.
    public static func evaluate(_ request: RequestContext, identityPolicies: [PolicyDocument],
                                resourcePolicy: PolicyDocument?, resourceAccountId: String) -> Authorization {
        var identityAllows = false
        for policy in identityPolicies {
            switch scan(policy, request, principalMatter: false, stopAtFirstAllow: identityAllows) {
            case .deny: return .deniedByIdentityPolicy
            case .allow: identityAllows = true
            case .allowThroughAccount, .nothing: break
            }
        }
        var resourceAllows = PrincipalMatch.none
        if let resourcePolicy {
            switch scan(resourcePolicy, request, principalMatter: true, stopAtFirstAllow: false) {
            case .deny: return .deniedByResourcePolicy
            case .allow: resourceAllows = .direct
            case .allowThroughAccount: resourceAllows = .account
            case .nothing: break
            }
        }
        if request.caller.accountId == resourceAccountId {
            return identityAllows || resourceAllows == .direct ? .allowed : .noIdentityAllow
        }
        guard identityAllows else { return .noIdentityAllow }
        return resourceAllows >= .account ? .allowed : .noResourceAllow
    }

    /// What one policy says about a request.
    enum Verdict {
        case nothing
        /// Allowed only through an account principal (resource policies).
        case allowThroughAccount
        case allow
        case deny
    }

    /// Scans every statement: a matching Deny ends the scan; Allows are remembered (once one
    /// directly allows, further Allow statements need not be evaluated, only Denies).
    static func scan(_ policy: PolicyDocument, _ request: RequestContext, principalMatter: Bool,
                     stopAtFirstAllow alreadyAllowed: Bool) -> Verdict {
        var verdict = Verdict.nothing
        var allowed = alreadyAllowed
        for statement in policy.statements {
            if statement.effect == .allow && allowed { continue }
            var principalMatch = PrincipalMatch.direct
            if principalMatter {
                // An identity policy applies to its own principal; a resource policy names it.
                guard let principal = statement.principal else { continue }
                principalMatch = principal.match(request.caller)
                if principalMatch == .none { continue }
            }
            guard statement.applies(to: request) else { continue }
            switch statement.effect {
            case .deny:
                return .deny
            case .allow:
                if principalMatch == .direct {
                    verdict = .allow
                    allowed = true
                } else if case .nothing = verdict {
                    verdict = .allowThroughAccount
                }
            }
        }
        return verdict
    }
}

extension PolicyStatement {
    /// Whether the statement's action, resource and conditions all cover `request`
    /// (the principal is the caller's concern). Cheapest checks first.
    func applies(to request: RequestContext) -> Bool {
        guard actions.covers(request.action) else { return false }
        if let resources, !resources.covers(request.resource, in: request) { return false }
        for clause in conditions where !clause.holds(in: request) { return false }
        return true
    }
}
