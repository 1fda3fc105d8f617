import Testing
@testable import SecretStore
import TestSupport

/// ListSecrets' (and BatchGetSecretValue's) filter matching: the examples of AWS's user guide
/// ("Find secrets in AWS Secrets Manager") and API reference (`Filter`), the cases LocalStack
/// recorded against AWS, and seeded properties of the rules.
@Suite struct ListSecretsMatchingTests {
    @Test func wordsBreakAtSeparatorsCaseAndDigits() {
        #expect(SecretState.words(of: "credsDatabase#892") == ["creds", "Database", "892"])
        #expect(SecretState.words(of: "MyTestSecret") == ["My", "Test", "Secret"])
        #expect(SecretState.words(of: "a secret") == ["a", "secret"])
        #expect(SecretState.words(of: "db2prod") == ["db", "2", "prod"])
        #expect(SecretState.words(of: "My_Secret/x=y") == ["My", "Secret", "x", "y"])
        #expect(SecretState.words(of: "") == [])
        #expect(SecretState.words(of: "/-_") == [])
    }

    /// The user guide: "Name: Data returns a secret named DatabaseSecret, but not
    /// databaseSecret or MyData"; LocalStack's AWS-validated `name` cases.
    @Test func nameIsACaseSensitivePrefixOfTheWholeName() {
        #expect(SecretState.matches("Data", ["DatabaseSecret"], key: .name))
        #expect(!SecretState.matches("Data", ["databaseSecret"], key: .name))
        #expect(!SecretState.matches("Data", ["MyData"], key: .name))
        #expect(!SecretState.matches("Test", ["MyTestSecret"], key: .name))
        #expect(SecretState.matches("/", ["/testing2/a"], key: .name))
        #expect(!SecretState.matches("/", ["testing1/one"], key: .name))
        #expect(!SecretState.matches("testing1 one", ["testing1/one"], key: .name))
        #expect(!SecretState.matches("prod", ["app/prod-db"], key: .name))
    }

    /// The user guide: "Tag key: Prod returns secrets with the tag Production and Prod1, but not
    /// secrets with the tag prod or 1 Prod" (and the same for tag values).
    @Test func tagKeysAndValuesAreCaseSensitivePrefixes() {
        for key in [ListSecretsFilterKey.tagKey, .tagValue, .primaryRegion, .owningService] {
            #expect(SecretState.matches("Prod", ["Production"], key: key))
            #expect(SecretState.matches("Prod", ["Prod1"], key: key))
            #expect(!SecretState.matches("Prod", ["prod"], key: key))
            #expect(!SecretState.matches("Prod", ["1 Prod"], key: key))
            #expect(SecretState.matches("Prod", ["x", "Prod"], key: key))
            #expect(!SecretState.matches("Prod", [], key: key))
        }
    }

    /// The user guide: "Description: My Description matches … My Description, my description,
    /// My basic description, Description of my secret"; LocalStack's AWS-validated cases.
    @Test func descriptionNeedsEveryWordAsAWordPrefixIgnoringCase() {
        for description in ["My Description", "my description", "My basic description", "Description of my secret"] {
            #expect(SecretState.matches("My Description", [description], key: .description), "\(description)")
        }
        #expect(!SecretState.matches("My Description", ["Mine"], key: .description))
        let descriptions = ["a secret", "an secret", "asecret", "thesecret"]
        #expect(descriptions.filter { SecretState.matches("a", [$0], key: .description) } == ["a secret", "an secret", "asecret"])
        #expect(descriptions.filter { SecretState.matches("a secret", [$0], key: .description) } == ["a secret", "an secret"])
        #expect(!descriptions.contains { SecretState.matches("c", [$0], key: .description) })
        #expect(SecretState.matches("NUMBER 3", ["Number 3"], key: .description))
    }

    /// `all`: every word of the value within one attribute (AWS's launch post of the search:
    /// "secrets for" finds a field holding both words), ignoring case.
    @Test func allNeedsEveryWordWithinOneAttribute() {
        #expect(SecretState.matches("database", ["credsDatabase#892"], key: .all))
        #expect(SecretState.matches("secrets for", ["x", "Secrets for the team"], key: .all))
        #expect(!SecretState.matches("secrets for", ["secrets", "for the team"], key: .all))
        #expect(SecretState.matches("my_secret", ["MySecret"], key: .all))
        #expect(!SecretState.matches("", ["anything"], key: .all))
        #expect(!SecretState.matches("#", ["anything"], key: .all))
    }

    /// A secret with these tags (name `n`, no description), for filter-level checks.
    private func secret(name: String = "n", description: String? = nil, tags: [SecretTag]) -> Secret {
        Secret(arn: "arn:aws:secretsmanager:us-east-1:\(account):secret:\(name)-AbCdEf", name: name, accountId: account,
               description: description, kmsKeyId: nil, tags: tags, createdDate: 0, lastChangedDate: 0)
    }

