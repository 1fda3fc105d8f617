/// Which side of IAM's evaluation a document sits on. The two kinds share a grammar but not its
/// rules: a resource policy names who it grants (`Principal`/`NotPrincipal`) and may leave out
/// `Resource` (it then means the secret it is attached to); an identity policy is attached to a
/// principal, so it must not name one and must say which resources it covers.
public enum PolicyKind: Sendable {
    case identity
    case resource
}

/// Why a document is not an acceptable policy. The message is what the API answers in a
/// `MalformedPolicyDocumentException` or a `ValidateResourcePolicy` error, so it is always a
/// complete, non-empty sentence naming the offending element.
public struct PolicyParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A human-readable sentence, never empty.
    public var message: String

    public var description: String { message }

    /// A rejection; `message` must not be empty.
    public init(message: String) {
        precondition(!message.isEmpty, "a policy rejection must say why")
        self.message = message
    }
}

/// A parsed, validated and compiled IAM policy document.
///
/// Everything evaluation needs is prepared here once: wildcards are split into match codes,
/// numbers, dates, CIDR blocks and base64 literals are decoded, condition keys are classified,
/// and `${…}` policy variables are located (only when `Version` is `2012-10-17`; older or absent
/// versions keep the text literally, as IAM does). Evaluating a request then allocates only
/// when a policy variable has to be substituted.
public struct PolicyDocument: Sendable, Equatable {
    /// `"2012-10-17"`, `"2008-10-17"`, or nil when the document has no `Version` (IAM then
    /// applies the 2008 rules: no policy variables).
    public private(set) var version: String?
    /// The optional `Id` element.
    public private(set) var id: String?
    /// Which rules the document was validated against.
    public private(set) var kind: PolicyKind
    /// The statements in document order (a single statement object becomes a list of one).
    public private(set) var statements: [PolicyStatement]

    init(version: String?, id: String?, kind: PolicyKind, statements: [PolicyStatement]) {
        precondition(!statements.isEmpty, "a policy has at least one statement")
        self.version = version
        self.id = id
        self.kind = kind
        self.statements = statements
    }

    /// Whether `${…}` policy variables are substituted: only under the 2012-10-17 grammar.
    public var supportsPolicyVariables: Bool { version == PolicyDocument.version2012 }

    static let version2012 = "2012-10-17"
    static let version2008 = "2008-10-17"
}

/// One statement of a policy: an effect on some actions and resources, for some principals
/// (resource policies only), under some conditions.
public struct PolicyStatement: Sendable, Equatable {
    /// Whether a matching statement grants or forbids.
    public enum Effect: String, Sendable, Equatable {
        case allow = "Allow"
        case deny = "Deny"
    }

    /// The statement id, if any (letters and digits only).
    public let sid: String?
    /// `Allow` or `Deny`.
    public let effect: Effect
    /// Who the statement is about: nil in identity policies (the principal is the one the
    /// policy is attached to).
    public let principal: PrincipalElement?
    /// `Action` or `NotAction`.
    public let actions: ActionElement
    /// `Resource` or `NotResource`; nil only in a resource policy that leaves it out, which
    /// means "the secret this policy is attached to".
    public let resources: ResourceElement?
    /// The condition clauses, one per (operator, key) pair, all of which must hold.
    public let conditions: [ConditionClause]
}

/// The `Action` or `NotAction` element: patterns matched case-insensitively with `*` and `?`.
public struct ActionElement: Sendable, Equatable {
    /// True for `NotAction`: the statement covers every action matching none of the patterns.
    public let isNegated: Bool
    /// The patterns as written.
    public let patterns: [String]
    let compiled: [Wildcard]

    /// Whether the statement covers `action` (for `NotAction`: whether it matches none).
    public func covers(_ action: String) -> Bool {
        var matched = false
        for pattern in compiled where pattern.matches(action) {
            matched = true
            break
        }
        return matched != isNegated
    }
}

/// The `Resource` or `NotResource` element: patterns matched case-sensitively over the whole
/// resource string with `*` and `?`, after policy-variable substitution.
public struct ResourceElement: Sendable, Equatable {
    /// True for `NotResource`.
    public let isNegated: Bool
    /// The patterns as written.
    public let patterns: [String]
    let compiled: [PolicyTemplate]

    /// Whether the statement covers `resource`. A pattern whose variable cannot be resolved
    /// matches nothing (so under `NotResource` it excludes nothing).
    func covers(_ resource: String, in request: RequestContext) -> Bool {
        var matched = false
        for pattern in compiled where pattern.matchesGlob(resource, in: request) {
            matched = true
            break
        }
        return matched != isNegated
    }
}
