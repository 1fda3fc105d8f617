/// A position in a listing: ListSecrets' sort key, ordered as the tuple `(number, text, suffix)`.
/// A NextToken names it as `<number>.<text>`, with `NUL suffix` after the text when there is one:
/// creation order is `(createdDate, arn)`, name order `(0, name, arn)`, which orders as the text
/// `name NUL arn` does (NUL sorts before every character a name may hold) without making that
/// string for every secret.
struct ListKey: Sendable, Hashable, Comparable {
    var number: Int64
    var text: String
    var suffix: String = ""

    init(number: Int64, text: String, suffix: String = "") {
        self.number = number
        self.text = text
        self.suffix = suffix
    }

    /// The key a NextToken's parts name.
    init(cursor number: Int64, _ text: String) {
        if let nul = text.firstIndex(of: "\u{0}") {
            self.init(number: number, text: String(text[..<nul]), suffix: String(text[text.index(after: nul)...]))
        } else {
            self.init(number: number, text: text)
        }
    }

    /// The `<text>` part of a NextToken.
    var tokenText: String { suffix.isEmpty ? text : text + "\u{0}" + suffix }

    static func < (a: ListKey, b: ListKey) -> Bool { (a.number, a.text, a.suffix) < (b.number, b.text, b.suffix) }
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
        /// `(0, name, arn)`, ascending.
        var byName: [Entry] = []
    }

    /// A secret's place in one order; its ARN is part of the key (the text in creation order,
    /// the suffix in name order).
    struct Entry: Sendable, Equatable {
        var key: ListKey
        var arn: String { key.suffix.isEmpty ? key.text : key.suffix }
    }

    private(set) var accounts: [String: Account] = [:]

    static func createdKey(_ secret: borrowing Secret) -> ListKey { ListKey(number: secret.createdDate, text: secret.arn) }
    static func nameKey(_ secret: borrowing Secret) -> ListKey { ListKey(number: 0, text: secret.name, suffix: secret.arn) }

    /// Builds the index of `secrets` with one sort per order (snapshot loading).
    init<S: Sequence<Secret>>(_ secrets: S) {
        for secret in secrets {
            accounts[secret.accountId, default: Account()].byCreated.append(Entry(key: Self.createdKey(secret)))
            accounts[secret.accountId, default: Account()].byName.append(Entry(key: Self.nameKey(secret)))
        }
        for account in accounts.keys {
            accounts[account]!.byCreated.sort { $0.key < $1.key }
            accounts[account]!.byName.sort { $0.key < $1.key }
        }
    }

    init() {}

    mutating func insert(_ secret: borrowing Secret) {
        let created = Entry(key: Self.createdKey(secret))
        let named = Entry(key: Self.nameKey(secret))
        var account = accounts.removeValue(forKey: secret.accountId) ?? Account()
        // Secrets are mostly created in date order: appending is the common case.
        account.byCreated.insert(created, at: Self.firstIndex(in: account.byCreated, notBelow: created.key))
        account.byName.insert(named, at: Self.firstIndex(in: account.byName, notBelow: named.key))
        accounts[secret.accountId] = account
    }

    mutating func remove(_ secret: borrowing Secret) {
        guard var account = accounts.removeValue(forKey: secret.accountId) else { return }
        Self.remove(Self.createdKey(secret), from: &account.byCreated)
        Self.remove(Self.nameKey(secret), from: &account.byName)
        if !account.byCreated.isEmpty { accounts[secret.accountId] = account }
    }

    /// Removes the entry with `key`, in place (no second reference to the array while it
    /// changes, which would copy the whole order).
    private static func remove(_ key: ListKey, from entries: inout [Entry]) {
        let index = firstIndex(in: entries, notBelow: key)
        if index < entries.count, entries[index].key == key { entries.remove(at: index) }
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

    /// The first index past `cursor` in the walking direction (-1 or `entries.count` when none).
    static func start(in entries: [Entry], after cursor: ListKey?, ascending: Bool) -> Int {
        guard let cursor else { return ascending ? 0 : entries.count - 1 }
        let index = firstIndex(in: entries, notBelow: cursor)
        if ascending {
            return index < entries.count && entries[index].key == cursor ? index + 1 : index
        }
        return index - 1
    }
}