    @Test func aNegationExcludesSecretsWithAnyMatchingAttribute() {
        let both = secret(tags: [SecretTag(key: "prod", value: "1"), SecretTag(key: "dev", value: "2")])
        let devOnly = secret(tags: [SecretTag(key: "dev", value: "2")])
        let untagged = secret(tags: [])
        let notProd = ListSecretsFilter(key: .tagKey, values: ["!prod"])
        #expect(!SecretState.matches(both, notProd))
        #expect(SecretState.matches(devOnly, notProd))
        #expect(SecretState.matches(untagged, notProd))
        // Plain values are alternatives; a negated one vetoes.
        let devNotProd = ListSecretsFilter(key: .tagKey, values: ["dev", "!prod"])
        #expect(!SecretState.matches(both, devNotProd))
        #expect(SecretState.matches(devOnly, devNotProd))
        #expect(!SecretState.matches(untagged, devNotProd))
        #expect(SecretState.matches(both, ListSecretsFilter(key: .tagKey, values: ["nope", "prod"])))
    }

    // MARK: Properties, seeded

    private static let alphabet = Array("abcXYZ019/_-+=.@: ")

    private static func text(_ rng: inout SplitMix64, maxLength: Int = 12) -> String {
        String((0..<Int(rng.next() % UInt64(maxLength + 1))).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    /// Prefix keys: exactly `hasPrefix` on some attribute; every prefix of an attribute finds it.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func prefixKeysMatchExactlyThePrefixesOfAnAttribute(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for round in 0..<2000 {
            let attributes = (0..<Int(rng.next() % 3)).map { _ in Self.text(&rng) }
            let value = Self.text(&rng, maxLength: 4)
            #expect(SecretState.matches(value, attributes, key: .name) == attributes.contains { $0.hasPrefix(value) },
                    "round \(round): \(value) in \(attributes)")
            if let attribute = attributes.first {
                let cut = attribute.index(attribute.startIndex, offsetBy: Int(rng.next() % UInt64(attribute.count + 1)))
                #expect(SecretState.matches(String(attribute[..<cut]), attributes, key: .tagKey), "round \(round)")
            }
        }
    }

    /// Word keys: a value made of prefixes of an attribute's words (any of them, any order, any
    /// case, any separators) finds it; one with a word that starts no word of any single
    /// attribute does not.
    @Test(arguments: [4, 5, 6] as [UInt64])
    func wordKeysFindEveryCombinationOfWordPrefixes(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let separators = [" ", "/", "_", "-", "#", " . "]
        for round in 0..<2000 {
            let attributes = (1...1 + Int(rng.next() % 3)).map { _ in Self.text(&rng) }
            let target = attributes[Int(rng.next() % UInt64(attributes.count))]
            let words = SecretState.words(of: target)
            guard !words.isEmpty else { continue }
            var parts: [String] = []
            for _ in 0..<1 + Int(rng.next() % 3) {
                let word = words[Int(rng.next() % UInt64(words.count))]
                var part = String(word.prefix(1 + Int(rng.next() % UInt64(word.count))))
                part = rng.next() % 2 == 0 ? part.uppercased() : part.lowercased()
                // An upper-case run after a lower-case letter would start a new word; the
                // separators keep each part one word (its case is then irrelevant).
                parts.append(part)
            }
            let value = parts.joined(separator: separators[Int(rng.next() % UInt64(separators.count))])
            #expect(SecretState.matches(value, attributes, key: .all), "round \(round): \(value) in \(attributes)")
            #expect(SecretState.matches(value, [target], key: .description), "round \(round): \(value) in \(target)")
            // Reference: some single attribute has, for each wanted word, a word it starts.
            let wanted = SecretState.words(of: value + " qq7").map { $0.lowercased() }
            let expected = attributes.contains { attribute in
                let have = SecretState.words(of: attribute).map { $0.lowercased() }
                return wanted.allSatisfy { w in have.contains { $0.hasPrefix(w) } }
            }
            #expect(SecretState.matches(value + " qq7", attributes, key: .all) == expected, "round \(round)")
        }
    }

    /// A filter is "some plain value matches (or none is given), and no negated value does";
    /// `!v` alone is the complement of `v`.
    @Test(arguments: [7, 8] as [UInt64])
    func filtersCombineValuesAsDocumented(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let keys = ListSecretsFilterKey.allCases
        for round in 0..<1500 {
            let tags = (0..<Int(rng.next() % 3)).map { _ in SecretTag(key: Self.text(&rng, maxLength: 5), value: Self.text(&rng, maxLength: 5)) }
            let candidate = secret(name: Self.text(&rng, maxLength: 6), description: rng.next() % 2 == 0 ? Self.text(&rng) : nil,
                                   tags: tags)
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            let values = (1...1 + Int(rng.next() % 4)).map { _ in
                (rng.next() % 3 == 0 ? "!" : "") + Self.text(&rng, maxLength: 3)
            }
            let one = ListSecretsFilter(key: key, values: [values[0]])
            let attributes = SecretState.attributes(of: candidate, for: key)
            func hit(_ v: String) -> Bool { SecretState.matches(v, attributes, key: key) }
            let plain = values.filter { !$0.hasPrefix("!") }
            let negated = values.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
            let expected = (plain.isEmpty || plain.contains(where: hit)) && !negated.contains(where: hit)
            #expect(SecretState.matches(candidate, ListSecretsFilter(key: key, values: values)) == expected,
                    "round \(round): \(key) \(values)")
            let flipped = values[0].hasPrefix("!") ? String(values[0].dropFirst()) : "!" + values[0]
            #expect(SecretState.matches(candidate, one) != SecretState.matches(candidate, ListSecretsFilter(key: key, values: [flipped])),
                    "round \(round): \(values[0])")
        }
    }
}
