import Policy

/// Resource policies: same-account grants, account delegation, cross-account evaluation,
/// role sessions and NotPrincipal.
extension EvaluationCase {
    static let resourcePolicies: [EvaluationCase] = {
        let alice = "arn:aws:iam::123456789012:user/alice"
        let root = "arn:aws:iam::123456789012:root"
        let otherRoot = "arn:aws:iam::111122223333:root"
        let carol = "arn:aws:iam::111122223333:user/carol"
        let cross = Fx.request(caller: Fx.foreigner)
        let crossIdentity = [p(Fx.allow(resource: Fx.secret))]
        return [
            // Same account.
            EvaluationCase("same account: resource policy naming the user allows alone",
                           resource: p(Fx.grant(principal: Fx.aws(alice))), .allow),
            EvaluationCase("same account: resource policy with Principal * allows alone", resource: p(Fx.grant()), .allow),
            EvaluationCase("same account: resource policy with AWS * allows alone", resource: p(Fx.grant(principal: Fx.aws("*"))), .allow),
            EvaluationCase("same account: account id principal delegates to identity policies",
                           resource: p(Fx.grant(principal: Fx.aws(Fx.account))), .noIdentity),
            EvaluationCase("same account: root principal delegates to identity policies",
                           resource: p(Fx.grant(principal: Fx.aws(root))), .noIdentity),
            EvaluationCase("same account: root principal plus an identity allow",
                           identity: [p(Fx.allow())], resource: p(Fx.grant(principal: Fx.aws(root))), .allow),
            EvaluationCase("same account: resource policy naming another user",
                           resource: p(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:user/bob"))), .noIdentity),
            EvaluationCase("same account: resource policy for another action",
                           resource: p(Fx.grant(action: "secretsmanager:DescribeSecret")), .noIdentity),
            EvaluationCase("same account: Resource * in a resource policy means this secret",
                           resource: p(Fx.grant(principal: Fx.aws(alice), resource: "*")), .allow),
            EvaluationCase("same account: Resource naming the secret",
                           resource: p(Fx.grant(principal: Fx.aws(alice), resource: Fx.secret)), .allow),
            EvaluationCase("same account: Resource naming another secret",
                           resource: p(Fx.grant(principal: Fx.aws(alice), resource: Fx.prodSecret)), .noIdentity),
            EvaluationCase("same account: Service principal is never a caller",
                           resource: p(Fx.grant(principal: #"{"Service": "lambda.amazonaws.com"}"#)), .noIdentity),
            EvaluationCase("same account: Federated and CanonicalUser principals are never callers",
                           resource: p(Fx.grant(principal: #"{"Federated": "cognito-identity.amazonaws.com", "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#)),
                           .noIdentity),
            EvaluationCase("explicit deny in the resource policy beats an identity Allow *",
                           identity: [p(Fx.allow("*"))], resource: p(Fx.grant("Deny")), .deniedByResource),
            EvaluationCase("resource policy deny through the account principal applies to its users",
                           identity: [p(Fx.allow("*"))], resource: p(Fx.grant("Deny", principal: Fx.aws(Fx.account))), .deniedByResource),
            EvaluationCase("resource policy deny for another user does not apply",
                           identity: [p(Fx.allow("*"))], resource: p(Fx.grant("Deny", principal: Fx.aws("arn:aws:iam::123456789012:user/bob"))),
                           .allow),
            EvaluationCase("resource policy deny of another action does not apply",
                           identity: [p(Fx.allow("*"))], resource: p(Fx.grant("Deny", action: "secretsmanager:DeleteSecret")), .allow),
            EvaluationCase("denies on both sides: the identity side is reported",
                           identity: [p(Fx.deny())], resource: p(Fx.grant("Deny")), .deniedByIdentity),
            EvaluationCase("resource policy allow does not undo an identity deny",
                           identity: [p(Fx.deny())], resource: p(Fx.grant(principal: Fx.aws(alice))), .deniedByIdentity),

            // Cross-account: the caller is in 111122223333, the secret in 123456789012.
            EvaluationCase("cross-account: identity allows, no resource policy", identity: crossIdentity, cross, .noResource),
            EvaluationCase("cross-account: identity allows, resource policy names the account root",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws(otherRoot))), cross, .allow),
            EvaluationCase("cross-account: identity allows, resource policy names the account id",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws(Fx.other))), cross, .allow),
            EvaluationCase("cross-account: identity allows, resource policy names the user",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws(carol))), cross, .allow),
            EvaluationCase("cross-account: identity allows, resource policy allows *",
                           identity: crossIdentity, resource: p(Fx.grant()), cross, .allow),
            EvaluationCase("cross-account: resource policy alone is not enough",
                           resource: p(Fx.grant(principal: Fx.aws(carol))), cross, .noIdentity),
            EvaluationCase("cross-account: nothing at all", cross, .noIdentity),
            EvaluationCase("cross-account: resource policy names a third account",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws("444455556666"))), cross, .noResource),
            EvaluationCase("cross-account: resource policy allows only another action",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws(otherRoot), action: "secretsmanager:DescribeSecret")),
                           cross, .noResource),
            EvaluationCase("cross-account: resource policy deny wins",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws(otherRoot)), Fx.grant("Deny", principal: Fx.aws(carol))),
                           cross, .deniedByResource),
            EvaluationCase("cross-account: identity deny wins over both allows",
                           identity: [p(Fx.allow(), Fx.deny())], resource: p(Fx.grant(principal: Fx.aws(otherRoot))), cross, .deniedByIdentity),
            EvaluationCase("cross-account: role session allowed through the role ARN",
                           identity: crossIdentity, resource: p(Fx.grant(principal: Fx.aws("arn:aws:iam::111122223333:role/auditor"))),
                           Fx.request(caller: Fx.session(role: "auditor", session: "s1", account: Fx.other)), .allow),
            EvaluationCase("cross-account: resource allow whose condition fails",
                           identity: crossIdentity,
                           resource: p(Fx.grant(principal: Fx.aws(otherRoot), condition: Fx.when("Bool", "aws:SecureTransport", "true"))),
                           Fx.request(caller: Fx.foreigner, ["aws:SecureTransport": .single("false")]), .noResource),
            EvaluationCase("cross-account: * pinned to the caller's organization",
                           identity: crossIdentity,
                           resource: p(Fx.grant(condition: Fx.when("StringEquals", "aws:PrincipalOrgID", "o-zz999yy888"))), cross, .allow),
            EvaluationCase("cross-account: * pinned to another organization",
                           identity: crossIdentity,
                           resource: p(Fx.grant(condition: Fx.when("StringEquals", "aws:PrincipalOrgID", Fx.organization))), cross, .noResource),
            EvaluationCase("cross-account: identity allows another action only",
                           identity: [p(Fx.allow("secretsmanager:DescribeSecret"))], resource: p(Fx.grant(principal: Fx.aws(otherRoot))),
                           cross, .noIdentity),
        ]
    }()

    static let principals: [EvaluationCase] = {
        let root = "arn:aws:iam::123456789012:root"
        let readerRole = "arn:aws:iam::123456789012:role/reader"
        let readerSession = "arn:aws:sts::123456789012:assumed-role/reader/app-1"
        let bob = "arn:aws:iam::123456789012:user/bob"
        let session = Fx.request(caller: Fx.reader)
        let allowAll = [p(Fx.allow("*"))]
        return [
            EvaluationCase("role ARN principal covers its sessions", resource: p(Fx.grant(principal: Fx.aws(readerRole))), session, .allow),
            EvaluationCase("role ARN with a path",
                           resource: p(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:role/service/reader"))),
                           Fx.request(caller: Fx.session(role: "reader", session: "x", path: "/service/")), .allow),
            EvaluationCase("session ARN principal covers that session", resource: p(Fx.grant(principal: Fx.aws(readerSession))), session, .allow),
            EvaluationCase("session ARN principal does not cover another session",
                           resource: p(Fx.grant(principal: Fx.aws(readerSession))),
                           Fx.request(caller: Fx.session(role: "reader", session: "app-2")), .noIdentity),
            EvaluationCase("role ARN principal does not cover a user", resource: p(Fx.grant(principal: Fx.aws(readerRole))), .noIdentity),
            EvaluationCase("user ARN principal does not cover a session",
                           resource: p(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:user/reader"))), session, .noIdentity),
            EvaluationCase("another role's ARN", resource: p(Fx.grant(principal: Fx.aws("arn:aws:iam::123456789012:role/writer"))),
                           session, .noIdentity),
            EvaluationCase("principal list with the user among others",
                           resource: p(Fx.grant(principal: Fx.aws(bob, "arn:aws:iam::123456789012:user/alice"))), .allow),

            // NotPrincipal, the IAM User Guide's examples: every link of the caller must be listed.
            EvaluationCase("NotPrincipal deny spares Bob when Bob and his account are listed",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: Fx.aws(bob, root), notPrincipal: true)),
                           Fx.request(caller: Fx.bob), .allow),
            EvaluationCase("NotPrincipal deny hits Alice in Bob's account",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: Fx.aws(bob, root), notPrincipal: true)), .deniedByResource),
            EvaluationCase("NotPrincipal deny naming Bob without his account still denies Bob",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: Fx.aws(bob), notPrincipal: true)),
                           Fx.request(caller: Fx.bob), .deniedByResource),
            EvaluationCase("NotPrincipal deny spares a session listed with its role and account",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: Fx.aws(readerSession, readerRole, root), notPrincipal: true)),
                           session, .allow),
            EvaluationCase("NotPrincipal deny without the session ARN denies the session",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: Fx.aws(readerRole, root), notPrincipal: true)),
                           session, .deniedByResource),
            EvaluationCase("NotPrincipal deny without the role ARN denies the session",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: Fx.aws(readerSession, root), notPrincipal: true)),
                           session, .deniedByResource),
            EvaluationCase("NotPrincipal * excludes everyone",
                           identity: allowAll, resource: p(Fx.grant("Deny", principal: "*", notPrincipal: true)), .allow),
            EvaluationCase("NotPrincipal deny hits a cross-account caller not listed",
                           identity: allowAll,
                           resource: p(Fx.grant(principal: Fx.aws(Fx.other)), Fx.grant("Deny", principal: Fx.aws(bob, root), notPrincipal: true)),
                           Fx.request(caller: Fx.foreigner), .deniedByResource),
            EvaluationCase("NotPrincipal allow grants to those not listed",
                           resource: p(Fx.grant(principal: Fx.aws(bob, root), notPrincipal: true)), .allow),
            EvaluationCase("NotPrincipal allow does not grant to the listed user",
                           resource: p(Fx.grant(principal: Fx.aws(bob, root), notPrincipal: true)), Fx.request(caller: Fx.bob), .noIdentity),
        ]
    }()
}
