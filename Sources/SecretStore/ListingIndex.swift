/// A position in a listing: ListSecrets' sort key. Ordered as the tuple `(number, text)`, which
/// is also what a NextToken names (`<number>.<text>`).
struct ListKey: Sendable, Hashable, Comparable {
    var number: Int64
    var text: String

    static func < (a: ListKey, b: ListKey) -> Bool { (a.number, a.text) < (b.number, b.text) }
}

/// Each account's secrets in ListSecrets' two usual orders, so that a page is found by walking
/// from the cursor instead of scanning and sorting every secret of the node (over 100,000
/// secrets that scan held the storage lock, and its event loop, for about 150 ms).
///
/// Derived from `SecretState.secrets` (as `names` is) and kept in step by `insert` and `remove`:
/// a secret's creation date, name and ARN never change while it is stored.
struct ListingIndex: Sendable, Equatable {
    /// One account's secrets, sorted.
    struct Account: Sendable, Equatable {
        /// `(createdDate, arn)`, ascending.
        var byCreated: [Entry] = []
        /// `(0, name + NUL + arn)`, ascending.
        var byName: [Entry] = []
    }

    struct Entry: Sendable, Equatable {
        var key: ListKey
        var arn: String
    }

    private(set) var accounts: [String: Account] = [:]

    static func createdKey(_ secret: borrowing Secret) -> ListKey { ListKey(number: secret.createdDate, text: secret.arn) }
    static func nameKey(_ secret: borrowing Secret) -> ListKey { ListKey(number: 0, text: secret.name + "\u{0}" + secret.arn) }

    /// Builds the index of `secrets` with one sort per order (snapshot loading).
    init<S: Sequence<Secret>>(_ secrets: S) {
        for secret in secrets {
            accounts[secret.accountId, default: Account()].byCreated.append(Entry(key: Self.createdKey(secret), arn: secret.arn))
            accounts[secret.accountId, default: Account()].byName.append(Entry(key: Self.nameKey(secret), arn: secret.arn))
        }
        for account in accounts.keys {
            accounts[account]!.byCreated.sort { $0.key < $1.key }
            accounts[account]!.byName.sort { $0.key < $1.key }
        }
    }

    init() {}

    mutating func insert(_ secret: borrowing Secret) {
        let created = Entry(key: Self.createdKey(secret), arn: secret.arn)
        let named = Entry(key: Self.nameKey(secret), arn: secret.arn)
        var account = accounts.removeValue(forKey: secret.accountId) ?? Account()
        // Secrets are mostly created in date order: appending is the common case.
        account.byCreated.insert(created, at: Self.firstIndex(in: account.byCreated, notBelow: created.key))
        account.byName.insert(named, at: Self.firstIndex(in: account.byName, notBelow: named.key))
        accounts[secret.accountId] = account
    }

    mutating func remove(_ secret: borrowing Secret) {
        guard var account = accounts.removeValue(forKey: secret.accountId) else { return }
        for (key, byName) in [(Self.createdKey(secret), false), (Self.nameKey(secret), true)] {
            let entries = byName ? account.byName : account.byCreated
            let index = Self.firstIndex(in: entries, notBelow: key)
            guard index < entries.count, entries[index].key == key else { continue }
            if byName { account.byName.remove(at: index) } else { account.byCreated.remove(at: index) }
        }
        if !account.byCreated.isEmpty { accounts[secret.accountId] = account }
    }

    /// The index of the first entry whose key is not below `key` (`entries.count` when none).
    static func firstIndex(in entries: [Entry], notBelow key: ListKey) -> Int {
        if let last = entries.last, last.key < key { return entries.count }
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].key < key { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The first index past `cursor` in the walking direction, and the step.
    static func start(in entries: [Entry], after cursor: ListKey?, ascending: Bool) -> Int {
        guard let cursor else { return ascending ? 0 : entries.count - 1 }
        let index = firstIndex(in: entries, notBelow: cursor)
        if ascending {
            return index < entries.count && entries[index].key == cursor ? index + 1 : index
        }
        return index - 1
    }
}
