public import JSON

/// Parsing and validation. Every rejection is a `PolicyParseError` whose message names the
/// element at fault. Resource-policy messages are the ones `PutResourcePolicy` and
/// `ValidateResourcePolicy` have always answered ("This resource policy contains …"); identity
/// policies get the same sentences about "This policy".
///
/// The checks run in a fixed order (document members, version, id, statements; in a statement:
/// members, Sid, Effect, principal, action, resource, condition), so that one document always
/// gets the same message.
extension PolicyDocument {
    /// Parses a policy from its JSON text.
    public static func parse(_ text: String, kind: PolicyKind) throws(PolicyParseError) -> PolicyDocument {
        let json: JSONValue
        do {
            json = try JSONValue.parse(Array(text.utf8))
        } catch {
            throw Problems(kind: kind).syntax()
        }
        return try parse(json, kind: kind)
    }

    /// Parses a policy from a JSON document already decoded.
    public static func parse(_ json: JSONValue, kind: PolicyKind) throws(PolicyParseError) -> PolicyDocument {
        let problems = Problems(kind: kind)
        guard case .object(let members) = json else { throw problems.syntax() }
        try problems.checkMembers(members, allowed: topLevelElements)

        var version: String?
        if let value = json["Version"] {
            guard let text = value.stringValue, text == version2012 || text == version2008 else {
                throw problems.contains("an unsupported policy version")
            }
            version = text
        }
        var id: String?
        if let value = json["Id"] {
            guard let text = value.stringValue else { throw problems.syntax() }
            id = text
        }
        let statementValues: [JSONValue]
        switch json["Statement"] {
        case .array(let list)?: statementValues = list
        case .object(let fields)?: statementValues = [.object(fields)]
        default: throw problems.missing("Statement")
        }
        guard !statementValues.isEmpty else { throw problems.missing("Statement") }

        var parser = StatementParser(problems: problems, variables: version == version2012)
        var statements: [PolicyStatement] = []
        statements.reserveCapacity(statementValues.count)
        for value in statementValues {
            statements.append(try parser.statement(value))
        }
        return PolicyDocument(version: version, id: id, kind: kind, statements: statements)
    }

    static let topLevelElements: Set<String> = ["Version", "Id", "Statement"]
    static let statementElements: Set<String> = [
        "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
    ]
}

/// The rejection sentences, worded for the policy kind.
struct Problems {
    let kind: PolicyKind

    var subject: String { kind == .resource ? "This resource policy" : "This policy" }

    func syntax() -> PolicyParseError { PolicyParseError(message: "\(subject) contains a syntax error.") }
    func syntax(in element: String) -> PolicyParseError {
        PolicyParseError(message: "\(subject) contains a syntax error in \(element).")
    }
    func contains(_ what: String) -> PolicyParseError { PolicyParseError(message: "\(subject) contains \(what).") }
    func missing(_ element: String) -> PolicyParseError {
        PolicyParseError(message: "\(subject) is missing the required element: \(element).")
    }
    func both(_ element: String, _ negated: String) -> PolicyParseError {
        contains("both \(element) and \(negated) in one statement")
    }

    /// Rejects members outside `allowed` and repeated members (JSON would keep only one of
    /// them silently; for a policy that could drop a Deny).
    func checkMembers(_ members: [(key: String, value: JSONValue)], allowed: Set<String>) throws(PolicyParseError) {
        var seen = Set<String>()
        for (key, _) in members {
            guard allowed.contains(key) else { throw contains("an unsupported element: \(key)") }
            guard seen.insert(key).inserted else { throw contains("a duplicate element: \(key)") }
        }
    }
}

/// Parses statements one by one, remembering the Sids seen so far.
struct StatementParser {
    let problems: Problems
    /// Whether `${…}` variables are recognised (Version 2012-10-17).
    let variables: Bool
    var sids = Set<String>()

    init(problems: Problems, variables: Bool) {
        self.problems = problems
        self.variables = variables
    }

    var kind: PolicyKind { problems.kind }

