import Testing
@testable import SecretStore
import TestSupport

@Suite struct SecretStateListTests {
    private func store() -> Harness {
        var h = Harness()
        let rows: [(String, String?, [SecretTag])] = [
            ("prod/db/password", "Main Database", [SecretTag(key: "env", value: "prod"), SecretTag(key: "team", value: "data")]),
            ("prod/api-key", "payments API key", [SecretTag(key: "env", value: "prod")]),
            ("dev/db/password", "main database (dev)", [SecretTag(key: "env", value: "dev")]),
            ("Prod/other", nil, []),
        ]
        for (name, description, tags) in rows {
            h.ok(.createSecret(name: name, clientRequestToken: nil, description: description, kmsKeyId: nil, value: nil,
                               tags: tags))
            h.now += 1000
        }
        h.accountId = otherAccount
        h.ok(.createSecret(name: "prod/elsewhere", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        h.accountId = account
        return h
    }

    private func names(_ h: Harness, _ filters: [ListSecretsFilter]) throws -> [String] {
        try h.state.listSecrets(accountId: account, filters: filters).get().items.map(\.name)
    }

    @Test func listsOnlyTheCallersAccountOldestFirst() throws {
        let h = store()
        #expect(try names(h, []) == ["prod/db/password", "prod/api-key", "dev/db/password", "Prod/other"])
        let desc = try h.state.listSecrets(accountId: account, sortOrder: .desc).get().items.map(\.name)
        #expect(desc == ["Prod/other", "dev/db/password", "prod/api-key", "prod/db/password"])
        let byName = try h.state.listSecrets(accountId: account, sortBy: .name).get().items.map(\.name)
        #expect(byName == ["Prod/other", "dev/db/password", "prod/api-key", "prod/db/password"])
    }

    /// A prefix of the whole name, case-sensitive (API reference; the user guide's "Name: Data
    /// returns … DatabaseSecret, but not databaseSecret or MyData").
    @Test func nameIsACaseSensitivePrefix() throws {
        let h = store()
        #expect(try names(h, [ListSecretsFilter(key: .name, values: ["prod/"])]) == ["prod/db/password", "prod/api-key"])
        #expect(try names(h, [ListSecretsFilter(key: .name, values: ["Prod", "dev"])]) == ["dev/db/password", "Prod/other"])
        #expect(try names(h, [ListSecretsFilter(key: .name, values: ["!prod"])]) == ["dev/db/password", "Prod/other"])
        #expect(try names(h, [ListSecretsFilter(key: .name, values: ["db/"])]).isEmpty)
        #expect(try names(h, [ListSecretsFilter(key: .name, values: ["rod"])]).isEmpty)
    }

    @Test func descriptionIsACaseInsensitivePrefix() throws {
        let h = store()
        #expect(try names(h, [ListSecretsFilter(key: .description, values: ["main"])]) == ["prod/db/password", "dev/db/password"])
    }

    @Test func tagsAndCombinedFilters() throws {
        let h = store()
        #expect(try names(h, [ListSecretsFilter(key: .tagKey, values: ["te"])]) == ["prod/db/password"])
        #expect(try names(h, [ListSecretsFilter(key: .tagValue, values: ["prod"])]) == ["prod/db/password", "prod/api-key"])
        #expect(try names(h, [ListSecretsFilter(key: .tagValue, values: ["prod"]),
                              ListSecretsFilter(key: .tagKey, values: ["!team"])]) == ["prod/api-key"])
        #expect(try names(h, [ListSecretsFilter(key: .primaryRegion, values: ["us-east"])]).count == 4)
        #expect(try names(h, [ListSecretsFilter(key: .owningService, values: ["rds"])]).isEmpty)
    }

    @Test func allSearchesWordsOfEveryAttributeIgnoringCase() throws {
        let h = store()
        #expect(try names(h, [ListSecretsFilter(key: .all, values: ["DATABASE"])]) == ["prod/db/password", "dev/db/password"])
        #expect(try names(h, [ListSecretsFilter(key: .all, values: ["pay"])]) == ["prod/api-key"])
        #expect(try names(h, [ListSecretsFilter(key: .all, values: ["data"])]) == ["prod/db/password", "dev/db/password"])
    }

    @Test func paginationIsStableWhileSecretsAreAdded() throws {
        var h = Harness()
        for n in 0..<5 {
            h.ok(.createSecret(name: "s\(n)", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        }
        var seen: [String] = []
        var next: String?
        var added = 0
        repeat {
            let page = try h.state.listSecrets(accountId: account, maxResults: 2, nextToken: next).get()
            seen += page.items.map(\.name)
            next = page.nextToken
            // Secrets created between pages, some in the same millisecond as earlier ones.
            h.ok(.createSecret(name: "new\(added)", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
            added += 1
        } while next != nil && added < 20
        #expect(Set(seen).count == seen.count)
        #expect(Array(seen.prefix(5)) == ["s0", "s1", "s2", "s3", "s4"])
        #expect(failure(h.state.listSecrets(accountId: account, nextToken: "garbage")) == .invalidNextToken)
    }

    @Test func versionIdPagination() throws {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(0), description: nil, kmsKeyId: nil, value: sealed("0"), tags: []))
        for n in 1..<7 {
            h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(n), value: sealed("\(n)"), versionStages: ["L\(n)"]))
        }
        var ids: [String] = []
        var next: String?
        repeat {
            let page = try h.state.listVersionIds("s", maxResults: 3, nextToken: next, accountId: account, region: region)
                .get().page
            ids += page.items.map(\.versionId)
            next = page.nextToken
        } while next != nil
        #expect(ids == (0..<7).map(token))
    }
}

/// The page selection ListSecrets uses gives exactly the first `count` of a full sort.
@Suite struct PageSelectionTests {
    @Test func smallestMatchesTheSortedPrefix() {
        var rng = SplitMix64(seed: 99)
        for round in 0..<400 {
            let n = Int(rng.next() % 300)
            let values = (0..<n).map { _ in (Int64(rng.next() % 50), String(rng.next() % 1000)) }
            let count = 1 + Int(rng.next() % 120)
            let before: ((Int64, String), (Int64, String)) -> Bool = round % 2 == 0 ? { $0 < $1 } : { $0 > $1 }
            let expected = Array(values.sorted(by: before).prefix(count))
            let got = SecretState.smallest(count, of: values, by: before)
            #expect(got.map { $0.0 } == expected.map { $0.0 } && got.map { $0.1 } == expected.map { $0.1 }, "round \(round)")
        }
    }
}
