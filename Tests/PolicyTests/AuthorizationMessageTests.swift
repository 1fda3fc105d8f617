import Policy
import Testing

/// AWS's AccessDeniedException wording for each outcome.
@Suite struct AuthorizationMessageTests {
    static let reader = Fx.user("reader", account: Fx.other)

    @Test func noIdentityPolicy() {
        let request = Fx.request(caller: Self.reader)
        let result = PolicyEvaluator.evaluate(request, identityPolicies: [], resourcePolicy: nil, resourceAccountId: Fx.account)
        #expect(result.message(for: request) ==
            "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf because no identity-based policy allows the secretsmanager:GetSecretValue action")
    }

    @Test func noResourcePolicy() throws {
        let request = Fx.request(caller: Self.reader)
        let identity = try PolicyDocument.parse(p(Fx.allow()), kind: .identity)
        let result = PolicyEvaluator.evaluate(request, identityPolicies: [identity], resourcePolicy: nil, resourceAccountId: Fx.account)
        #expect(result == Authorization(decision: .implicitDeny, reason: .noResourcePolicyAllows))
        #expect(result.message(for: request) ==
            "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf because no resource-based policy allows the secretsmanager:GetSecretValue action")
    }

    @Test func explicitDenies() {
        let request = Fx.request(caller: Fx.reader)
        #expect(Authorization(decision: .explicitDeny, reason: .explicitDenyInResourcePolicy).message(for: request) ==
            "User: arn:aws:sts::123456789012:assumed-role/reader/app-1 is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf with an explicit deny in a resource-based policy")
        #expect(Authorization(decision: .explicitDeny, reason: .explicitDenyInIdentityPolicy).message(for: request) ==
            "User: arn:aws:sts::123456789012:assumed-role/reader/app-1 is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf with an explicit deny in an identity-based policy")
    }

    @Test func actionWithoutResourceOmitsTheResource() {
        let request = Fx.request("secretsmanager:ListSecrets", resource: "*")
        #expect(Authorization(decision: .implicitDeny, reason: .noIdentityPolicyAllows).message(for: request) ==
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: secretsmanager:ListSecrets because no identity-based policy allows the secretsmanager:ListSecrets action")
    }

    @Test func allowedOutcome() {
        let allowed = Authorization(decision: .allow, reason: .allowed)
        #expect(allowed.isAllowed)
        #expect(allowed.message(for: Fx.request()) ==
            "User: arn:aws:iam::123456789012:user/alice is authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf")
        #expect(!Authorization(decision: .implicitDeny, reason: .noIdentityPolicyAllows).isAllowed)
    }
}
