import Policy
import Testing

/// One row of the evaluation table: policies as JSON text, a request, and what AWS decides.
struct EvaluationCase: Sendable, CustomTestStringConvertible {
    enum Expect: Sendable {
        case allow, deniedByIdentity, deniedByResource, noIdentity, noResource

        var authorization: Authorization {
            switch self {
            case .allow: Authorization(decision: .allow, reason: .allowed)
            case .deniedByIdentity: Authorization(decision: .explicitDeny, reason: .explicitDenyInIdentityPolicy)
            case .deniedByResource: Authorization(decision: .explicitDeny, reason: .explicitDenyInResourcePolicy)
            case .noIdentity: Authorization(decision: .implicitDeny, reason: .noIdentityPolicyAllows)
            case .noResource: Authorization(decision: .implicitDeny, reason: .noResourcePolicyAllows)
            }
        }
    }

    let name: String
    let identity: [String]
    let resource: String?
    let request: RequestContext
    let owner: String
    let expect: Expect

    init(_ name: String, identity: [String] = [], resource: String? = nil, owner: String = Fx.account, _ expect: Expect) {
        self.init(name, identity: identity, resource: resource, Fx.request(), owner: owner, expect)
    }

    init(_ name: String, identity: [String] = [], resource: String? = nil, _ request: RequestContext,
         owner: String = Fx.account, _ expect: Expect) {
        self.name = name
        self.identity = identity
        self.resource = resource
        self.request = request
        self.owner = owner
        self.expect = expect
    }

    var testDescription: String { name }

    static var all: [EvaluationCase] { basics + resourcePolicies + principals + conditions + typedConditions + sets + variables }
}

@Suite struct PolicyEvaluatorTests {
    @Test(arguments: EvaluationCase.all)
    func evaluates(_ row: EvaluationCase) throws {
        let identity = try row.identity.map { try Fx.parse($0, .identity) }
        let resource = try row.resource.map { try Fx.parse($0, .resource) }
        let result = PolicyEvaluator.evaluate(row.request, identityPolicies: identity, resourcePolicy: resource,
                                              resourceAccountId: row.owner)
        #expect(result == row.expect.authorization, "\(row.name)")
    }

    @Test func tableIsLargeAndNamesAreUnique() {
        let names = EvaluationCase.all.map(\.name)
        #expect(names.count >= 150)
        #expect(Set(names).count == names.count, "duplicate case names")
    }

    /// A typical GetSecretValue evaluation (a policy variable, a resource policy with a
    /// conditional deny) gives the same answer every time it is asked. Its speed is measured by
    /// the benchmarks, not asserted here.
    @Test func typicalEvaluationIsStable() throws {
        let identity = try Fx.parse(Fx.policy(
            Fx.allow("secretsmanager:Get*", resource: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-*",
                     condition: #"{"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}, "Bool": {"aws:SecureTransport": "true"}}"#),
            Fx.deny("secretsmanager:DeleteSecret")), .identity)
        let resource = try Fx.parse(Fx.policy(
            Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:role/reader"), action: "secretsmanager:GetSecretValue"),
            Fx.grant("Deny", principal: "*", action: "secretsmanager:*", condition: #"{"Bool": {"aws:SecureTransport": "false"}}"#)), .resource)
        let request = Fx.request(caller: Fx.user("alice", tags: ["team": "blue"]),
                                 ["aws:ResourceTag/team": .single("blue"), "aws:SecureTransport": .single("true")])
        var allowed = 0
        for _ in 0..<1_000 {
            if PolicyEvaluator.evaluate(request, identityPolicies: [identity], resourcePolicy: resource,
                                        resourceAccountId: Fx.account).isAllowed { allowed += 1 }
        }
        #expect(allowed == 1_000)
    }
}
