import Policy
import Testing

/// BlockPublicPolicy's broad-access findings.
@Suite struct PublicAccessTests {
    /// 123456789012 and 222233334444 are in the owner's organization; 111122223333 is in
    /// another; 444455556666 has none.
    static func organization(of account: String) -> String? {
        switch account {
        case Fx.account, "222233334444": return Fx.organization
        case Fx.other: return "o-zz999yy888"
        default: return nil
        }
    }

    static func findings(_ statements: String..., owner: String = Fx.account,
                         organizations: (String) -> String? = organization) throws -> [String] {
        let document = try PolicyDocument.parse(Fx.policy(statements, version: "2012-10-17"), kind: .resource)
        return PublicAccess.findings(in: document, ownerAccountId: owner, organizationOf: organizations)
    }

    static func withSid(_ sid: String, _ statement: String) -> String {
        "{\"Sid\": \"\(sid)\", " + statement.dropFirst()
    }

    @Test func principalStarIsBroad() throws {
        #expect(try Self.findings(Self.withSid("Open", Fx.grant())) == ["Statement 'Open' (index 0) allows access to any principal ('*')."])
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("*"))) == ["Statement (index 0) allows access to any principal ('*')."])
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:root", "*"))).count == 1)
    }

    @Test func notPrincipalAllowIsBroad() throws {
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:user/bob"), notPrincipal: true)) ==
            ["Statement (index 0) allows access to every principal except those named in NotPrincipal."])
    }

    @Test func denyStatementsAndServicesAreNotBroad() throws {
        #expect(try Self.findings(Fx.grant("Deny")).isEmpty)
        #expect(try Self.findings(Fx.grant("Deny", principal: Fx.aws("*"), notPrincipal: true)).isEmpty)
        #expect(try Self.findings(Fx.grant(principal: #"{"Service": "lambda.amazonaws.com"}"#)).isEmpty)
    }

    @Test func pinningConditionsNarrowStar() throws {
        #expect(try Self.findings(Fx.grant(condition: Fx.when("StringEquals", "aws:PrincipalAccount", Fx.account))).isEmpty)
        #expect(try Self.findings(Fx.grant(condition: Fx.when("StringEquals", "aws:PrincipalOrgID", Fx.organization))).isEmpty)
        #expect(try Self.findings(Fx.grant(condition: Fx.when("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::123456789012:role/app"))).isEmpty)
        #expect(try Self.findings(Fx.grant(condition: Fx.when("StringEqualsIgnoreCase", "aws:userid", "AIDAEXAMPLE"))).isEmpty)
        #expect(try Self.findings(Fx.grant(condition: Fx.when("StringEquals", "aws:SourceAccount", "222233334444"))).isEmpty)
        #expect(try Self.findings(Fx.grant(condition: Fx.when("ForAnyValue:StringEquals", "aws:PrincipalAccount", Fx.account))).isEmpty)
    }

    @Test func conditionsThatDoNotPin() throws {
        let notPinning = [
            Fx.when("StringLike", "aws:PrincipalAccount", "*"),
            Fx.when("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:role/app"),
            Fx.when("StringEqualsIfExists", "aws:PrincipalAccount", Fx.account),
            Fx.when("StringNotEquals", "aws:PrincipalAccount", "444455556666"),
            Fx.when("ForAllValues:StringEquals", "aws:PrincipalAccount", Fx.account),
            Fx.when("StringEquals", "aws:PrincipalArn", "${aws:PrincipalArn}"),
            Fx.when("StringEquals", "aws:RequestedRegion", "us-east-1"),
            Fx.when("Bool", "aws:SecureTransport", "true"),
        ]
        for condition in notPinning {
            #expect(try Self.findings(Fx.grant(condition: condition)) == ["Statement (index 0) allows access to any principal ('*')."],
                    "\(condition)")
        }
    }

    @Test func accountsOutsideTheOrganization() throws {
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("222233334444"))).isEmpty)
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:root"))).isEmpty)
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("arn:aws:iam::111122223333:role/app"))) ==
            ["Statement (index 0) allows access to account 111122223333, which is outside the organization o-aa111bb222."])
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("444455556666"))) ==
            ["Statement (index 0) allows access to account 444455556666, which is outside the organization o-aa111bb222."])
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("111122223333", "arn:aws:iam::111122223333:user/carol"))).count == 1)
    }

    @Test func pinnedToAForeignAccountOrOrganization() throws {
        #expect(try Self.findings(Fx.grant(condition: Fx.when("StringEquals", "aws:PrincipalAccount", "444455556666"))) ==
            ["Statement (index 0) allows access to account 444455556666, which is outside the organization o-aa111bb222."])
        #expect(try Self.findings(Fx.grant(condition: Fx.when("StringEquals", "aws:PrincipalOrgID", "o-zz999yy888"))) ==
            ["Statement (index 0) allows access to the organization o-zz999yy888, which is not the owner's organization o-aa111bb222."])
        #expect(try Self.findings(Fx.grant(condition: Fx.when("ArnLike", "aws:PrincipalArn", "arn:aws:iam::111122223333:role/app"))) ==
            ["Statement (index 0) allows access to account 111122223333, which is outside the organization o-aa111bb222."])
    }

    @Test func ownerWithoutOrganizationOnlyFlagsStar() throws {
        let none: (String) -> String? = { _ in nil }
        #expect(try Self.findings(Fx.grant(principal: Fx.aws("111122223333")), organizations: none).isEmpty)
        #expect(try Self.findings(Fx.grant(), organizations: none).count == 1)
    }

    @Test func everyBroadStatementIsReported() throws {
        let findings = try Self.findings(Self.withSid("A", Fx.grant()), Fx.grant(principal: Fx.aws(Fx.account)),
                                         Self.withSid("C", Fx.grant(principal: Fx.aws("444455556666"))))
        #expect(findings == [
            "Statement 'A' (index 0) allows access to any principal ('*').",
            "Statement 'C' (index 2) allows access to account 444455556666, which is outside the organization o-aa111bb222.",
        ])
    }
}
