@testable import Policy
import TestSupport
import Testing

/// The small decoders and matchers under the operators: globs, dates, numbers, base64, CIDR
/// blocks, operator names and policy-variable syntax.
@Suite struct ConditionLiteralsTests {
    @Test(arguments: [
        ("*", "", true), ("*", "anything", true), ("a*", "a", true), ("a*c", "abbbc", true), ("a*c", "abbbd", false),
        ("a?c", "abc", true), ("a?c", "ac", false), ("a?c", "aéc", true), ("?", "🔑", true), ("??", "🔑", false),
        ("*a*b*", "xaxxbx", true), ("*a*b*", "xbxa", false), ("", "", true), ("", "x", false), ("a**b", "ab", true),
        ("arn:*:secret:db-??????", "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf", true),
        ("*aaa*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false),
    ])
    func globs(_ pattern: String, _ subject: String, _ expected: Bool) {
        #expect(Wildcard(pattern).matches(subject) == expected)
    }

    @Test func globsFoldCaseOnlyWhenAsked() {
        #expect(Wildcard("SecretsManager:Get*", foldsCase: true).matches("secretsmanager:GETSECRETVALUE"))
        #expect(!Wildcard("SecretsManager:Get*").matches("secretsmanager:GetSecretValue"))
    }

    /// Agrees with a straightforward recursive matcher on random patterns and subjects.
    @Test func globMatchesReferenceImplementation() {
        func reference(_ p: [Character], _ s: [Character]) -> Bool {
            guard let first = p.first else { return s.isEmpty }
            switch first {
            case "*": return (0...s.count).contains { reference(Array(p.dropFirst()), Array(s.dropFirst($0))) }
            case "?": return !s.isEmpty && reference(Array(p.dropFirst()), Array(s.dropFirst()))
            default: return s.first == first && reference(Array(p.dropFirst()), Array(s.dropFirst()))
            }
        }
        var rng = SplitMix64(seed: 42)
        let alphabet: [Character] = ["a", "b", "é", "*", "?"]
        for _ in 0..<3_000 {
            let pattern = (0..<Int.random(in: 0..<7, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let subject = (0..<Int.random(in: 0..<8, using: &rng)).map { _ in alphabet.dropLast(2).randomElement(using: &rng)! }
            #expect(Wildcard(String(pattern)).matches(String(subject)) == reference(pattern, subject),
                    "\(String(pattern)) vs \(String(subject))")
        }
    }

    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0), ("1970-01-01", 0), ("2026-11-23T10:00:00Z", 1_795_428_000_000),
        ("2026-11-23T10:00Z", 1_795_428_000_000), ("2026-11-23T10:00:00", 1_795_428_000_000),
        ("2026-11-23T12:00:00+02:00", 1_795_428_000_000), ("2026-11-23T05:30:00-0430", 1_795_428_000_000),
        ("2026-11-23T10:00:00.250Z", 1_795_428_000_250), ("1795428000", 1_795_428_000_000), ("1795428000.5", 1_795_428_000_500),
        ("2024-02-29", 1_709_164_800_000), ("2000-03-01T00:00:00Z", 951_868_800_000),
    ] as [(String, Int64)])
    func dates(_ text: String, _ millis: Int64) {
        #expect(ConditionLiterals.date(text) == millis)
    }

    @Test(arguments: ["", "2026-13-01", "2026-02-29", "2026-11-23T25:00:00Z", "2026-11-23 10:00:00Z", "2026-11-23T10:00:00Q",
                      "2026-11-23T10", "1.2.3", "1795428000.", "tomorrow", "2026-11-23T10:00:00+0"])
    func invalidDates(_ text: String) {
        #expect(ConditionLiterals.date(text) == nil)
    }

    @Test func numbers() {
        #expect(ConditionLiterals.number("10") == 10)
        #expect(ConditionLiterals.number("-4.5e1") == -45)
        #expect(ConditionLiterals.number("+3") == 3)
        for bad in ["", "inf", "nan", "0x10", "1e400", "ten", " 1", "-"] {
            #expect(ConditionLiterals.number(bad) == nil, "\(bad)")
        }
    }

    @Test func base64() {
        #expect(ConditionLiterals.base64("QmluYXJ5VmFsdWU=") == Array("BinaryValue".utf8))
        #expect(ConditionLiterals.base64("QQ") == [0x41])
        #expect(ConditionLiterals.base64("") == [])
        for bad in ["Q", "QQ=A", "!!", "QQ==="] {
            #expect(ConditionLiterals.base64(bad) == nil, "\(bad)")
        }
    }

    @Test func addressRanges() throws {
        let v4 = try #require(IPAddressRange("10.1.0.0/16"))
        #expect(v4.contains("10.1.255.255"))
        #expect(!v4.contains("10.2.0.0"))
        #expect(!v4.contains("10.1.0.0/16"))
        #expect(try #require(IPAddressRange("10.1.2.3/0")).contains("255.255.255.255"))
        let v6 = try #require(IPAddressRange("2001:db8::/32"))
        #expect(v6.contains("2001:DB8:ffff::1"))
        #expect(!v6.contains("2001:db9::"))
        #expect(try #require(IPAddressRange("::ffff:192.0.2.0/120")).contains("::ffff:192.0.2.77"))
        #expect(try #require(IPAddressRange("::1")).contains("0:0:0:0:0:0:0:1"))
        #expect(try #require(IPAddressRange("fe80::/10")).contains("febf:1::"))
        #expect(try #require(IPAddressRange("1:2:3:4:5:6:7::/128")).contains("1:2:3:4:5:6:7:0"))
        for bad in ["", "10.0.0", "10.0.0.256", "010.0.0.1", "10.0.0.0/", "10.0.0.0/-1", "1::2::3", "1:2:3:4:5:6:7:8:9",
                    "12345::", "::/129", "1:2:3:4:5:6:7:8::", "g::", "10.0.0.0/8/8", "::1.2.3"] {
            #expect(IPAddressRange(bad) == nil, "\(bad)")
        }
    }

    @Test func operatorNames() throws {
        let op = try #require(ConditionOperator("forallvalues:stringequalsignorecaseifexists"))
        #expect(op.base == .stringEqualsIgnoreCase)
        #expect(op.qualifier == .forAllValues)
        #expect(op.ifExists)
        #expect(ConditionOperator("Null") != nil)
        #expect(ConditionOperator("IfExists") == nil)
        #expect(ConditionOperator("ForAnyValue:") == nil)
        #expect(ConditionOperator("StringEqualsIfExistsIfExists") == nil)
        #expect(ConditionOperator.Base.allCases.count == 27)
        for base in ConditionOperator.Base.allCases where base != .null {
            #expect(ConditionOperator("ForAnyValue:\(base.rawValue)IfExists")?.base == base)
        }
    }

    @Test func variableSyntax() {
        func parts(_ text: String) -> [PolicyTemplate.Part] { PolicyTemplate(text, wildcards: true, variables: true).parts }
        #expect(parts("a${aws:username}b") == [.codes([97]), .variable(.username, defaultValue: nil), .codes([98])])
        #expect(parts("${ aws:PrincipalTag/team , 'none' }") == [.variable(.principalTag("team"), defaultValue: "none")])
        #expect(parts("${aws:x, ''}") == [.variable(.request("aws:x"), defaultValue: "")])
        #expect(parts("${*}${?}${$}*") == [.codes([42, 63, 36, Wildcard.anyRun])])
        // Not variables: kept literally (and the wildcard inside still counts).
        #expect(parts("${") == [.codes([36, 123])])
        #expect(parts("${}") == [.codes([36, 123, 125])])
        #expect(parts("${aws:x, 'a'b'}").count == 1)
        #expect(parts("${nocolon}").count == 1)
        #expect(PolicyTemplate("${aws:username}", wildcards: true, variables: false).parts.count == 1)
    }
}
