import JSON
import Policy
import TestSupport
import Testing

/// Randomized robustness: arbitrary JSON, arbitrary text, and near-valid policies made by
/// mutating the evaluation table's documents never crash the parser; every rejection says why;
/// every accepted document evaluates against random requests without crashing. Seeded, so a
/// failure replays exactly.
@Suite struct PolicyFuzzTests {
    /// Strings that exercise the interesting paths when dropped anywhere in a document.
    static let tokens: [String] = [
        "", "*", "?", "**", "Allow", "Deny", "2012-10-17", "2008-10-17", "Version", "Statement", "Sid", "Effect",
        "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition", "AWS", "Service",
        "Federated", "CanonicalUser", "123456789012", "111122223333", "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:role/reader",
        "arn:aws:sts::123456789012:assumed-role/reader/app-1", "arn:aws:secretsmanager:*:*:secret:*",
        "secretsmanager:GetSecretValue", "secretsmanager:*", "s3:*", "StringEquals", "StringNotLike",
        "ForAllValues:StringEquals", "ForAnyValue:StringLikeIfExists", "NumericLessThan", "DateGreaterThan", "Bool",
        "BinaryEquals", "IpAddress", "NotIpAddress", "ArnLike", "ArnNotEqualsIfExists", "Null", "aws:TagKeys",
        "aws:ResourceTag/team", "aws:PrincipalTag/team", "aws:SourceIp", "aws:CurrentTime", "aws:username",
        "${aws:username}", "${aws:PrincipalTag/team, 'none'}", "${", "${}", "${*}", "${aws:x, 'a''b'}", "${$}x${?}",
        "10.0.0.0/8", "2001:db8::/32", "::", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8:9", "2026-11-23T10:00:00Z", "2026-02-29",
        "1700000000", "-1", "1e400", "true", "false", "QmluYXJ5", "=", "é", "🔑", "arn:aws:s3:::bucket", "a:b:c:d:e:f:g",
    ]

    @Test func randomJSONNeverCrashesTheParser() {
        var rng = SplitMix64(seed: 0x5EC2E7)
        for round in 0..<3_000 {
            let value = Self.randomValue(&rng, depth: 0, policyShaped: round % 2 == 0)
            Self.check(value, rng: &rng)
        }
    }

    @Test func mutatedPoliciesNeverCrashTheParser() throws {
        let seeds = EvaluationCase.all.flatMap { $0.identity + ($0.resource.map { [$0] } ?? []) }
            .compactMap { try? JSONValue.parse(Array($0.utf8)) }
        #expect(seeds.count > 200)
        var rng = SplitMix64(seed: 0xA11CE)
        var accepted = 0
        for round in 0..<6_000 {
            var value = seeds[round % seeds.count]
            for _ in 0...Int.random(in: 0..<3, using: &rng) { value = Self.mutate(value, &rng, depth: 0) }
            if Self.check(value, rng: &rng) { accepted += 1 }
        }
        // Mutation keeps a good share valid, so evaluation is exercised, not only rejection.
        #expect(accepted > 300, "only \(accepted) mutated documents were accepted")
    }

