/// ValidateResourcePolicy's third check. AWS's API reference lists it as "Verifies the policy
/// does not lock out a caller" and documents nothing more (no check name, no message, no
/// rule). Strongroom's reading, the one that cannot be argued with: a resource policy locks
/// its caller out when it would explicitly deny that caller the actions that change or remove
/// a resource policy (`secretsmanager:PutResourcePolicy`, `secretsmanager:DeleteResourcePolicy`)
/// on the secret. An explicit Deny wins over every Allow, in identity policies too, so once
/// such a policy is attached, the caller cannot take it back; only another principal could.
///
/// The denial is judged in the caller's context at validation time (its principal, tags,
/// source address, the secret's tags…), as the statements' conditions would be judged on the
/// caller's next PutResourcePolicy. A Deny that applies only under other conditions (another
/// address, a later date) is not a lockout now, and is not reported. Allows are not
/// examined: not granting the caller anything is not a lockout, since the caller's identity
/// policies may still allow.
public enum PolicyLockout {
    /// The actions a caller needs to change a secret's resource policy again.
    public static let managementActions = ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"]

    /// The management actions that `policy`, attached as the secret's resource policy, would
    /// explicitly deny to the caller of `request` (whose action is replaced by each of them).
    /// Empty when the policy leaves the caller able to change it.
    public static func deniedActions(by policy: PolicyDocument, to request: RequestContext) -> [String] {
        managementActions.filter { action in
            var asked = request
            asked.action = action
            if case .deny = PolicyEvaluator.scan(policy, asked, principalMatter: true, stopAtFirstAllow: false) {
                return true
            }
            return false
        }
    }
}
