import JSON
/// The syntax of an IAM resource policy, as PutResourcePolicy and ValidateResourcePolicy check
/// it before storing: a JSON object with `Version` and `Statement`, each statement with an
/// `Effect`, a principal, and actions. What a policy grants is evaluated by the authorization
/// work (the `Policy` module); this only refuses documents that cannot be a policy.
enum PolicySyntax {
    static let versions: Set<String> = ["2012-10-17", "2008-10-17"]
    static let topLevelKeys: Set<String> = ["Version", "Id", "Statement"]
    static let statementKeys: Set<String> = [
        "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
    ]

    /// Nil when `text` is a syntactically valid resource policy; otherwise what is wrong.
    static func problem(in text: String) -> String? {
        guard let document = try? JSONValue.parse(Array(text.utf8)), case .object(let members) = document else {
            return "This resource policy contains a syntax error."
        }
        var seen = Set<String>()
        for (key, _) in members {
            guard topLevelKeys.contains(key) else { return "This resource policy contains an unsupported element: \(key)." }
            guard seen.insert(key).inserted else { return "This resource policy contains a duplicate element: \(key)." }
        }
        if let version = document["Version"] {
            guard let text = version.stringValue, versions.contains(text) else {
                return "This resource policy contains an unsupported policy version."
            }
        }
        if let id = document["Id"], id.stringValue == nil { return "This resource policy contains a syntax error." }
        let statements: [JSONValue]
        switch document["Statement"] {
        case .array(let list)?: statements = list
        case .object?: statements = [document["Statement"]!]
        default: return "This resource policy is missing the required element: Statement."
        }
        guard !statements.isEmpty else { return "This resource policy is missing the required element: Statement." }
        var sids = Set<String>()
        for statement in statements {
            guard case .object(let fields) = statement else { return "This resource policy contains a syntax error." }
            for (key, _) in fields where !statementKeys.contains(key) {
                return "This resource policy contains an unsupported element: \(key)."
            }
            if let sid = statement["Sid"] {
                guard let text = sid.stringValue, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                    return "This resource policy contains an invalid Sid."
                }
                guard sids.insert(text).inserted else { return "This resource policy contains a duplicate Sid: \(text)." }
            }
            guard let effect = statement["Effect"]?.stringValue, effect == "Allow" || effect == "Deny" else {
                return "This resource policy contains an invalid Effect; it must be Allow or Deny."
            }
            if let problem = exactlyOne(statement, "Principal", "NotPrincipal", principal: true) { return problem }
            if let problem = exactlyOne(statement, "Action", "NotAction", principal: false) { return problem }
            for key in ["Resource", "NotResource"] {
                if let value = statement[key], !isStringOrStringList(value) {
                    return "This resource policy contains a syntax error in \(key)."
                }
            }
            if statement["Resource"] != nil && statement["NotResource"] != nil {
                return "This resource policy contains both Resource and NotResource in one statement."
            }
            if let condition = statement["Condition"] {
                guard case .object(let operators) = condition else { return "This resource policy contains a syntax error in Condition." }
                for (_, block) in operators {
                    guard case .object(let keys) = block else { return "This resource policy contains a syntax error in Condition." }
                    for (_, value) in keys where !isScalarOrScalarList(value) {
                        return "This resource policy contains a syntax error in Condition."
                    }
                }
            }
        }
        return nil
    }

    private static func exactlyOne(_ statement: JSONValue, _ key: String, _ negated: String, principal: Bool) -> String? {
        let value = statement[key]
        let other = statement[negated]
        if value != nil && other != nil { return "This resource policy contains both \(key) and \(negated) in one statement." }
        guard let present = value ?? other else { return "This resource policy is missing the required element: \(key)." }
        if principal {
            if present.stringValue == "*" { return nil }
            guard case .object(let kinds) = present, !kinds.isEmpty else {
                return "This resource policy contains an invalid principal."
            }
            for (kind, names) in kinds {
                guard ["AWS", "Service", "Federated", "CanonicalUser"].contains(kind), isStringOrStringList(names) else {
                    return "This resource policy contains an invalid principal."
                }
            }
            return nil
        }
        return isStringOrStringList(present) ? nil : "This resource policy contains a syntax error in \(key)."
    }

    private static func isStringOrStringList(_ value: JSONValue) -> Bool {
        switch value {
        case .string: return true
        case .array(let items): return !items.isEmpty && items.allSatisfy { $0.stringValue != nil }
        default: return false
        }
    }

    private static func isScalarOrScalarList(_ value: JSONValue) -> Bool {
        switch value {
        case .string, .number, .bool: return true
        case .array(let items): return items.allSatisfy { if case .string = $0 { true } else if case .number = $0 { true } else if case .bool = $0 { true } else { false } }
        default: return false
        }
    }
}