    @Test func randomTextNeverCrashesTheParser() {
        var rng = SplitMix64(seed: 0x7E77)
        let alphabet = Array(#"{}[]":,\ 0123456789-+.eEtrufalsn"#.utf8) + [0xC3, 0xA9, 0xFF, 0x00]
        for _ in 0..<3_000 {
            let length = Int.random(in: 0..<80, using: &rng)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
            for kind in [PolicyKind.identity, .resource] {
                do {
                    _ = try PolicyDocument.parse(String(decoding: bytes, as: UTF8.self), kind: kind)
                } catch {
                    #expect(!error.message.isEmpty)
                }
            }
        }
    }

    // MARK: Checking

    /// Parses `value` as both kinds; evaluates what is accepted. Returns whether any was accepted.
    @discardableResult
    static func check(_ value: JSONValue, rng: inout SplitMix64) -> Bool {
        var acceptedAny = false
        for kind in [PolicyKind.identity, .resource] {
            let document: PolicyDocument
            do {
                document = try PolicyDocument.parse(value, kind: kind)
            } catch {
                #expect(!error.message.isEmpty)
                #expect(error.message.hasPrefix(kind == .resource ? "This resource policy " : "This policy "))
                #expect(error.message.hasSuffix("."))
                continue
            }
            acceptedAny = true
            #expect((try? PolicyDocument.parse(value.serialized(), kind: kind)) == document)
            for _ in 0..<3 {
                let request = randomRequest(&rng)
                let owner = Bool.random(using: &rng) ? Fx.account : Fx.other
                let result = kind == .identity
                    ? PolicyEvaluator.evaluate(request, identityPolicies: [document], resourcePolicy: nil, resourceAccountId: owner)
                    : PolicyEvaluator.evaluate(request, identityPolicies: [], resourcePolicy: document, resourceAccountId: owner)
                #expect(!result.message(for: request).isEmpty)
                #expect(result.isAllowed == (result.reason == .allowed))
            }
            if kind == .resource {
                _ = PublicAccess.findings(in: document, ownerAccountId: Fx.account) { $0 == Fx.account ? Fx.organization : nil }
            }
        }
        return acceptedAny
    }

    static func randomRequest(_ rng: inout SplitMix64) -> RequestContext {
        let callers = [Fx.alice, Fx.reader, Fx.foreigner, Fx.user("t", tags: ["team": tokens.randomElement(using: &rng)!])]
        var values: [String: ContextValue] = [:]
        for _ in 0..<Int.random(in: 0..<6, using: &rng) {
            let key = ["aws:TagKeys", "aws:ResourceTag/team", "aws:SourceIp", "aws:CurrentTime", "aws:EpochTime",
                       "aws:SecureTransport", "secretsmanager:VersionStage", "test:blob", "aws:SourceArn"].randomElement(using: &rng)!
            values[key] = Bool.random(using: &rng)
                ? .single(tokens.randomElement(using: &rng)!)
                : .multiple((0..<Int.random(in: 0..<3, using: &rng)).map { _ in tokens.randomElement(using: &rng)! })
        }
        return RequestContext(action: ["secretsmanager:GetSecretValue", "secretsmanager:ListSecrets", "s3:GetObject"].randomElement(using: &rng)!,
                              resource: [Fx.secret, "*", Fx.prodSecret].randomElement(using: &rng)!,
                              caller: callers.randomElement(using: &rng)!, values: values)
    }

    // MARK: Generators

    static func randomString(_ rng: inout SplitMix64) -> String {
        tokens.randomElement(using: &rng)!
    }

    static func randomScalar(_ rng: inout SplitMix64) -> JSONValue {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(["0", "-1", "12", "3.5", "1e3", "123456789012"].randomElement(using: &rng)!)
        default: return .string(randomString(&rng))
        }
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int, policyShaped: Bool) -> JSONValue {
        guard depth < 5 else { return randomScalar(&rng) }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return randomScalar(&rng)
        case 1:
            return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1, policyShaped: policyShaped) })
        default:
            let count = Int.random(in: 0..<5, using: &rng)
            return .object((0..<count).map { _ in
                (key: policyShaped ? randomString(&rng) : String(Int.random(in: 0..<9, using: &rng)),
                 value: randomValue(&rng, depth: depth + 1, policyShaped: policyShaped))
            })
        }
    }

    /// One random edit somewhere in `value`: replace, delete, duplicate, rename, wrap or unwrap.
    static func mutate(_ value: JSONValue, _ rng: inout SplitMix64, depth: Int) -> JSONValue {
        let descend = depth < 6 && Int.random(in: 0..<3, using: &rng) != 0
        switch value {
        case .object(var members) where !members.isEmpty:
            let index = Int.random(in: 0..<members.count, using: &rng)
            if descend {
                members[index].value = mutate(members[index].value, &rng, depth: depth + 1)
                return .object(members)
            }
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: members.remove(at: index)
            case 1: members.append(members[index])
            case 2: members[index].key = randomString(&rng)
            case 3: members[index].value = randomValue(&rng, depth: depth + 3, policyShaped: true)
            default: members.insert((key: randomString(&rng), value: randomScalar(&rng)), at: index)
            }
            return .object(members)
        case .array(var items) where !items.isEmpty:
            let index = Int.random(in: 0..<items.count, using: &rng)
            if descend {
                items[index] = mutate(items[index], &rng, depth: depth + 1)
                return .array(items)
            }
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: items.remove(at: index)
            case 1: items.append(items[index])
            case 2: return items[index]
            default: items[index] = randomScalar(&rng)
            }
            return .array(items)
        default:
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: return .array([value])
            case 1: return .string(randomString(&rng))
            default: return randomScalar(&rng)
            }
        }
    }
}
