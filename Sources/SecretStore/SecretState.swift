/// The whole store of one node: every secret by ARN and each account's name index.
///
/// A plain value. `decide` (in `SecretState+Decide.swift`) validates a command against it and
/// returns facts; `apply` folds one fact in without validating, so replicas replaying the same
/// facts end identical.
public struct SecretState: Sendable, Equatable {
    /// Secrets by ARN.
    public private(set) var secrets: [String: Secret]
    /// `NameKey(account, name)` → ARN. Derived from `secrets`; kept for lookups.
    private(set) var names: [NameKey: String]
    /// Each account's secrets sorted for ListSecrets. Derived from `secrets`.
    private(set) var listing = ListingIndex()
    /// As a replica region: how far each source region's log has been applied, and the
    /// notices for it not yet recorded there.
    public private(set) var sources: [String: SourceProgress] = [:]

    struct NameKey: Hashable {
        var accountId: String
        var name: String
    }

    public init() {
        secrets = [:]
        names = [:]
    }

    /// Builds a state from secrets. Nil when two secrets share an ARN or an account's name.
    init?(secretList: [Secret], sources: [String: SourceProgress] = [:]) {
        self.init()
        reserve(secretList.count)
        for secret in secretList {
            guard load(secret) else { return nil }
        }
        finishLoading(sources: sources)
    }

    /// Snapshot loading, one secret at a time: room for `count` secrets.
    mutating func reserve(_ count: Int) {
        secrets.reserveCapacity(count)
        names.reserveCapacity(count)
    }

    /// Snapshot loading: adds a decoded secret, moved in rather than copied (a copy retains every
    /// field, a tenth of a restart over 100,000 secrets); false when its ARN or its account's
    /// name is taken. `finishLoading(sources:)` must follow the last one.
    mutating func load(_ secret: consuming Secret) -> Bool {
        let arn = secret.arn
        // One hash of each key (a lookup and then an insert was two): a duplicate fails the
        // whole load, so what it replaced does not matter.
        guard names.updateValue(arn, forKey: NameKey(accountId: secret.accountId, name: secret.name)) == nil else { return false }
        return secrets.updateValue(secret, forKey: arn) == nil
    }

    /// Snapshot loading: the replication sources, and the listing index of every secret loaded,
    /// built with one sort per order.
    mutating func finishLoading(sources: [String: SourceProgress]) {
        self.sources = sources
        listing = ListingIndex(secrets.values)
    }

    /// The ARN of the secret `name` in `accountId`, if it exists.
    public func arn(name: String, accountId: String) -> String? {
        names[NameKey(accountId: accountId, name: name)]
    }

