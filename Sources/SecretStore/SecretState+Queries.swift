/// A ListSecrets filter key (`FilterNameStringType`).
public enum ListSecretsFilterKey: String, Sendable, Hashable, CaseIterable {
    case description, name
    case tagKey = "tag-key"
    case tagValue = "tag-value"
    case primaryRegion = "primary-region"
    case owningService = "owning-service"
    case all
}

/// One ListSecrets filter: a key and up to ten values, each optionally negated with `!`.
public struct ListSecretsFilter: Sendable, Hashable {
    public var key: ListSecretsFilterKey
    public var values: [String]

    public init(key: ListSecretsFilterKey, values: [String]) {
        self.key = key
        self.values = values
    }
}

/// ListSecrets' `SortBy`.
public enum ListSecretsSortBy: String, Sendable, Hashable {
    case createdDate = "created-date"
    case lastAccessedDate = "last-accessed-date"
    case lastChangedDate = "last-changed-date"
    case name
}

/// ListSecrets' `SortOrder`.
public enum SortOrder: String, Sendable, Hashable {
    case asc, desc
}

/// One page of a listing and the token for the next, nil on the last page.
public struct Page<Element: Sendable & Hashable>: Sendable, Hashable {
    public var items: [Element]
    public var nextToken: String?

    public init(items: [Element], nextToken: String?) {
        self.items = items
        self.nextToken = nextToken
    }
}

extension SecretState {
    /// DescribeSecret: the secret's metadata, also while it is scheduled for deletion.
    public func describe(_ secretId: String, accountId: String, region: String) -> Result<Secret, SecretStoreError> {
        lookup(secretId, accountId: accountId, region: region)
    }

    /// GetSecretValue's choice of version: by VersionId, by staging label, or AWSCURRENT.
    ///
    /// - Returns: the secret and the version, or AWS's error (a secret scheduled for deletion
    ///   gives no value; a VersionId and a label that disagree are refused).
    public func getValue(
        _ secretId: String, versionId: String? = nil, versionStage: String? = nil, accountId: String, region: String
    ) -> Result<(secret: Secret, version: SecretVersion), SecretStoreError> {
        let secret: Secret
        switch lookup(secretId, accountId: accountId, region: region) {
        case .failure(let error): return .failure(error)
        case .success(let found): secret = found
        }
        if secret.isScheduledForDeletion { return .failure(.markedForDeletion) }
        if let versionId {
            guard let version = secret.version(id: versionId) else { return .failure(.valueNotFound(versionId: versionId)) }
            if let versionStage, !version.stages.contains(versionStage) { return .failure(.stageVersionMismatch) }
            // A rotation's version before its createSecret step has no value to find (as AWS).
            if version.sealed.isAbsent { return .failure(.valueNotFound(versionId: versionId)) }
            return .success((secret, version))
        }
        let stage = versionStage ?? StagingLabel.current
        guard let version = secret.version(withStage: stage), !version.sealed.isAbsent else {
            return .failure(.valueNotFound(stage: stage))
        }
        return .success((secret, version))
    }

    /// ListSecretVersionIds: oldest first; deprecated versions only when asked for. The token is
    /// the position after the last version returned, so versions added meanwhile come on later
    /// pages and none is repeated.
    public func listVersionIds(
        _ secretId: String, includeDeprecated: Bool = false, maxResults: Int? = nil, nextToken: String? = nil,
        accountId: String, region: String
    ) -> Result<(secret: Secret, page: Page<SecretVersion>), SecretStoreError> {
        let secret: Secret
        switch lookup(secretId, accountId: accountId, region: region) {
        case .failure(let error): return .failure(error)
        case .success(let found): secret = found
        }
        let versions = secret.versions
            .filter { includeDeprecated || !$0.isDeprecated }
            .sorted { ($0.createdDate, $0.versionId) < ($1.createdDate, $1.versionId) }
        let cursor: (Int64, String)?
        switch Self.parseCursor(nextToken) {
        case .failure(let error): return .failure(error)
        case .success(let parsed): cursor = parsed
        }
        let remaining = cursor.map { after in versions.filter { ($0.createdDate, $0.versionId) > after } } ?? versions
        let limit = Self.pageSize(maxResults)
        let items = Array(remaining.prefix(limit))
        let token = remaining.count > limit ? items.last.map { Self.cursorToken($0.createdDate, $0.versionId) } : nil
        return .success((secret, Page(items: items, nextToken: token)))
    }

