/// The `Principal` or `NotPrincipal` element of a resource-policy statement
/// (IAM User Guide, "AWS JSON policy elements: Principal" and "…: NotPrincipal").
public struct PrincipalElement: Sendable, Equatable {
    /// True for `NotPrincipal`.
    public let isNegated: Bool
    /// `"Principal": "*"`: everyone, authenticated or not.
    public let isWildcard: Bool
    /// The `AWS` entries.
    public let aws: [AWSPrincipal]
    /// `Service`, `Federated` and `CanonicalUser` entries: kept for display; none of them can
    /// be a Strongroom caller, so they never match.
    public let services: [String]
    /// `Federated` entries (identity providers).
    public let federated: [String]
    /// `CanonicalUser` entries (S3 canonical ids).
    public let canonicalUsers: [String]

    /// Whether the element grants to everyone: `"*"` or `{"AWS": "*"}` (not `NotPrincipal`).
    public var isEveryone: Bool {
        !isNegated && (isWildcard || aws.contains(.anyone))
    }
}

/// One `AWS` principal entry.
public enum AWSPrincipal: Sendable, Equatable {
    /// `"*"`.
    case anyone
    /// An account, written as `"123456789012"` or `"arn:aws:iam::123456789012:root"`.
    case account(String)
    /// `arn:aws:iam::ACCOUNT:user/PATH/NAME`.
    case user(arn: String, account: String)
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`: matches every session of the role.
    case role(arn: String, account: String)
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`: matches that session only.
    case assumedRole(arn: String, account: String)
    /// `arn:aws:sts::ACCOUNT:federated-user/NAME`: never a Strongroom caller.
    case federatedUser(arn: String, account: String)

    /// The account the entry belongs to; nil for `*`.
    public var account: String? {
        switch self {
        case .anyone: return nil
        case .account(let account): return account
        case .user(_, let account), .role(_, let account), .assumedRole(_, let account), .federatedUser(_, let account):
            return account
        }
    }

    /// Parses an `AWS` principal value; nil when IAM would reject it. IAM accepts no partial
    /// wildcards in principals ("you cannot use a wildcard to match part of a principal name or
    /// ARN"), so `*` is only valid alone.
    init?(_ text: String) {
        if text == "*" {
            self = .anyone
            return
        }
        if AWSPrincipal.isAccountId(text) {
            self = .account(text)
            return
        }
        let fields = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "arn", !fields[1].isEmpty,
              fields[1].allSatisfy({ $0.isASCII && ($0.isLowercase || $0 == "-") }),
              fields[3].isEmpty, AWSPrincipal.isAccountId(fields[4]),
              !text.contains("*"), !text.contains("?") else { return nil }
        let account = String(fields[4])
        let resource = fields[5]
        switch fields[2] {
        case "iam":
            if resource == "root" {
                self = .account(account)
            } else if resource.hasPrefix("user/"), AWSPrincipal.isPathAndName(resource.dropFirst(5)) {
                self = .user(arn: text, account: account)
            } else if resource.hasPrefix("role/"), AWSPrincipal.isPathAndName(resource.dropFirst(5)) {
                self = .role(arn: text, account: account)
            } else {
                return nil
            }
        case "sts":
            if resource.hasPrefix("assumed-role/") {
                let parts = resource.dropFirst(13).split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
                self = .assumedRole(arn: text, account: account)
            } else if resource.hasPrefix("federated-user/"), resource.count > 15, !resource.dropFirst(15).contains("/") {
                self = .federatedUser(arn: text, account: account)
            } else {
                return nil
            }
        default:
            return nil
        }
    }

    static func isAccountId<S: StringProtocol>(_ text: S) -> Bool {
        text.utf8.count == 12 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// `name` or `path/…/name`, no empty segment.
    private static func isPathAndName(_ text: Substring) -> Bool {
        !text.isEmpty && !text.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty }
    }
}

/// How a statement's principal matched a caller.
enum PrincipalMatch: Int, Comparable {
    case none
    /// Only through an account entry (`123456789012` / `…:root`): the account delegates to its
    /// own identity policies, so in the resource's own account this does not grant by itself.
    case account
    /// Through `*`, the caller's user, role or session ARN, or `NotPrincipal`.
    case direct

    static func < (a: PrincipalMatch, b: PrincipalMatch) -> Bool { a.rawValue < b.rawValue }
}

extension PrincipalElement {
    /// How the element matches `caller`.
    ///
    /// `NotPrincipal` follows the IAM User Guide's account of how it is evaluated: IAM checks
    /// the caller's whole chain (the account, then for a session the role, then the user or
    /// session itself), and a caller escapes the statement only when *every* link is listed.
    /// That is why the guide tells you to list the account ARN (and the role ARN) beside the
    /// user or session you mean to exempt: `NotPrincipal` naming only a user still applies to
    /// that user. Accounts may be listed as an id or `…:root`; `*` lists every link.
    func match(_ caller: CallerIdentity) -> PrincipalMatch {
        if isNegated {
            return excludes(caller) ? .none : .direct
        }
        if isWildcard { return .direct }
        var best = PrincipalMatch.none
        for entry in aws {
            switch entry {
            case .anyone:
                return .direct
            case .account(let account):
                if account == caller.accountId { best = max(best, .account) }
            case .user(let arn, _):
                if caller.kind == .user && arn == caller.arn { return .direct }
            case .role(let arn, _):
                if caller.kind == .assumedRole && arn == caller.principalArn { return .direct }
            case .assumedRole(let arn, _):
                if caller.kind == .assumedRole && arn == caller.arn { return .direct }
            case .federatedUser:
                break
            }
        }
        return best
    }

    /// For `NotPrincipal`: whether every link of the caller's chain is listed.
    private func excludes(_ caller: CallerIdentity) -> Bool {
        if isWildcard || aws.contains(.anyone) { return true }
        let accountListed = aws.contains { $0 == .account(caller.accountId) }
        guard accountListed else { return false }
        switch caller.kind {
        case .user:
            return aws.contains { if case .user(let arn, _) = $0 { return arn == caller.arn } else { return false } }
        case .assumedRole:
            let roleListed = aws.contains { if case .role(let arn, _) = $0 { return arn == caller.principalArn } else { return false } }
            let sessionListed = aws.contains { if case .assumedRole(let arn, _) = $0 { return arn == caller.arn } else { return false } }
            return roleListed && sessionListed
        }
    }
}
