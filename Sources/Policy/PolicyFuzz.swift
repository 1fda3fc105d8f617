import JSON

/// The fuzz entry point of IAM policy documents: parsing, validation, evaluation and the
/// broad-access check, for the libFuzzer driver in `FuzzTesting/` and for replaying its corpus
/// in the unit tests. The input is a document's text, as `PutResourcePolicy` or an IAM file
/// would carry it.
///
/// Checks, for both kinds of policy, trapping on a violation:
/// - parsing the text and parsing its JSON value give the same answer; a rejection is a whole
///   sentence about "This policy" or "This resource policy";
/// - an accepted document parses again from its own serialization to an equal document;
/// - evaluating it never crashes, for requests made of the document's own strings (so that
///   its wildcards, variables and condition keys are actually reached), and the outcome is
///   consistent (`isAllowed` exactly when the reason is `allowed`, and a message to give);
/// - an unconditional `Deny` of everything added to it denies every request explicitly, from
///   the side it is on; an unconditional `Allow` of everything added to an identity policy
///   allows every same-account request it did not deny before (a Deny still wins).
public enum PolicyFuzz {
    /// Inputs longer than this are cut (`PutResourcePolicy` allows 20 KiB; a few hundred bytes
    /// already reach every element).
    public static let maxInputBytes = 4096
    /// At most this many strings of the document are used to build requests.
    static let maxStrings = 12

    static let account = "123456789012"
    static let otherAccount = "111122223333"
    static let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

    /// Parses `data` as a policy of each kind and checks the properties above.
    public static func run(_ data: [UInt8]) {
        let text = String(decoding: data.prefix(maxInputBytes), as: UTF8.self)
        let json = try? JSONValue.parse(Array(text.utf8))
        for kind in [PolicyKind.identity, .resource] {
            let fromText = Result(catching: { () throws(PolicyParseError) in try PolicyDocument.parse(text, kind: kind) })
            guard let json else {
                guard case .failure(let error) = fromText else { preconditionFailure("a policy that is not JSON was accepted") }
                checkRejection(error, kind: kind)
                continue
            }
            let fromValue = Result(catching: { () throws(PolicyParseError) in try PolicyDocument.parse(json, kind: kind) })
            precondition(fromText == fromValue, "parsing the text and parsing its JSON value disagree")
            switch fromValue {
            case .failure(let error):
                checkRejection(error, kind: kind)
            case .success(let document):
                checkAccepted(document, json: json, kind: kind)
            }
        }
    }

    static func checkRejection(_ error: PolicyParseError, kind: PolicyKind) {
        let subject = kind == .resource ? "This resource policy " : "This policy "
        precondition(error.message.hasPrefix(subject) && error.message.hasSuffix("."), "a rejection that is not a sentence about the policy: \(error.message)")
    }

    static func checkAccepted(_ document: PolicyDocument, json: JSONValue, kind: PolicyKind) {
        precondition(document.kind == kind && !document.statements.isEmpty, "an accepted policy without statements")
        precondition((try? PolicyDocument.parse(json.serializedBytes().stringValue, kind: kind)) == document,
                     "an accepted policy does not parse again from its serialization")
        let requests = self.requests(for: document, strings: strings(in: json))
        for request in requests {
            for owner in [account, otherAccount] {
                let result = evaluate(request, document, kind: kind, owner: owner)
                precondition(result.isAllowed == (result.reason == .allowed), "decision and reason disagree")
                precondition(!result.message(for: request).isEmpty, "an outcome without a message")
            }
        }
        if kind == .resource {
            for finding in PublicAccess.findings(in: document, ownerAccountId: account, organizationOf: { $0 == account ? "o-aa111bb222" : nil }) {
                precondition(finding.hasPrefix("Statement") && finding.hasSuffix("."), "a finding that is not a sentence: \(finding)")
            }
        }
        checkAddedStatements(document, json: json, kind: kind, requests: requests)
    }

    static func evaluate(_ request: RequestContext, _ document: PolicyDocument, kind: PolicyKind, owner: String) -> Authorization {
        kind == .identity
            ? PolicyEvaluator.evaluate(request, identityPolicies: [document], resourcePolicy: nil, resourceAccountId: owner)
            : PolicyEvaluator.evaluate(request, identityPolicies: [], resourcePolicy: document, resourceAccountId: owner)
    }