    /// ListSecrets for one account: filters (ANDed across filters, values ORed, `!` negates),
    /// secrets scheduled for deletion only when asked for, sorted by `sortBy` (default creation
    /// date) with ties broken by ARN. The token names the last secret returned, so secrets
    /// created meanwhile neither repeat nor shift a page.
    public func listSecrets(
        accountId: String, filters: [ListSecretsFilter] = [], includePlannedDeletion: Bool = false,
        sortBy: ListSecretsSortBy = .createdDate, sortOrder: SortOrder = .asc, maxResults: Int? = nil,
        nextToken: String? = nil
    ) -> Result<Page<Secret>, SecretStoreError> {
        let cursor: (Int64, String)?
        switch Self.parseCursor(nextToken) {
        case .failure(let error): return .failure(error)
        case .success(let parsed): cursor = parsed
        }
        let limit = Self.pageSize(maxResults)
        switch sortBy {
        case .createdDate, .name:
            guard let account = listing.accounts[accountId] else { return .success(Page(items: [], nextToken: nil)) }
            return .success(walk(sortBy == .name ? account.byName : account.byCreated, from: cursor.map { ListKey(cursor: $0.0, $0.1) },
                                 ascending: sortOrder == .asc, limit: limit, filters: filters,
                                 includePlannedDeletion: includePlannedDeletion))
        case .lastChangedDate, .lastAccessedDate:
            return .success(scan(accountId: accountId, filters: filters, includePlannedDeletion: includePlannedDeletion,
                                 sortBy: sortBy, sortOrder: sortOrder, cursor: cursor, limit: limit))
        }
    }

    /// A page in one of the indexed orders: the entries past the cursor, in order, until one more
    /// than the page has matched (so that a page costs its own length plus the secrets the
    /// filters pass over, not the account's size).
    private func walk(_ entries: [ListingIndex.Entry], from cursor: ListKey?, ascending: Bool, limit: Int,
                      filters: [ListSecretsFilter], includePlannedDeletion: Bool) -> Page<Secret> {
        var items: [Secret] = []
        var lastKey: ListKey?
        var index = ListingIndex.start(in: entries, after: cursor, ascending: ascending)
        let step = ascending ? 1 : -1
        while index >= 0 && index < entries.count {
            let entry = entries[index]
            index += step
            guard let secret = secrets[entry.arn] else { continue }
            guard includePlannedDeletion || secret.deletedDate == nil,
                  filters.allSatisfy({ Self.matches(secret, $0) }) else { continue }
            if items.count == limit {
                return Page(items: items, nextToken: lastKey.map { Self.cursorToken($0.number, $0.tokenText) })
            }
            items.append(secret)
            lastKey = entry.key
        }
        return Page(items: items, nextToken: nil)
    }

    /// A page in an order that changes as secrets are used (last changed, last accessed): every
    /// secret of the node is looked at, and only the page is sorted.
    func scan(accountId: String, filters: [ListSecretsFilter], includePlannedDeletion: Bool, sortBy: ListSecretsSortBy,
              sortOrder: SortOrder, cursor: (Int64, String)?, limit: Int) -> Page<Secret> {
        let before: ((Int64, String), (Int64, String)) -> Bool = sortOrder == .asc ? { $0 < $1 } : { $0 > $1 }
        // Each secret's sort key is computed once (not twice per comparison), and only the page
        // is sorted: the candidates past the cursor are cut to the `limit` smallest first.
        // Candidates are kept by dictionary index and each secret is only borrowed (a closure
        // argument) until the page is known: copying every secret out retained all its fields,
        // which was most of a listing.
        var keyed: [(key: (Int64, String), index: Dictionary<String, Secret>.Index)] = []
        for index in secrets.indices {
            if let k = Self.listKey(secrets.values[index], accountId: accountId, filters: filters,
                                    includePlannedDeletion: includePlannedDeletion, sortBy: sortBy),
               cursor.map({ before($0, k) }) ?? true {
                keyed.append((k, index))
            }
        }
        let more = keyed.count > limit
        let page = Self.smallest(limit, of: keyed) { before($0.key, $1.key) }
        let items = page.map { secrets.values[$0.index] }
        let token = more ? page.last.map { Self.cursorToken($0.key.0, $0.key.1) } : nil
        return Page(items: items, nextToken: token)
    }

