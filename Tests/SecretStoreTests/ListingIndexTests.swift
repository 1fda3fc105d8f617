import Testing
@testable import SecretStore
import TestSupport

/// ListSecrets in creation-date and name order walks `ListingIndex` instead of scanning every
/// secret: on random histories (creates with tied dates, deletions, purges, restores, two
/// accounts) every page it gives must be the page the full scan gives, for every order,
/// filter, page size and cursor, and the index kept by `apply` must equal one built from scratch.
@Suite struct ListingIndexTests {
    static let words = ["prod", "dev", "db", "api", "Prod", "key", "a", "b"]

    private func history(seed: UInt64) -> Harness {
        var rng = SplitMix64(seed: seed)
        var h = Harness()
        var names: [String] = []
        for _ in 0..<(40 + Int(rng.next() % 80)) {
            h.accountId = rng.next() % 4 == 0 ? otherAccount : account
            // Dates tie often (several creates in one millisecond): ARNs break the ties.
            if rng.next() % 3 == 0 { h.now += Int64(rng.next() % 3) }
            switch rng.next() % 10 {
            case 0..<6:
                let name = (0..<(1 + Int(rng.next() % 3))).map { _ in Self.words[Int(rng.next() % UInt64(Self.words.count))] }
                    .joined(separator: "/") + "\(rng.next() % 50)"
                let tags = rng.next() % 2 == 0 ? [SecretTag(key: "env", value: Self.words[Int(rng.next() % 3)])] : []
                if case .success = h.run(.createSecret(name: name, clientRequestToken: nil, description: nil, kmsKeyId: nil,
                                                       value: nil, tags: tags)) {
                    names.append(name)
                }
            case 6, 7:
                guard let name = names.randomElement(using: &rng) else { continue }
                h.run(.deleteSecret(secretId: name, recoveryWindowInDays: nil, forceDeleteWithoutRecovery: rng.next() % 2 == 0))
            case 8:
                guard let name = names.randomElement(using: &rng) else { continue }
                h.run(.restoreSecret(secretId: name))
            default:
                h.now += 31 * day
                h.run(.purgeExpired)
            }
        }
        return h
    }

    /// Every page of a listing, following the tokens.
    private func pages(_ list: (String?) -> Page<Secret>) -> [[String]] {
        var result: [[String]] = []
        var token: String?
        repeat {
            let page = list(token)
            result.append(page.items.map(\.arn))
            token = page.nextToken
        } while token != nil && result.count < 1000
        return result
    }

    @Test(arguments: 0..<60)
    func indexedPagesAreTheScansPages(seed: UInt64) throws {
        let h = history(seed: seed)
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        let filterChoices: [[ListSecretsFilter]] = [
            [], [ListSecretsFilter(key: .name, values: ["prod"])], [ListSecretsFilter(key: .name, values: ["!dev", "!Prod"])],
            [ListSecretsFilter(key: .tagValue, values: ["prod", "db"])], [ListSecretsFilter(key: .all, values: ["a"])],
        ]
        for accountId in [account, otherAccount, "999999999999"] {
            for sortBy in [ListSecretsSortBy.createdDate, .name] {
                for order in [SortOrder.asc, .desc] {
                    for filters in filterChoices {
                        for planned in [false, true] {
                            let size = 1 + Int(rng.next() % 7)
                            let indexed = pages { token in
                                try! h.state.listSecrets(accountId: accountId, filters: filters, includePlannedDeletion: planned,
                                                         sortBy: sortBy, sortOrder: order, maxResults: size, nextToken: token).get()
                            }
                            let scanned = pages { token in
                                let cursor = token.map { t in
                                    let dot = t.firstIndex(of: ".")!
                                    return (Int64(t[..<dot])!, String(t[t.index(after: dot)...]))
                                }
                                return h.state.scan(accountId: accountId, filters: filters, includePlannedDeletion: planned,
                                                    sortBy: sortBy, sortOrder: order, cursor: cursor, limit: size)
                            }
                            #expect(indexed == scanned, "seed \(seed) \(accountId) \(sortBy) \(order) \(filters) planned \(planned) size \(size)")
                        }
                    }
                }
            }
        }
        // Kept in step by every fact, it is the index a snapshot load builds.
        let rebuilt = try #require(SecretState(secretList: Array(h.state.secrets.values)))
        #expect(h.state.listing == rebuilt.listing)
        // And the state replayed from its facts holds the same index.
        var replayed = SecretState()
        for fact in h.facts { replayed.apply(fact) }
        #expect(replayed.listing == h.state.listing)
    }

    /// A page starting inside a run of secrets created in the same millisecond continues at the
    /// next ARN, and a cursor naming a purged secret still lands where it was.
    @Test func cursorsBetweenTiesAndPastPurgedSecrets() throws {
        var h = Harness()
        for n in 0..<5 {
            h.ok(.createSecret(name: "s\(n)", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        }
        let all = try h.state.listSecrets(accountId: account).get().items.map(\.arn)
        #expect(all == all.sorted())
        let first = try h.state.listSecrets(accountId: account, maxResults: 2).get()
        #expect(first.items.map(\.arn) == Array(all.prefix(2)))
        h.ok(.deleteSecret(secretId: first.items[1].arn, recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true))
        h.ok(.purgeExpired)
        let second = try h.state.listSecrets(accountId: account, maxResults: 2, nextToken: first.nextToken).get()
        #expect(second.items.map(\.arn) == Array(all[2..<4]))
    }
}