    /// Folds one decided fact into the state. No validation: facts are decided against this
    /// state (or, on a replica, translated by `intake`, which drops facts about secrets it does
    /// not hold), so a fact about a secret that is not here means the state has diverged from
    /// the log that decided it. It changes nothing, and the result says so: false. The caller
    /// must not ignore that (the storage reports it, and `strongroom status` shows it).
    @discardableResult
    public mutating func apply(_ fact: Fact) -> Bool {
        var held = true
        switch fact {
        case let .secretCreated(arn, name, accountId, description, kmsKeyId, tags, date):
            // Blind, as every fact is applied: a name already taken is not checked here (the
            // decision did), so a broken log shows as a broken state, which snapshots refuse.
            if let old = secrets[arn] { listing.remove(old) }
            let secret = Secret(arn: arn, name: name, accountId: accountId, description: description, kmsKeyId: kmsKeyId,
                                tags: tags, createdDate: date, lastChangedDate: date)
            secrets[arn] = secret
            names[NameKey(accountId: accountId, name: name)] = arn
            listing.insert(secret)
        case let .versionAdded(arn, version, moves, date):
            held = update(arn) { secret in
                // A rotation's version without a value takes the value createSecret puts.
                var version = version
                // One key id string per secret, not per version (a heap object each otherwise).
                if let last = secret.versions.last, last.sealed.keyId == version.sealed.keyId {
                    version.sealed.keyId = last.sealed.keyId
                }
                if let index = secret.versions.lastIndex(where: { $0.id == version.id }) {
                    secret.versions[index].sealed = version.sealed
                } else {
                    secret.versions.append(version)
                }
                Self.applyMoves(moves, to: &secret)
                secret.lastChangedDate = date
            }
        case let .versionsRemoved(arn, ids):
            held = update(arn) { secret in
                let removed = Set(ids.map(VersionID.init))
                secret.versions.removeAll { removed.contains($0.id) }
            }
        case let .labelsMoved(arn, moves, date):
            held = update(arn) { secret in
                Self.applyMoves(moves, to: &secret)
                secret.lastChangedDate = date
            }
        case let .metadataUpdated(arn, description, kmsKeyId, date):
            held = update(arn) { secret in
                if let description { secret.description = description }
                // "": back to the account's default key (no KmsKeyId, as a secret created without one).
                if let kmsKeyId { secret.kmsKeyId = kmsKeyId.isEmpty ? nil : kmsKeyId }
                secret.lastChangedDate = date
            }
        case let .valuesResealed(arn, values, date):
            held = update(arn) { secret in
                for value in values {
                    let wanted = VersionID(value.versionId)
                    if let index = secret.versions.firstIndex(where: { $0.id == wanted }) {
                        secret.versions[index].sealed = value.sealed
                    }
                }
                secret.lastChangedDate = date
            }
        case let .secretDeleted(arn, deletionDate):
            held = update(arn) { $0.deletedDate = deletionDate }
        case let .secretRestored(arn, date):
            held = update(arn) { secret in
                secret.deletedDate = nil
                secret.lastChangedDate = date
            }
        case let .secretPurged(arn):
            remove(arn)
        case let .tagsSet(arn, tags, date):
            held = update(arn) { secret in
                secret.tags = tags
                secret.everTagged = true
                secret.lastChangedDate = date
            }
        case let .policySet(arn, policy, date):
            held = update(arn) { secret in
                secret.resourcePolicy = policy
                secret.lastChangedDate = date
            }
        case let .rotationSet(arn, rotation, date):
            held = update(arn) { secret in
                secret.rotation = rotation
                secret.lastChangedDate = date
            }
        case let .secretAccessed(arn, day):
            held = update(arn) { $0.lastAccessedDate = day }
        case let .versionAccessed(arn, versionId, day):
            held = update(arn) { secret in
                let wanted = VersionID(versionId)
                if let index = secret.versions.lastIndex(where: { $0.id == wanted }) {
                    secret.versions[index].lastAccessedDate = day
                }
            }
        case let .replicationSet(arn, replicas):
            held = update(arn) { $0.replicas = replicas }
        case let .replicaSeeded(_, _, secret):
            // On the primary the secret is its own (not a replica): the copy changes nothing.
            if let existing = secrets[secret.arn], !existing.isReplica { return true }
            insert(secret)
        case let .replicaRemoved(arn, _):
            if secrets[arn]?.isReplica == true { remove(arn) }
        case let .replicaPromoted(arn, date):
            held = update(arn) { secret in
                secret.primaryRegion = nil
                secret.replicas = []
                secret.lastChangedDate = date
            }
        case .noticeAcknowledged:
            break
        case let .replicatedThrough(region, epoch, lsn):
            sources[region, default: SourceProgress()].epoch = epoch
            sources[region, default: SourceProgress()].lsn = lsn
        case let .replicaNoticeSet(region, primaryARN, notice):
            sources[region, default: SourceProgress()].notices[primaryARN] = notice
        case let .replicasDropped(region):
            for arn in secrets.values.filter({ $0.primaryRegion == region }).map(\.arn) { remove(arn) }
        }
        return held
    }

    /// Adds or replaces a secret (and its name).
    private mutating func insert(_ secret: Secret) {
        if let old = secrets[secret.arn] {
            names[NameKey(accountId: old.accountId, name: old.name)] = nil
            listing.remove(old)
        }
        // Decisions never seed over another secret's name (the replica intake purges a clashing
        // secret first, or refuses): if one is there anyway, the index must stay one-to-one.
        if let clashing = names[NameKey(accountId: secret.accountId, name: secret.name)], clashing != secret.arn {
            remove(clashing)
        }
        secrets[secret.arn] = secret
        names[NameKey(accountId: secret.accountId, name: secret.name)] = secret.arn
        listing.insert(secret)
    }

    private mutating func remove(_ arn: String) {
        if let secret = secrets.removeValue(forKey: arn) {
            names[NameKey(accountId: secret.accountId, name: secret.name)] = nil
            listing.remove(secret)
        }
    }

    /// Changes the secret `arn` in place; false when there is none.
    private mutating func update(_ arn: String, _ body: (inout Secret) -> Void) -> Bool {
        // In place: copying the secret out left its versions array shared, so every change
        // (a put appends a version) copied all of a secret's versions.
        guard secrets[arn] != nil else { return false }
        body(&secrets[arn]!)
        return true
    }

    static func applyMoves(_ moves: [LabelMove], to secret: inout Secret) {
        for move in moves {
            // From the newest: moves concern recent versions, and a secret may hold a hundred.
            if let from = move.from.map(VersionID.init), let index = secret.versions.lastIndex(where: { $0.id == from }) {
                secret.versions[index].stages.removeAll { $0 == move.label }
            }
            if let to = move.to.map(VersionID.init), let index = secret.versions.lastIndex(where: { $0.id == to }),
               !secret.versions[index].stages.contains(move.label) {
                secret.versions[index].stages.append(move.label)
            }
        }
    }
}