    /// A secret's sort key when it belongs in the listing, else nil. The secret is borrowed:
    /// a copy retains every field, and that was most of a listing's time.
    private static func listKey(_ secret: borrowing Secret, accountId: String, filters: [ListSecretsFilter],
                                includePlannedDeletion: Bool, sortBy: ListSecretsSortBy) -> (Int64, String)? {
        guard secret.accountId == accountId, includePlannedDeletion || secret.deletedDate == nil else { return nil }
        for filter in filters where !matches(copy secret, filter) { return nil }
        switch sortBy {
        case .createdDate: return (secret.createdDate, secret.arn)
        case .lastChangedDate: return (secret.lastChangedDate, secret.arn)
        case .lastAccessedDate: return (secret.lastAccessedDate ?? 0, secret.arn)
        case .name: return (0, secret.name + "\u{0}" + secret.arn)
        }
    }

    // MARK: Pagination

    /// The `count` first elements of `elements` in `areInOrder` order, sorted: a full sort when
    /// the page is most of the list, otherwise a bounded insertion into a sorted page
    /// (O(n·log k) comparisons plus moves within the page).
    static func smallest<T>(_ count: Int, of elements: [T], by areInOrder: (T, T) -> Bool) -> [T] {
        if elements.count <= count * 4 { return Array(elements.sorted(by: areInOrder).prefix(count)) }
        var page: [T] = []
        page.reserveCapacity(count + 1)
        for element in elements {
            if page.count == count, let last = page.last, !areInOrder(element, last) { continue }
            var low = 0, high = page.count
            while low < high {
                let mid = (low + high) / 2
                if areInOrder(page[mid], element) { low = mid + 1 } else { high = mid }
            }
            page.insert(element, at: low)
            if page.count > count { page.removeLast() }
        }
        return page
    }

    private static func pageSize(_ maxResults: Int?) -> Int {
        min(max(maxResults ?? Limits.maxListResults, 1), Limits.maxListResults)
    }

    /// `<decimal>.<text>`: opaque to clients, harmless to show (no values in it).
    private static func cursorToken(_ number: Int64, _ text: String) -> String { "\(number).\(text)" }

    private static func parseCursor(_ token: String?) -> Result<(Int64, String)?, SecretStoreError> {
        guard let token, !token.isEmpty else { return .success(nil) }
        guard let dot = token.firstIndex(of: "."), let number = Int64(token[..<dot]) else {
            return .failure(.invalidNextToken)
        }
        return .success((number, String(token[token.index(after: dot)...])))
    }

    // MARK: Filters

    /// The attribute values a filter key searches.
    static func attributes(of secret: Secret, for key: ListSecretsFilterKey) -> [String] {
        switch key {
        case .name: [secret.name]
        case .description: secret.description.map { [$0] } ?? []
        case .tagKey: secret.tags.map(\.key)
        case .tagValue: secret.tags.map(\.value)
        // A replica's primary is the region it is copied from; any other secret's is its own.
        case .primaryRegion: secret.primaryRegion.map { [$0] } ?? Names.parseARN(secret.arn).map { [$0.region] } ?? []
        // No AWS service owns a secret here.
        case .owningService: []
        case .all: [secret.name] + (secret.description.map { [$0] } ?? []) + secret.tags.map(\.key)
            + secret.tags.map(\.value)
        }
    }

