import JSON
import Policy
import Testing

/// Every rejection path of the parser, with its message, and what accepted documents hold.
@Suite struct PolicyDocumentParsingTests {
    struct Rejection: Sendable, CustomTestStringConvertible {
        let document: String
        let kind: PolicyKind
        let message: String
        var testDescription: String { message }

        init(_ document: String, _ message: String) {
            self.init(document, .resource, message)
        }

        init(_ document: String, _ kind: PolicyKind, _ message: String) {
            self.document = document
            self.kind = kind
            self.message = message
        }
    }

    /// Wraps one resource-policy statement's members (a valid statement unless overridden).
    static func statement(_ members: String) -> String {
        #"{"Version": "2012-10-17", "Statement": [{\#(members)}]}"#
    }

    static let base = #""Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue""#

    static func condition(_ json: String) -> String { statement(base + #", "Condition": \#(json)"#) }

    static let rejections: [Rejection] = [
        // The document.
        Rejection("{not json", "This resource policy contains a syntax error."),
        Rejection("", "This resource policy contains a syntax error."),
        Rejection(#"["Version"]"#, "This resource policy contains a syntax error."),
        Rejection(#"{"Version": "2012-10-17", "Statement": [], "Foo": 1}"#, "This resource policy contains an unsupported element: Foo."),
        Rejection(#"{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}"#,
                  "This resource policy contains a duplicate element: Version."),
        Rejection(#"{"Version": "2020-01-01", "Statement": []}"#, "This resource policy contains an unsupported policy version."),
        Rejection(#"{"Version": 2012, "Statement": []}"#, "This resource policy contains an unsupported policy version."),
        Rejection(#"{"Id": 7, "Statement": []}"#, "This resource policy contains a syntax error."),
        Rejection(#"{"Version": "2012-10-17"}"#, "This resource policy is missing the required element: Statement."),
        Rejection(#"{"Statement": []}"#, "This resource policy is missing the required element: Statement."),
        Rejection(#"{"Statement": "Allow"}"#, "This resource policy is missing the required element: Statement."),
        Rejection(#"{"Statement": null}"#, "This resource policy is missing the required element: Statement."),
        Rejection(#"{"Statement": [1]}"#, "This resource policy contains a syntax error."),
        // Statement members.
        Rejection(statement(base + #", "Actions": "x""#), "This resource policy contains an unsupported element: Actions."),
        Rejection(statement(base + #", "Effect": "Deny""#), "This resource policy contains a duplicate element: Effect."),
        Rejection(statement(base + #", "Sid": "a-b""#), "This resource policy contains an invalid Sid."),
        Rejection(statement(base + #", "Sid": 5"#), "This resource policy contains an invalid Sid."),
        Rejection(#"{"Statement": [{"Sid": "A", \#(base)}, {"Sid": "A", \#(base)}]}"#, "This resource policy contains a duplicate Sid: A."),
        Rejection(statement(#""Principal": "*", "Action": "secretsmanager:GetSecretValue""#),
                  "This resource policy contains an invalid Effect; it must be Allow or Deny."),
        Rejection(statement(#""Effect": "allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue""#),
                  "This resource policy contains an invalid Effect; it must be Allow or Deny."),
        // Principal.
        Rejection(statement(base + #", "NotPrincipal": "*""#), "This resource policy contains both Principal and NotPrincipal in one statement."),
        Rejection(statement(#""Effect": "Allow", "Action": "secretsmanager:GetSecretValue""#),
                  "This resource policy is missing the required element: Principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": "123456789012", "Action": "secretsmanager:GetSecretValue""#),
                  "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {}, "Action": "a:b""#), "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"IAM": "*"}, "Action": "a:b""#), "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": []}, "Action": "a:b""#), "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/*"}, "Action": "a:b""#),
                  "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": "12345"}, "Action": "a:b""#), "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": ["*", 5]}, "Action": "a:b""#), "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:group/admins"}, "Action": "a:b""#),
                  "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": "arn:aws:sts::123456789012:assumed-role/r"}, "Action": "a:b""#),
                  "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"Service": ""}, "Action": "a:b""#), "This resource policy contains an invalid principal."),
        Rejection(statement(#""Effect": "Allow", "Principal": {"AWS": "*", "AWS": "1"}, "Action": "a:b""#),
                  "This resource policy contains an invalid principal."),
        // Action.
        Rejection(statement(base + #", "NotAction": "a:b""#), "This resource policy contains both Action and NotAction in one statement."),
        Rejection(statement(#""Effect": "Allow", "Principal": "*""#), "This resource policy is missing the required element: Action."),
        Rejection(statement(#""Effect": "Allow", "Principal": "*", "Action": []"#), "This resource policy contains a syntax error in Action."),
        Rejection(statement(#""Effect": "Allow", "Principal": "*", "NotAction": 5"#), "This resource policy contains a syntax error in NotAction."),
        Rejection(statement(#""Effect": "Allow", "Principal": "*", "Action": "getsecretvalue""#),
                  "This resource policy contains an invalid action: getsecretvalue."),
        Rejection(statement(#""Effect": "Allow", "Principal": "*", "Action": "secrets manager:Get""#),
                  "This resource policy contains an invalid action: secrets manager:Get."),
        // Resource.
        Rejection(statement(base + #", "Resource": 5"#), "This resource policy contains a syntax error in Resource."),
        Rejection(statement(base + #", "NotResource": []"#), "This resource policy contains a syntax error in NotResource."),
        Rejection(statement(base + #", "Resource": "*", "NotResource": "*""#),
                  "This resource policy contains both Resource and NotResource in one statement."),
        Rejection(statement(base + #", "Resource": "db-secret""#), "This resource policy contains an invalid resource: db-secret; it must be an ARN or *."),
        // Condition.
        Rejection(condition(#""x""#), "This resource policy contains a syntax error in Condition."),
        Rejection(condition(#"{"StringEquals": "x"}"#), "This resource policy contains a syntax error in Condition."),
        Rejection(condition(#"{"StringEquals": {"aws:x": null}}"#), "This resource policy contains a syntax error in Condition."),
        Rejection(condition(#"{"StringEquals": {"aws:x": []}}"#), "This resource policy contains a syntax error in Condition."),
        Rejection(condition(#"{"StringEquals": {"aws:x": [{"a": 1}]}}"#), "This resource policy contains a syntax error in Condition."),
        Rejection(condition(#"{"StringEqualz": {"aws:x": "1"}}"#), "This resource policy contains an unsupported condition operator: StringEqualz."),
        Rejection(condition(#"{"NullIfExists": {"aws:x": "true"}}"#), "This resource policy contains an unsupported condition operator: NullIfExists."),
        Rejection(condition(#"{"ForAnyValue:Null": {"aws:x": "true"}}"#),
                  "This resource policy contains an unsupported condition operator: ForAnyValue:Null."),
        Rejection(condition(#"{"ForSomeValues:StringEquals": {"aws:x": "1"}}"#),
                  "This resource policy contains an unsupported condition operator: ForSomeValues:StringEquals."),
        Rejection(condition(#"{"StringEquals": {"aws:x": "1"}, "StringEquals": {"aws:y": "1"}}"#),
                  "This resource policy contains a duplicate element: StringEquals."),
        Rejection(condition(#"{"StringEquals": {"aws:x": "1", "AWS:X": "2"}}"#), "This resource policy contains a duplicate element: AWS:X."),
        Rejection(condition(#"{"StringEquals": {"nocolon": "1"}}"#), "This resource policy contains an invalid condition key: nocolon."),
        Rejection(condition(#"{"NumericEquals": {"aws:x": "abc"}}"#),
                  "This resource policy contains an invalid value for the condition operator NumericEquals: abc."),
        Rejection(condition(#"{"NumericLessThan": {"aws:x": "NaN"}}"#),
                  "This resource policy contains an invalid value for the condition operator NumericLessThan: NaN."),
        Rejection(condition(#"{"DateLessThan": {"aws:CurrentTime": "yesterday"}}"#),
                  "This resource policy contains an invalid value for the condition operator DateLessThan: yesterday."),
        Rejection(condition(#"{"DateLessThan": {"aws:CurrentTime": "2026-02-30"}}"#),
                  "This resource policy contains an invalid value for the condition operator DateLessThan: 2026-02-30."),
        Rejection(condition(#"{"Bool": {"aws:SecureTransport": "yes"}}"#),
                  "This resource policy contains an invalid value for the condition operator Bool: yes."),
        Rejection(condition(#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}"#),
                  "This resource policy contains an invalid value for the condition operator IpAddress: 10.0.0.0/33."),
        Rejection(condition(#"{"NotIpAddress": {"aws:SourceIp": "2001:db8::1::2"}}"#),
                  "This resource policy contains an invalid value for the condition operator NotIpAddress: 2001:db8::1::2."),
        Rejection(condition(#"{"BinaryEquals": {"test:blob": "!!"}}"#),
                  "This resource policy contains an invalid value for the condition operator BinaryEquals: !!."),
        Rejection(condition(#"{"Null": {"aws:x": "maybe"}}"#), "This resource policy contains an invalid value for the condition operator Null: maybe."),
        // Identity policies: their own rules, "This policy …".
        Rejection("[]", .identity, "This policy contains a syntax error."),
        Rejection(#"{"Statement": [], "Principal": "*"}"#, .identity, "This policy contains an unsupported element: Principal."),
        Rejection(#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "a:b", "Resource": "*"}}"#, .identity,
                  "This policy contains an unsupported element: Principal (identity-based policies cannot name a principal)."),
        Rejection(#"{"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "*"}, "Action": "a:b", "Resource": "*"}}"#, .identity,
                  "This policy contains an unsupported element: NotPrincipal (identity-based policies cannot name a principal)."),
        Rejection(#"{"Statement": {"Effect": "Allow", "Action": "a:b"}}"#, .identity, "This policy is missing the required element: Resource."),
        Rejection(#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#, .identity, "This policy is missing the required element: Action."),
        Rejection(#"{"Version": "1.0", "Statement": {}}"#, .identity, "This policy contains an unsupported policy version."),
        Rejection(#"{"Statement": {"Effect": "Permit", "Action": "a:b", "Resource": "*"}}"#, .identity,
                  "This policy contains an invalid Effect; it must be Allow or Deny."),
        Rejection(#"{"Statement": {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"Foo": {"a:b": "1"}}}}"#, .identity,
                  "This policy contains an unsupported condition operator: Foo."),
    ]

    @Test(arguments: rejections)
    func rejects(_ rejection: Rejection) {
        #expect(throws: PolicyParseError(message: rejection.message)) {
            try PolicyDocument.parse(rejection.document, kind: rejection.kind)
        }
    }

    @Test func acceptedDocumentExposesItsParts() throws {
        let document = try PolicyDocument.parse(#"""
            {"Version": "2012-10-17", "Id": "p1", "Statement": [
              {"Sid": "Read", "Effect": "Allow",
               "Principal": {"AWS": ["123456789012", "arn:aws:iam::111122223333:role/app/reader",
                                     "arn:aws:sts::111122223333:assumed-role/reader/s1"], "Service": "lambda.amazonaws.com"},
               "Action": ["secretsmanager:GetSecretValue", "secretsmanager:Describe*"],
               "Condition": {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", 3, true]}}},
              {"Effect": "Deny", "NotPrincipal": "*", "NotAction": "secretsmanager:Get*", "NotResource": "*"}
            ]}
            """#, kind: .resource)
        #expect(document.version == "2012-10-17")
        #expect(document.id == "p1")
        #expect(document.kind == .resource)
        #expect(document.supportsPolicyVariables)
        #expect(document.statements.count == 2)
        let read = document.statements[0]
        #expect(read.sid == "Read")
        #expect(read.effect == .allow)
        #expect(read.principal?.aws == [
            .account("123456789012"),
            .role(arn: "arn:aws:iam::111122223333:role/app/reader", account: "111122223333"),
            .assumedRole(arn: "arn:aws:sts::111122223333:assumed-role/reader/s1", account: "111122223333"),
        ])
        #expect(read.principal?.services == ["lambda.amazonaws.com"])
        #expect(read.actions.patterns == ["secretsmanager:GetSecretValue", "secretsmanager:Describe*"])
        #expect(read.actions.covers("SECRETSMANAGER:describesecret"))
        #expect(read.resources == nil)
        #expect(read.conditions.count == 1)
        #expect(read.conditions[0].operator.description == "ForAnyValue:StringLikeIfExists")
        #expect(read.conditions[0].operator.qualifier == .forAnyValue)
        #expect(read.conditions[0].operator.ifExists)
        #expect(read.conditions[0].values == ["a*", "3", "true"])
        let deny = document.statements[1]
        #expect(deny.principal?.isNegated == true)
        #expect(deny.actions.isNegated)
        #expect(deny.resources?.isNegated == true)
    }

    @Test func rootArnIsAnAccountPrincipal() throws {
        let document = try PolicyDocument.parse(Self.statement(#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "a:b""#),
                                                kind: .resource)
        #expect(document.statements[0].principal?.aws == [.account("123456789012")])
    }

    @Test func parsesFromJSONValueAsFromText() throws {
        let text = #"{"Statement": {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}}"#
        let json = try JSONValue.parse(Array(text.utf8))
        #expect(try PolicyDocument.parse(json, kind: .identity) == PolicyDocument.parse(text, kind: .identity))
        #expect(try PolicyDocument.parse(text, kind: .identity).version == nil)
        #expect(try !PolicyDocument.parse(text, kind: .identity).supportsPolicyVariables)
    }

    @Test func olderVersionAndEmptyConditionAreAccepted() throws {
        let document = try PolicyDocument.parse(
            #"{"Version": "2008-10-17", "Statement": [{"Sid": "", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": ["*", "arn:aws:secretsmanager:*"], "Condition": {}}]}"#,
            kind: .resource)
        #expect(document.version == "2008-10-17")
        #expect(document.statements[0].conditions.isEmpty)
        #expect(document.statements[0].resources?.patterns == ["*", "arn:aws:secretsmanager:*"])
    }

    /// The documents other tests and the dev environment already use stay valid: the resource
    /// policies of `SecretsOperationsTests`, `tests/e2e/test_secrets.py` and the CLI examples'
    /// `mypolicy.json`, and the admin identity policy of the dev IAM configuration.
    @Test func existingFixturesStayValid() throws {
        let resourcePolicies = [
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#,
            #"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/MyRole"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}"#,
        ]
        for policy in resourcePolicies {
            #expect(throws: Never.self) { try PolicyDocument.parse(policy, kind: .resource) }
        }
        #expect(throws: Never.self) {
            try PolicyDocument.parse(#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}"#,
                                     kind: .identity)
        }
        #expect(throws: PolicyParseError(message: "This resource policy is missing the required element: Statement.")) {
            try PolicyDocument.parse(#"{"Statement": 5}"#, kind: .resource)
        }
        #expect(throws: PolicyParseError(message: "This resource policy contains a syntax error.")) {
            try PolicyDocument.parse("{not json", kind: .resource)
        }
    }
}
