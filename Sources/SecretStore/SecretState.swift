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

    struct NameKey: Hashable {
        var accountId: String
        var name: String
    }

    public init() {
        secrets = [:]
        names = [:]
    }

    /// Builds a state from secrets (snapshot decoding). Nil when two secrets share an ARN or an
    /// account's name.
    init?(secretList: [Secret]) {
        self.init()
        secrets.reserveCapacity(secretList.count)
        names.reserveCapacity(secretList.count)
        for secret in secretList {
            let key = NameKey(accountId: secret.accountId, name: secret.name)
            guard secrets[secret.arn] == nil, names[key] == nil else { return nil }
            secrets[secret.arn] = secret
            names[key] = secret.arn
        }
    }

    /// The ARN of the secret `name` in `accountId`, if it exists.
    public func arn(name: String, accountId: String) -> String? {
        names[NameKey(accountId: accountId, name: name)]
    }

    /// Folds one decided fact into the state. No validation: a fact about a secret that is not
    /// here (impossible when replaying a log from its start) changes nothing.
    public mutating func apply(_ fact: Fact) {
        switch fact {
        case let .secretCreated(arn, name, accountId, description, kmsKeyId, tags, date):
            secrets[arn] = Secret(
                arn: arn, name: name, accountId: accountId, description: description, kmsKeyId: kmsKeyId,
                tags: tags, createdDate: date, lastChangedDate: date)
            names[NameKey(accountId: accountId, name: name)] = arn
        case let .versionAdded(arn, version, moves, date):
            update(arn) { secret in
                secret.versions.append(version)
                Self.applyMoves(moves, to: &secret)
                secret.lastChangedDate = date
            }
        case let .versionsRemoved(arn, ids):
            update(arn) { secret in
                let removed = Set(ids)
                secret.versions.removeAll { removed.contains($0.versionId) }
            }
        case let .labelsMoved(arn, moves, date):
            update(arn) { secret in
                Self.applyMoves(moves, to: &secret)
                secret.lastChangedDate = date
            }
        case let .metadataUpdated(arn, description, kmsKeyId, date):
            update(arn) { secret in
                if let description { secret.description = description }
                if let kmsKeyId { secret.kmsKeyId = kmsKeyId }
                secret.lastChangedDate = date
            }
        case let .valuesResealed(arn, values, date):
            update(arn) { secret in
                for value in values {
                    if let index = secret.versions.firstIndex(where: { $0.versionId == value.versionId }) {
                        secret.versions[index].sealed = value.sealed
                    }
                }
                secret.lastChangedDate = date
            }
        case let .secretDeleted(arn, deletionDate):
            update(arn) { $0.deletedDate = deletionDate }
        case let .secretRestored(arn, date):
            update(arn) { secret in
                secret.deletedDate = nil
                secret.lastChangedDate = date
            }
        case let .secretPurged(arn):
            if let secret = secrets.removeValue(forKey: arn) {
                names[NameKey(accountId: secret.accountId, name: secret.name)] = nil
            }
        case let .tagsSet(arn, tags, date):
            update(arn) { secret in
                secret.tags = tags
                secret.lastChangedDate = date
            }
        case let .policySet(arn, policy, date):
            update(arn) { secret in
                secret.resourcePolicy = policy
                secret.lastChangedDate = date
            }
        case let .rotationSet(arn, rotation, date):
            update(arn) { secret in
                secret.rotation = rotation
                secret.lastChangedDate = date
            }
        case let .secretAccessed(arn, day):
            update(arn) { $0.lastAccessedDate = day }
        }
    }

    private mutating func update(_ arn: String, _ body: (inout Secret) -> Void) {
        // In place: copying the secret out left its versions array shared, so every change
        // (a put appends a version) copied all of a secret's versions.
        guard secrets[arn] != nil else { return }
        body(&secrets[arn]!)
    }

    static func applyMoves(_ moves: [LabelMove], to secret: inout Secret) {
        for move in moves {
            // From the newest: moves concern recent versions, and a secret may hold a hundred.
            if let from = move.from, let index = secret.versions.lastIndex(where: { $0.versionId == from }) {
                secret.versions[index].stages.removeAll { $0 == move.label }
            }
            if let to = move.to, let index = secret.versions.lastIndex(where: { $0.versionId == to }),
               !secret.versions[index].stages.contains(move.label) {
                secret.versions[index].stages.append(move.label)
            }
        }
    }
}
