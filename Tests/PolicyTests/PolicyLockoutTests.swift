import Policy
import Testing

/// ValidateResourcePolicy's lockout check: a resource policy that would explicitly deny its
/// caller the actions that change or remove it.
@Suite struct PolicyLockoutTests {
    static let put = "secretsmanager:PutResourcePolicy"
    static let delete = "secretsmanager:DeleteResourcePolicy"

    static func denied(_ statement: String, caller: CallerIdentity = Fx.alice,
                       _ values: [String: ContextValue] = [:]) throws -> [String] {
        let document = try PolicyDocument.parse(Fx.policy(statement), kind: .resource)
        return PolicyLockout.deniedActions(by: document, to: Fx.request(put, caller: caller, values))
    }

    static func deny(_ principal: String, _ action: String, condition: String? = nil) -> String {
        let when = condition.map { ", \"Condition\": \($0)" } ?? ""
        return "{\"Effect\": \"Deny\", \"Principal\": \(principal), \"Action\": \(Fx.json(action)), \"Resource\": \"*\"\(when)}"
    }

    @Test func aDenyOfTheCallersManagementActionsLocksItOut() throws {
        let alice = "{\"AWS\": \"arn:aws:iam::123456789012:user/alice\"}"
        #expect(try Self.denied(Self.deny(alice, Self.put)) == [Self.put])
        #expect(try Self.denied(Self.deny("\"*\"", "secretsmanager:*")) == [Self.put, Self.delete])
        #expect(try Self.denied(Self.deny(alice, "secretsmanager:*ResourcePolicy")) == [Self.put, Self.delete])
        // NotAction that leaves the management actions in.
        let notAction = "{\"Effect\": \"Deny\", \"Principal\": \"*\", \"NotAction\": \"secretsmanager:GetSecretValue\", \"Resource\": \"*\"}"
        #expect(try Self.denied(notAction) == [Self.put, Self.delete])
    }

    @Test func otherPrincipalsOtherActionsAndAllowsAreNoLockout() throws {
        let bob = "{\"AWS\": \"arn:aws:iam::123456789012:user/bob\"}"
        #expect(try Self.denied(Self.deny(bob, "secretsmanager:*")).isEmpty)
        #expect(try Self.denied(Self.deny("\"*\"", "secretsmanager:GetSecretValue")).isEmpty)
        #expect(try Self.denied("{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"secretsmanager:*\", \"Resource\": \"*\"}").isEmpty)
        // NotPrincipal naming the caller (and its account, as IAM's example for Deny does) spares it.
        let spared = "{\"Effect\": \"Deny\", \"NotPrincipal\": {\"AWS\": [\"arn:aws:iam::123456789012:user/alice\", \"arn:aws:iam::123456789012:root\"]}, \"Action\": \"*\", \"Resource\": \"*\"}"
        #expect(try Self.denied(spared).isEmpty)
    }

    /// Conditions are judged in the caller's present context.
    @Test func aConditionalDenyLocksOutOnlyWhenItHoldsNow() throws {
        let fromElsewhere = Self.deny("\"*\"", "secretsmanager:*", condition: "{\"NotIpAddress\": {\"aws:SourceIp\": \"10.0.0.0/8\"}}")
        #expect(try Self.denied(fromElsewhere, ["aws:SourceIp": .single("10.1.2.3")]).isEmpty)
        #expect(try Self.denied(fromElsewhere, ["aws:SourceIp": .single("192.0.2.1")]) == [Self.put, Self.delete])
    }
}