    mutating func statement(_ value: JSONValue) throws(PolicyParseError) -> PolicyStatement {
        guard case .object(let members) = value else { throw problems.syntax() }
        if kind == .identity {
            for key in ["Principal", "NotPrincipal"] where value[key] != nil {
                throw problems.contains("an unsupported element: \(key) (identity-based policies cannot name a principal)")
            }
        }
        try problems.checkMembers(members, allowed: PolicyDocument.statementElements)

        var sid: String?
        if let raw = value["Sid"] {
            guard let text = raw.stringValue, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw problems.contains("an invalid Sid")
            }
            guard sids.insert(text).inserted else { throw problems.contains("a duplicate Sid: \(text)") }
            sid = text
        }
        guard let effectText = value["Effect"]?.stringValue, let effect = PolicyStatement.Effect(rawValue: effectText) else {
            throw problems.contains("an invalid Effect; it must be Allow or Deny")
        }
        let principal = kind == .resource ? try self.principal(value) : nil
        let actions = try self.actions(value)
        let resources = try self.resources(value)
        let conditions = try self.conditions(value["Condition"])
        return PolicyStatement(sid: sid, effect: effect, principal: principal, actions: actions,
                               resources: resources, conditions: conditions)
    }

    // MARK: Principal

    /// The element `key` or its negation `Not<key>` (never both), and which one it is; nil when
    /// neither is present.
    func element(_ key: String, of statement: JSONValue) throws(PolicyParseError) -> (value: JSONValue, isNegated: Bool)? {
        let positive = statement[key]
        let negative = statement["Not" + key]
        if positive != nil && negative != nil { throw problems.both(key, "Not" + key) }
        if let positive { return (positive, false) }
        return negative.map { ($0, true) }
    }

    func principal(_ statement: JSONValue) throws(PolicyParseError) -> PrincipalElement {
        guard let (element, isNegated) = try self.element("Principal", of: statement) else { throw problems.missing("Principal") }
        let invalid = problems.contains("an invalid principal")
        if element.stringValue == "*" {
            return PrincipalElement(isNegated: isNegated, isWildcard: true, aws: [], services: [], federated: [], canonicalUsers: [])
        }
        guard case .object(let kinds) = element, !kinds.isEmpty else { throw invalid }
        var seen = Set<String>()
        var aws: [AWSPrincipal] = []
        var services: [String] = []
        var federated: [String] = []
        var canonicalUsers: [String] = []
        for (kindName, names) in kinds {
            guard seen.insert(kindName).inserted, let list = StatementParser.stringList(names),
                  list.allSatisfy({ !$0.isEmpty }) else { throw invalid }
            switch kindName {
            case "AWS":
                for text in list {
                    guard let entry = AWSPrincipal(text) else { throw invalid }
                    aws.append(entry)
                }
            case "Service": services += list
            case "Federated": federated += list
            case "CanonicalUser": canonicalUsers += list
            default: throw invalid
            }
        }
        return PrincipalElement(isNegated: isNegated, isWildcard: false, aws: aws, services: services,
                                federated: federated, canonicalUsers: canonicalUsers)
    }

    // MARK: Action and Resource

    func actions(_ statement: JSONValue) throws(PolicyParseError) -> ActionElement {
        guard let (element, isNegated) = try self.element("Action", of: statement) else { throw problems.missing("Action") }
        let name = isNegated ? "NotAction" : "Action"
        guard let patterns = StatementParser.stringList(element) else { throw problems.syntax(in: name) }
        for pattern in patterns where !StatementParser.isValidAction(pattern) {
            throw problems.contains("an invalid action: \(pattern)")
        }
        return ActionElement(isNegated: isNegated, patterns: patterns,
                             compiled: patterns.map { Wildcard($0, foldsCase: true) })
    }

    /// `*`, or `service:action` where the service prefix is letters, digits and hyphens and the
    /// action has no colon; either side may hold wildcards.
    static func isValidAction(_ text: String) -> Bool {
        if text == "*" { return true }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return parts[0].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "*" || $0 == "?") }
            && parts[1].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_*?".contains($0)) }
    }

    func resources(_ statement: JSONValue) throws(PolicyParseError) -> ResourceElement? {
        for key in ["Resource", "NotResource"] {
            if let value = statement[key], StatementParser.stringList(value) == nil { throw problems.syntax(in: key) }
        }
        guard let (element, isNegated) = try self.element("Resource", of: statement) else {
            // A resource policy without Resource covers the secret it is attached to.
            if kind == .resource { return nil }
            throw problems.missing("Resource")
        }
        let patterns = StatementParser.stringList(element) ?? []
        for pattern in patterns where !(pattern == "*" || pattern.hasPrefix("arn:")) {
            throw problems.contains("an invalid resource: \(pattern); it must be an ARN or *")
        }
        return ResourceElement(isNegated: isNegated, patterns: patterns,
                               compiled: patterns.map { PolicyTemplate($0, wildcards: true, variables: variables) })
    }

    // MARK: Condition

    func conditions(_ element: JSONValue?) throws(PolicyParseError) -> [ConditionClause] {
        guard let element else { return [] }
        guard case .object(let operators) = element else { throw problems.syntax(in: "Condition") }
        var clauses: [ConditionClause] = []
        var seenOperators = Set<String>()
        for (operatorName, block) in operators {
            guard let op = ConditionOperator(operatorName) else {
                throw problems.contains("an unsupported condition operator: \(operatorName)")
            }
            guard seenOperators.insert(operatorName).inserted else {
                throw problems.contains("a duplicate element: \(operatorName)")
            }
            guard case .object(let keys) = block else { throw problems.syntax(in: "Condition") }
            var seenKeys = Set<String>()
            for (key, rawValues) in keys {
                guard ContextKey.isValidName(key) else { throw problems.contains("an invalid condition key: \(key)") }
                guard seenKeys.insert(key.lowercased()).inserted else { throw problems.contains("a duplicate element: \(key)") }
                guard let values = StatementParser.scalarList(rawValues) else { throw problems.syntax(in: "Condition") }
                switch ConditionClause.compile(values, for: op, variables: variables) {
                case .success(let compiled):
                    clauses.append(ConditionClause(operator: op, key: key, values: values, compiled: compiled))
                case .failure(let invalid):
                    throw problems.contains("an invalid value for the condition operator \(operatorName): \(invalid.text)")
                }
            }
        }
        return clauses
    }

    // MARK: Shapes

    /// A string or a non-empty list of strings.
    static func stringList(_ value: JSONValue) -> [String]? {
        switch value {
        case .string(let text): return [text]
        case .array(let items):
            guard !items.isEmpty else { return nil }
            var out: [String] = []
            for item in items {
                guard let text = item.stringValue else { return nil }
                out.append(text)
            }
            return out
        default: return nil
        }
    }

    /// A scalar (string, number, boolean) or a non-empty list of scalars, as text.
    static func scalarList(_ value: JSONValue) -> [String]? {
        func scalar(_ value: JSONValue) -> String? {
            switch value {
            case .string(let text): return text
            case .number(let text): return text
            case .bool(let flag): return flag ? "true" : "false"
            default: return nil
            }
        }
        if case .array(let items) = value {
            guard !items.isEmpty else { return nil }
            var out: [String] = []
            for item in items {
                guard let text = scalar(item) else { return nil }
                out.append(text)
            }
            return out
        }
        return scalar(value).map { [$0] }
    }
}
