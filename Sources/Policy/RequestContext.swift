/// Who is calling. The evaluator derives the principal condition keys from it:
/// `aws:PrincipalArn` (= `principalArn`), `aws:PrincipalAccount`, `aws:PrincipalOrgID` (if
/// `organizationId`), `aws:PrincipalTag/<k>`, `aws:PrincipalType` (`User` / `AssumedRole`),
/// `aws:userid`, `aws:username` (users only). These keys always come from here, never from
/// `RequestContext.values`, so that a request cannot claim another principal's attributes.
public struct CallerIdentity: Sendable, Equatable {
    /// The kind of principal, as `aws:PrincipalType` names it.
    public enum Kind: String, Sendable {
        case user = "User"
        case assumedRole = "AssumedRole"
    }

    /// The user ARN, or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` for a role session.
    public var arn: String
    /// The user ARN, or the role ARN `arn:aws:iam::ACCOUNT:role/PATH/ROLE` of a session.
    public var principalArn: String
    /// The 12-digit account the principal belongs to (`aws:PrincipalAccount`).
    public var accountId: String
    public var kind: Kind
    /// `AIDA…` for users, `AROA…:SESSION` for role sessions.
    public var userId: String
    /// The user name for users; nil for role sessions.
    public var username: String?
    /// The account's organization (`aws:PrincipalOrgID`), if any.
    public var organizationId: String?
    /// Principal tags (session tags already merged in by the caller). Keys are matched
    /// case-insensitively, as IAM matches `aws:PrincipalTag/<key>`.
    public var tags: [String: String]

    /// A caller; see the properties for what each field holds.
    public init(arn: String, principalArn: String, accountId: String, kind: Kind, userId: String,
                username: String?, organizationId: String?, tags: [String: String]) {
        self.arn = arn
        self.principalArn = principalArn
        self.accountId = accountId
        self.kind = kind
        self.userId = userId
        self.username = username
        self.organizationId = organizationId
        self.tags = tags
    }

    /// The value of principal tag `key`, matching the tag key case-insensitively. When two tags
    /// differ only in case, the one whose key sorts first wins: every node, every run.
    func tag(_ key: String) -> String? {
        if let exact = tags[key] { return exact }
        return tags.filter { equalsIgnoringCase($0.key, key) }.min { $0.key < $1.key }?.value
    }
}

/// A condition key's value in the request context. Numbers, dates (`2026-11-23T10:00:00Z` or
/// epoch seconds), booleans (`true`/`false`) and IP addresses are given as their text.
public enum ContextValue: Sendable, Equatable {
    /// A single-valued key.
    case single(String)
    /// Multivalued keys: `aws:TagKeys`, `secretsmanager:AddReplicaRegions`, … An empty list is
    /// treated as an absent key (what `Null` and the set operators expect).
    case multiple([String])
}

/// One request to authorize: the action, the resource, the caller and the request-side keys.
public struct RequestContext: Sendable {
    /// `secretsmanager:GetSecretValue`.
    public var action: String
    /// The secret ARN, or `*` for actions without a resource type (`ListSecrets`, …).
    public var resource: String
    /// Who is asking; the principal condition keys come from here.
    public var caller: CallerIdentity
    /// Request-side condition keys (`aws:SourceIp`, `aws:SecureTransport`, `aws:CurrentTime`,
    /// `aws:EpochTime`, `aws:RequestedRegion`, `aws:RequestTag/k`, `aws:TagKeys`,
    /// `aws:ResourceTag/k`, `secretsmanager:Name`, `secretsmanager:SecretId`,
    /// `secretsmanager:VersionStage`, …). Key names are matched case-insensitively: store them
    /// in any case.
    public var values: [String: ContextValue]

    /// A request; see the properties for what each field holds.
    public init(action: String, resource: String, caller: CallerIdentity, values: [String: ContextValue]) {
        self.action = action
        self.resource = resource
        self.caller = caller
        self.values = values
    }

    /// The request value of `name` (as written in a policy), looked up exactly first and then
    /// case-insensitively; among keys that differ only in case (tags `Team` and `team`), the one
    /// that sorts first wins, so the answer does not depend on dictionary order.
    func requestValue(named name: String) -> ContextValue? {
        if let exact = values[name] { return exact }
        return values.filter { equalsIgnoringCase($0.key, name) }.min { $0.key < $1.key }?.value
    }
}

/// A condition key as a policy names it, classified once at parse time so that the principal
/// keys are read from the caller and the rest from the request values.
enum ContextKey: Sendable, Equatable {
    case principalArn
    case principalAccount
    case principalOrgID
    case principalType
    case userId
    case username
    /// `aws:PrincipalTag/<key>`; the tag key as written.
    case principalTag(String)
    /// Any other key, as written (looked up case-insensitively).
    case request(String)

    init(_ name: String) {
        let lowered = name.lowercased()
        switch lowered {
        case "aws:principalarn": self = .principalArn
        case "aws:principalaccount": self = .principalAccount
        case "aws:principalorgid": self = .principalOrgID
        case "aws:principaltype": self = .principalType
        case "aws:userid": self = .userId
        case "aws:username": self = .username
        default:
            let prefix = "aws:principaltag/"
            if lowered.hasPrefix(prefix) {
                self = .principalTag(String(name.dropFirst(prefix.count)))
            } else {
                self = .request(name)
            }
        }
    }

    /// The key's value for `request`; nil when absent (an empty multivalued key is absent too).
    func value(in request: RequestContext) -> ContextValue? {
        let caller = request.caller
        switch self {
        case .principalArn: return .single(caller.principalArn)
        case .principalAccount: return .single(caller.accountId)
        case .principalOrgID: return caller.organizationId.map { .single($0) }
        case .principalType: return .single(caller.kind.rawValue)
        case .userId: return .single(caller.userId)
        case .username: return caller.kind == .user ? caller.username.map { .single($0) } : nil
        case .principalTag(let key): return caller.tag(key).map { .single($0) }
        case .request(let name):
            let value = request.requestValue(named: name)
            if case .multiple(let list)? = value, list.isEmpty { return nil }
            return value
        }
    }

    /// A condition key name: `prefix:name` with a non-empty prefix of letters, digits and
    /// hyphens, and no control characters, braces or `$` anywhere (tag keys may hold spaces).
    static func isValidName<S: StringProtocol>(_ name: S) -> Bool {
        guard let colon = name.firstIndex(of: ":"), colon != name.startIndex,
              name.index(after: colon) != name.endIndex else { return false }
        let prefix = name[..<colon]
        guard prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { return false }
        return !name.unicodeScalars.contains { $0.value < 0x20 || $0 == "{" || $0 == "}" || $0 == "$" }
    }
}