    /// The metamorphic checks: a Deny of everything, and (identity side) an Allow of everything.
    static func checkAddedStatements(_ document: PolicyDocument, json: JSONValue, kind: PolicyKind, requests: [RequestContext]) {
        let denyAll: JSONValue = kind == .identity
            ? .object([(key: "Effect", value: .string("Deny")), (key: "Action", value: .string("*")), (key: "Resource", value: .string("*"))])
            : .object([(key: "Effect", value: .string("Deny")), (key: "Principal", value: .string("*")), (key: "Action", value: .string("*"))])
        guard let denying = try? PolicyDocument.parse(adding(denyAll, to: json), kind: kind) else {
            preconditionFailure("adding a valid Deny statement to an accepted policy made it invalid")
        }
        for request in requests {
            let result = evaluate(request, denying, kind: kind, owner: account)
            precondition(result.decision == .explicitDeny, "a policy that denies everything did not deny")
        }
        guard kind == .identity else { return }
        let allowAll: JSONValue = .object([(key: "Effect", value: .string("Allow")), (key: "Action", value: .string("*")), (key: "Resource", value: .string("*"))])
        guard let allowing = try? PolicyDocument.parse(adding(allowAll, to: json), kind: kind) else {
            preconditionFailure("adding a valid Allow statement to an accepted policy made it invalid")
        }
        for request in requests where request.caller.accountId == account {
            let before = evaluate(request, document, kind: kind, owner: account)
            let after = evaluate(request, allowing, kind: kind, owner: account)
            precondition(after == (before.decision == .explicitDeny ? before : .allowed), "allowing everything changed a decision it should not have")
        }
    }

    /// `policy` with `statement` appended to its `Statement` element (a single statement
    /// object becomes a list).
    static func adding(_ statement: JSONValue, to policy: JSONValue) -> JSONValue {
        guard case .object(var members) = policy, let index = members.lastIndex(where: { $0.key == "Statement" }) else { return policy }
        switch members[index].value {
        case .array(let list): members[index].value = .array(list + [statement])
        case let single: members[index].value = .array([single, statement])
        }
        return .object(members)
    }

    // MARK: Requests

    /// Up to ``maxStrings`` distinct strings of the document, names and values, in order.
    static func strings(in value: JSONValue) -> [String] {
        var found: [String] = []
        func visit(_ value: JSONValue) {
            guard found.count < maxStrings else { return }
            switch value {
            case .string(let text), .number(let text):
                if !found.contains(text) { found.append(text) }
            case .array(let items): items.forEach(visit)
            case .object(let members):
                for member in members {
                    if !found.contains(member.key) && found.count < maxStrings { found.append(member.key) }
                    visit(member.value)
                }
            case .null, .bool: break
            }
        }
        visit(value)
        return found
    }

    /// A plain request, and requests whose action, resource and condition values come from
    /// the document, for a user and a role session of the owner and a user of another account.
    static func requests(for document: PolicyDocument, strings: [String]) -> [RequestContext] {
        let keys = document.statements.flatMap { $0.conditions.map(\.key) }
        let pick: (Int) -> String = { strings.isEmpty ? "" : strings[$0 % strings.count] }
        let actions = strings.filter { $0.contains(":") && !$0.hasPrefix("arn:") }
        let resources = strings.filter { $0.hasPrefix("arn:") }
        var single: [String: ContextValue] = [:]
        var multiple: [String: ContextValue] = [:]
        for (index, key) in keys.enumerated() {
            single[key] = .single(pick(index))
            multiple[key] = .multiple([pick(index), pick(index + 1)])
        }
        let alice = caller(account: account, user: "alice", tags: ["team": pick(0)])
        let reader = CallerIdentity(
            arn: "arn:aws:sts::\(account):assumed-role/reader/app-1", principalArn: "arn:aws:iam::\(account):role/reader",
            accountId: account, kind: .assumedRole, userId: "AROAREADER:app-1", username: nil, organizationId: nil, tags: ["team": pick(1)])
        let foreigner = caller(account: otherAccount, user: "carol", tags: [:])
        return [
            RequestContext(action: "secretsmanager:GetSecretValue", resource: secret, caller: alice, values: [:]),
            RequestContext(action: actions.first ?? "secretsmanager:ListSecrets", resource: resources.first ?? "*", caller: reader, values: single),
            RequestContext(action: actions.last ?? pick(2), resource: resources.last ?? secret, caller: foreigner, values: multiple),
        ]
    }

    static func caller(account: String, user: String, tags: [String: String]) -> CallerIdentity {
        let arn = "arn:aws:iam::\(account):user/\(user)"
        return CallerIdentity(arn: arn, principalArn: arn, accountId: account, kind: .user, userId: "AIDA\(user.uppercased())",
                              username: user, organizationId: account == self.account ? "o-aa111bb222" : nil, tags: tags)
    }
}

extension [UInt8] {
    /// The bytes as a `String` (the writer's output is valid UTF-8).
    fileprivate var stringValue: String { String(decoding: self, as: UTF8.self) }
}