    /// How a filter value matches, per AWS's API reference (`Filter.Key`) and user guide ("Find
    /// secrets in AWS Secrets Manager"):
    /// - `name`, `tag-key`, `tag-value`, `primary-region`, `owning-service`: the value is a
    ///   case-sensitive prefix of the attribute, from its first character ("Name: Data returns a
    ///   secret named DatabaseSecret, but not databaseSecret or MyData"; "Tag key: Prod returns
    ///   secrets with the tag Production and Prod1, but not … prod or 1 Prod").
    /// - `description` (the user guide: "Matches the words in secret descriptions, not
    ///   case-sensitive"; `My Description` finds "Description of my secret") and `all` ("Breaks
    ///   the filter value string into words and then searches all attributes"): the value is
    ///   broken into words, and every one of them must be the prefix of a word of one and the
    ///   same attribute, ignoring case (AWS's launch post of the search: "secrets for" finds a
    ///   secret whose name, description, tag key or tag value holds both words "in the same
    ///   field"). An attribute's words: see `words(of:)`.
    /// A value with no word (`""` or only punctuation) finds nothing by words; `""` is a prefix
    /// of every attribute.
    static func matches(_ value: String, _ attributes: [String], key: ListSecretsFilterKey) -> Bool {
        switch key {
        case .all, .description:
            let wanted = Self.words(of: value).map { $0.lowercased() }
            guard !wanted.isEmpty else { return false }
            return attributes.contains { attribute in
                let words = Self.words(of: attribute).map { $0.lowercased() }
                return wanted.allSatisfy { word in words.contains { $0.hasPrefix(word) } }
            }
        default:
            return attributes.contains { $0.hasPrefix(value) }
        }
    }

    private enum CharacterClass { case lower, upper, digit, other, separator }

    private static func characterClass(_ c: Character) -> CharacterClass {
        if c.isLowercase { return .lower }
        if c.isUppercase { return .upper }
        if c.isNumber { return .digit }
        if c.isLetter { return .other }
        return .separator
    }

    /// Where words begin: after a separator, at a lower-to-upper change, between letters and digits.
    private static func isWordStart(_ previous: Character?, _ current: Character) -> Bool {
        let now = characterClass(current)
        if now == .separator { return false }
        guard let previous else { return true }
        switch (characterClass(previous), now) {
        case (.separator, _): return true
        case (.lower, .upper): return true
        case (.digit, .lower), (.digit, .upper), (.digit, .other): return true
        case (.lower, .digit), (.upper, .digit), (.other, .digit): return true
        default: return false
        }
    }

    /// The words of `text`, as the user guide describes AWS's search: only letters and digits
    /// count (spaces and punctuation such as `/ _ = #` separate words), and a word also ends at a
    /// lower-to-upper case change and between letters and digits (`credsDatabase#892` → creds,
    /// Database, 892).
    static func words(of text: String) -> [String] {
        var result: [String] = []
        var current = ""
        var previous: Character?
        for c in text {
            if characterClass(c) == .separator {
                if !current.isEmpty { result.append(current) }
                current = ""
            } else {
                if isWordStart(previous, c), !current.isEmpty {
                    result.append(current)
                    current = ""
                }
                current.append(c)
            }
            previous = c
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// One filter against one secret. AWS documents only that a `!` before a value makes it a
    /// negation filter; Strongroom combines a filter's values as: the secret matches when some
    /// plain value matches (or there is none) and no negated value does. So `!x` alone is "no
    /// attribute matches x" (a secret with tags `prod` and `dev` is not found by `tag-key !prod`),
    /// and `["a", "!ab"]` is "a, but not ab". Filters of a request are ANDed (ListSecrets).
    static func matches(_ secret: Secret, _ filter: ListSecretsFilter) -> Bool {
        let attributes = attributes(of: secret, for: filter.key)
        var sawPositive = false
        var matchedPositive = false
        for value in filter.values {
            if value.hasPrefix("!") {
                if matches(String(value.dropFirst()), attributes, key: filter.key) { return false }
            } else {
                sawPositive = true
                if !matchedPositive && matches(value, attributes, key: filter.key) { matchedPositive = true }
            }
        }
        return !sawPositive || matchedPositive
    }
}
