import Policy
import Testing

/// A 2012-10-17 policy document around `statements` (the tables' shorthand).
func p(_ statements: String...) -> String { Fx.policy(statements, version: "2012-10-17") }

/// Callers, secrets and policy builders shared by the policy tests.
enum Fx {
    static let account = "123456789012"
    static let other = "111122223333"
    static let organization = "o-aa111bb222"
    static let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    static let prodSecret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-XyZ123"
    static let get = "secretsmanager:GetSecretValue"

    static func user(_ name: String, account: String = account, tags: [String: String] = [:],
                     organization: String? = organization) -> CallerIdentity {
        let arn = "arn:aws:iam::\(account):user/\(name)"
        return CallerIdentity(arn: arn, principalArn: arn, accountId: account, kind: .user,
                              userId: "AIDA\(name.uppercased())EXAMPLE", username: name,
                              organizationId: organization, tags: tags)
    }

    static func session(role: String, session: String, account: String = account, path: String = "/",
                        tags: [String: String] = [:], organization: String? = organization) -> CallerIdentity {
        CallerIdentity(arn: "arn:aws:sts::\(account):assumed-role/\(role)/\(session)",
                       principalArn: "arn:aws:iam::\(account):role\(path)\(role)", accountId: account,
                       kind: .assumedRole, userId: "AROA\(role.uppercased())EXAMPLE:\(session)", username: nil,
                       organizationId: organization, tags: tags)
    }

    static let alice = user("alice")
    static let bob = user("bob")
    static let foreigner = user("carol", account: other, organization: "o-zz999yy888")
    static let reader = session(role: "reader", session: "app-1")

    static func request(_ action: String = get, resource: String = secret, caller: CallerIdentity = alice,
                        _ values: [String: ContextValue] = [:]) -> RequestContext {
        RequestContext(action: action, resource: resource, caller: caller, values: values)
    }

    static func request(_ values: [String: ContextValue]) -> RequestContext {
        request(get, values)
    }

    // MARK: Policy text

    /// A JSON string literal for `text`, or `text` itself when it is already JSON (list/object).
    static func json(_ text: String) -> String {
        text.hasPrefix("[") || text.hasPrefix("{") ? text : "\"\(text)\""
    }

    /// A policy document around `statements`.
    static func policy(_ statements: String..., version: String? = "2012-10-17") -> String {
        policy(statements, version: version)
    }

    static func policy(_ statements: [String], version: String?) -> String {
        let head = version.map { "\"Version\": \"\($0)\", " } ?? ""
        return "{\(head)\"Statement\": [\(statements.joined(separator: ", "))]}"
    }

    /// An identity-policy statement.
    static func statement(_ effect: String, action: String = get, resource: String = "*", condition: String? = nil,
                          notAction: Bool = false, notResource: Bool = false) -> String {
        var members = ["\"Effect\": \"\(effect)\"",
                       "\"\(notAction ? "NotAction" : "Action")\": \(json(action))",
                       "\"\(notResource ? "NotResource" : "Resource")\": \(json(resource))"]
        if let condition { members.append("\"Condition\": \(condition)") }
        return "{\(members.joined(separator: ", "))}"
    }

    static func allow(_ action: String = get, resource: String = "*", condition: String? = nil) -> String {
        statement("Allow", action: action, resource: resource, condition: condition)
    }

    static func deny(_ action: String = get, resource: String = "*", condition: String? = nil) -> String {
        statement("Deny", action: action, resource: resource, condition: condition)
    }

    /// A resource-policy statement; `principal` is JSON (`"*"` is written as `*`).
    static func grant(_ effect: String = "Allow", principal: String = "*", action: String = get,
                      resource: String? = nil, condition: String? = nil, notPrincipal: Bool = false) -> String {
        var members = ["\"Effect\": \"\(effect)\"",
                       "\"\(notPrincipal ? "NotPrincipal" : "Principal")\": \(json(principal))",
                       "\"Action\": \(json(action))"]
        if let resource { members.append("\"Resource\": \(json(resource))") }
        if let condition { members.append("\"Condition\": \(condition)") }
        return "{\(members.joined(separator: ", "))}"
    }

    static func aws(_ entries: String...) -> String {
        entries.count == 1 ? "{\"AWS\": \"\(entries[0])\"}" : "{\"AWS\": [\(entries.map { "\"\($0)\"" }.joined(separator: ", "))]}"
    }

    /// `{"Op": {"key": value}}` with `value` a JSON scalar or list as written.
    static func when(_ op: String, _ key: String, _ value: String) -> String {
        "{\"\(op)\": {\"\(key)\": \(value.hasPrefix("[") || value == "true" || value == "false" ? value : "\"\(value)\"")}}"
    }

    static func parse(_ text: String, _ kind: PolicyKind) throws -> PolicyDocument {
        do {
            return try PolicyDocument.parse(text, kind: kind)
        } catch {
            Issue.record("rejected: \(error.message)\n\(text)")
            throw error
        }
    }
}
