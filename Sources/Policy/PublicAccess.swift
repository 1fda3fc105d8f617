/// The broad-access check behind `PutResourcePolicy`'s `BlockPublicPolicy` and
/// `ValidateResourcePolicy`: does a resource policy let principals outside the owner's reach in?
///
/// Only `Allow` statements are examined. A statement grants broad access when
/// - its principal is `"*"` or `{"AWS": "*"}`, or it uses `NotPrincipal` (everyone but a list),
///   unless a condition pins the caller to a fixed value: a positive, non-`IfExists`
///   `StringEquals`, `StringEqualsIgnoreCase`, `StringLike`, `ArnEquals` or `ArnLike` (bare or
///   `ForAnyValue:`) on a key that identifies the caller or its origin, with values that hold
///   no wildcard and no policy variable (`aws:PrincipalArn = ${aws:PrincipalArn}` pins nothing);
/// - or it names an account (an account id, `:root`, or a user, role or session of it), or is
///   pinned to one by such a condition, whose organization is not the owner's: only when the
///   owner belongs to an organization, and an account with no known organization counts as
///   outside it.
/// Denies never grant, and `Service`/`Federated`/`CanonicalUser` principals are not the public.
public enum PublicAccess {
    /// Human-readable findings, empty when the policy does not grant broad access.
    /// `organizationOf` answers an account's organization id (nil when it has none or is unknown).
    public static func findings(in policy: PolicyDocument, ownerAccountId: String,
                                organizationOf: (String) -> String?) -> [String] {
        let ownerOrganization = organizationOf(ownerAccountId)
        var findings: [String] = []
        for (index, statement) in policy.statements.enumerated() where statement.effect == .allow {
            guard let principal = statement.principal else { continue }
            let label = statement.sid.map { "Statement '\($0)' (index \(index))" } ?? "Statement (index \(index))"
            let pins = Pins(statement.conditions)

            // Accounts the statement reaches: named in the principal or pinned by a condition.
            var accounts: [String] = []
            if principal.isNegated || principal.isEveryone {
                guard pins.isPinned else {
                    findings.append(principal.isNegated
                        ? "\(label) allows access to every principal except those named in NotPrincipal."
                        : "\(label) allows access to any principal ('*').")
                    continue
                }
            } else {
                accounts = principal.aws.compactMap(\.account)
            }
            accounts += pins.accounts
            guard let ownerOrganization else { continue }
            var reported = Set<String>()
            for account in accounts where account != ownerAccountId && reported.insert(account).inserted {
                if organizationOf(account) != ownerOrganization {
                    findings.append("\(label) allows access to account \(account), which is outside the organization \(ownerOrganization).")
                }
            }
            for organization in pins.organizations where organization != ownerOrganization && reported.insert(organization).inserted {
                findings.append("\(label) allows access to the organization \(organization), which is not the owner's organization \(ownerOrganization).")
            }
        }
        return findings
    }

    /// Condition keys that identify the caller (or the resource or account a service acts for).
    static let accountKeys: Set<String> = ["aws:principalaccount", "aws:sourceaccount", "aws:sourceowner"]
    static let arnKeys: Set<String> = ["aws:principalarn", "aws:sourcearn"]
    static let organizationKeys: Set<String> = ["aws:principalorgid", "aws:sourceorgid"]
    static let otherPinningKeys: Set<String> = ["aws:userid", "aws:sourcevpc", "aws:sourcevpce", "aws:principalorgpaths", "aws:sourceorgpaths"]

    /// What a statement's conditions pin the caller to.
    struct Pins {
        var isPinned = false
        var accounts: [String] = []
        var organizations: [String] = []

        init(_ clauses: [ConditionClause]) {
            for clause in clauses where PublicAccess.pins(clause) {
                let key = clause.key.lowercased()
                isPinned = true
                if PublicAccess.accountKeys.contains(key) {
                    accounts += clause.values
                } else if PublicAccess.arnKeys.contains(key) {
                    // The account field of an ARN; empty for account-less ARNs such as S3's.
                    accounts += clause.values.compactMap { value in
                        let fields = value.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
                        return fields.count == 6 && !fields[4].isEmpty ? String(fields[4]) : nil
                    }
                } else if PublicAccess.organizationKeys.contains(key) {
                    organizations += clause.values
                }
            }
        }
    }

    static func pins(_ clause: ConditionClause) -> Bool {
        let op = clause.operator
        guard !op.ifExists, op.qualifier != .forAllValues, !op.base.isNegated else { return false }
        switch op.base {
        case .stringEquals, .stringEqualsIgnoreCase, .stringLike, .arnEquals, .arnLike: break
        default: return false
        }
        let key = clause.key.lowercased()
        guard accountKeys.contains(key) || arnKeys.contains(key) || organizationKeys.contains(key)
            || otherPinningKeys.contains(key) else { return false }
        return clause.values.allSatisfy { value in
            !value.contains("*") && !value.contains("?") && !value.contains("${") && !value.isEmpty
        }
    }
}
