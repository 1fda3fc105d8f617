extension Fact {
    /// Format of a fact record; bumped when the layout changes. Formats 1 (before replication:
    /// values without a bound ARN, secrets without replication members) and 2 (replica statuses
    /// and notices without access days) are still read, and each fact is written in the lowest
    /// format that holds it (`format`).
    static let formatVersion: UInt8 = 4

    private enum Kind: UInt8 {
        case secretCreated = 1, versionAdded, versionsRemoved, labelsMoved, metadataUpdated, secretDeleted,
             secretRestored, secretPurged, tagsSet, policySet, rotationSet, secretAccessed,
             valuesResealed, replicationSet, replicaSeeded, replicaRemoved, replicaPromoted, noticeAcknowledged,
             replicatedThrough, replicaNoticeSet, replicasDropped, versionAccessed
    }

    /// The lowest format that holds this fact: 3 only for the facts that carry an access day
    /// (or the `.accessed` notice), so that a node of the previous version still reads every
    /// other fact a newer one ships to it (a rolling upgrade).
    var format: UInt8 {
        switch self {
        case let .replicationSet(_, replicas):
            return replicas.contains { $0.lastAccessedDate != nil } ? 3 : 2
        case let .replicaSeeded(_, _, secret):
            // 4 only for a copy whose tags were all removed (its empty `Tags` list).
            if secret.everTagged && secret.tags.isEmpty { return 4 }
            return secret.replicas.contains { $0.lastAccessedDate != nil } ? 3 : 2
        case let .noticeAcknowledged(_, _, notice):
            return notice.carriesAccessDay ? 3 : 2
        case let .replicaNoticeSet(_, _, notice):
            return notice?.carriesAccessDay == true ? 3 : 2
        case .versionAccessed:
            return 4
        default:
            return 2
        }
    }

    /// The journal record body: deterministic bytes (the same fact always encodes the same).
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.layout = format
        writer.byte(writer.layout)
        switch self {
        case let .secretCreated(arn, name, accountId, description, kmsKeyId, tags, date):
            writer.byte(Kind.secretCreated.rawValue)
            writer.string(arn)
            writer.string(name)
            writer.string(accountId)
            writer.optional(description) { $0.string($1) }
            writer.optional(kmsKeyId) { $0.string($1) }
            writer.array(tags) { $0.tag($1) }
            writer.int(date)
        case let .versionAdded(arn, version, moves, date):
            writer.byte(Kind.versionAdded.rawValue)
            writer.string(arn)
            writer.version(version)
            writer.array(moves) { $0.move($1) }
            writer.int(date)
        case let .versionsRemoved(arn, ids):
            writer.byte(Kind.versionsRemoved.rawValue)
            writer.string(arn)
            writer.array(ids) { $0.string($1) }
        case let .labelsMoved(arn, moves, date):
            writer.byte(Kind.labelsMoved.rawValue)
            writer.string(arn)
            writer.array(moves) { $0.move($1) }
            writer.int(date)
        case let .metadataUpdated(arn, description, kmsKeyId, date):
            writer.byte(Kind.metadataUpdated.rawValue)
            writer.string(arn)
            writer.optional(description) { $0.string($1) }
            writer.optional(kmsKeyId) { $0.string($1) }
            writer.int(date)
        case let .secretDeleted(arn, deletionDate):
            writer.byte(Kind.secretDeleted.rawValue)
            writer.string(arn)
            writer.int(deletionDate)
        case let .secretRestored(arn, date):
            writer.byte(Kind.secretRestored.rawValue)
            writer.string(arn)
            writer.int(date)
        case let .secretPurged(arn):
            writer.byte(Kind.secretPurged.rawValue)
            writer.string(arn)
        case let .tagsSet(arn, tags, date):
            writer.byte(Kind.tagsSet.rawValue)
            writer.string(arn)
            writer.array(tags) { $0.tag($1) }
            writer.int(date)
        case let .policySet(arn, policy, date):
            writer.byte(Kind.policySet.rawValue)
            writer.string(arn)
            writer.optional(policy) { $0.string($1) }
            writer.int(date)
        case let .rotationSet(arn, rotation, date):
            writer.byte(Kind.rotationSet.rawValue)
            writer.string(arn)
            writer.rotation(rotation)
            writer.int(date)
        case let .secretAccessed(arn, day):
            writer.byte(Kind.secretAccessed.rawValue)
            writer.string(arn)
            writer.int(day)
        case let .versionAccessed(arn, versionId, day):
            writer.byte(Kind.versionAccessed.rawValue)
            writer.string(arn)
            writer.string(versionId)
            writer.int(day)
        case let .valuesResealed(arn, values, date):
            writer.byte(Kind.valuesResealed.rawValue)
            writer.string(arn)
            writer.array(values) { writer, value in
                writer.string(value.versionId)
                writer.sealed(value.sealed)
            }
            writer.int(date)
        case let .replicationSet(arn, replicas):
            writer.byte(Kind.replicationSet.rawValue)
            writer.string(arn)
            writer.array(replicas) { $0.replica($1) }
        case let .replicaSeeded(region, force, secret):
            writer.byte(Kind.replicaSeeded.rawValue)
            writer.string(region)
            writer.bool(force)
            writer.secret(secret)
        case let .replicaRemoved(arn, region):
            writer.byte(Kind.replicaRemoved.rawValue)
            writer.string(arn)
            writer.string(region)
        case let .replicaPromoted(arn, date):
            writer.byte(Kind.replicaPromoted.rawValue)
            writer.string(arn)
            writer.int(date)
        case let .noticeAcknowledged(arn, region, notice):
            writer.byte(Kind.noticeAcknowledged.rawValue)
            writer.string(arn)
            writer.string(region)
            writer.notice(notice)
        case let .replicatedThrough(region, epoch, lsn):
            writer.byte(Kind.replicatedThrough.rawValue)
            writer.string(region)
            writer.varint(epoch)
            writer.varint(lsn)
        case let .replicaNoticeSet(region, primaryARN, notice):
            writer.byte(Kind.replicaNoticeSet.rawValue)
            writer.string(region)
            writer.string(primaryARN)
            writer.optional(notice) { $0.notice($1) }
        case let .replicasDropped(region):
            writer.byte(Kind.replicasDropped.rawValue)
            writer.string(region)
        }
        return writer.bytes
    }

    /// Decodes what `encode()` produced; any other input is an error, never a trap.
    public static func decode(_ bytes: [UInt8]) -> Result<Fact, SecretStoreDecodingError> {
        var reader = ByteReader(bytes)
        do throws(SecretStoreDecodingError) {
            let fact = try decode(from: &reader)
            try reader.expectEnd()
            return .success(fact)
        } catch {
            return .failure(error)
        }
    }

    private static func decode(from reader: inout ByteReader) throws(SecretStoreDecodingError) -> Fact {
        let format = try reader.byte()
        guard (1...formatVersion).contains(format) else { throw reader.failure("unknown fact format \(format)") }
        reader.layout = format
        let rawKind = try reader.byte()
        guard let kind = Kind(rawValue: rawKind), format >= 2 || kind.rawValue <= Kind.valuesResealed.rawValue,
              format >= 4 || kind != .versionAccessed else {
            throw reader.failure("unknown fact kind \(rawKind)")
        }
        switch kind {
        case .secretCreated:
            return .secretCreated(
                arn: try reader.string(), name: try reader.string(), accountId: try reader.string(),
                description: try reader.optionalString(), kmsKeyId: try reader.optionalString(),
                tags: try reader.tags(), date: try reader.int())
        case .versionAdded:
            return .versionAdded(arn: try reader.string(), version: try reader.version(), moves: try reader.moves(),
                                 date: try reader.int())
        case .versionsRemoved:
            return .versionsRemoved(arn: try reader.string(), versionIds: try reader.strings())
        case .labelsMoved:
            return .labelsMoved(arn: try reader.string(), moves: try reader.moves(), date: try reader.int())
        case .metadataUpdated:
            return .metadataUpdated(arn: try reader.string(), description: try reader.optionalString(),
                                    kmsKeyId: try reader.optionalString(), date: try reader.int())
        case .secretDeleted:
            return .secretDeleted(arn: try reader.string(), deletionDate: try reader.int())
        case .secretRestored:
            return .secretRestored(arn: try reader.string(), date: try reader.int())
        case .secretPurged:
            return .secretPurged(arn: try reader.string())
        case .tagsSet:
            return .tagsSet(arn: try reader.string(), tags: try reader.tags(), date: try reader.int())
        case .policySet:
            return .policySet(arn: try reader.string(), policy: try reader.optionalString(), date: try reader.int())
        case .rotationSet:
            return .rotationSet(arn: try reader.string(), rotation: try reader.rotation(), date: try reader.int())
        case .secretAccessed:
            return .secretAccessed(arn: try reader.string(), day: try reader.int())
        case .versionAccessed:
            return .versionAccessed(arn: try reader.string(), versionId: try reader.string(), day: try reader.int())
        case .valuesResealed:
            return .valuesResealed(
                arn: try reader.string(),
                values: try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                    ResealedValue(versionId: try reader.string(), sealed: try reader.sealed())
                },
                date: try reader.int())
        case .replicationSet:
            return .replicationSet(arn: try reader.string(), replicas: try reader.replicas())
        case .replicaSeeded:
            let region = try reader.string()
            let force = try reader.bool()
            let secret = try reader.secret()
            guard secret.isWellFormed else { throw reader.failure("secret \(secret.arn) breaks an invariant") }
            return .replicaSeeded(region: region, forceOverwrite: force, secret: secret)
        case .replicaRemoved:
            return .replicaRemoved(arn: try reader.string(), region: try reader.string())
        case .replicaPromoted:
            return .replicaPromoted(arn: try reader.string(), date: try reader.int())
        case .noticeAcknowledged:
            return .noticeAcknowledged(arn: try reader.string(), region: try reader.string(), notice: try reader.notice())
        case .replicatedThrough:
            return .replicatedThrough(sourceRegion: try reader.string(), epoch: try reader.varint(), lsn: try reader.varint())
        case .replicaNoticeSet:
            return .replicaNoticeSet(
                sourceRegion: try reader.string(), primaryARN: try reader.string(),
                notice: try reader.optional { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.notice() })
        case .replicasDropped:
            return .replicasDropped(sourceRegion: try reader.string())
        }
    }
}

extension Fact {
    /// Format of a decision record (the facts of one write, logged as one journal record).
    static let listFormatVersion: UInt8 = 1

    /// One write's facts as one record body: a format byte, then each fact length-prefixed.
    public static func encode(list facts: [Fact]) -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(listFormatVersion)
        writer.array(facts) { $0.raw($1.encode()) }
        return writer.bytes
    }

    /// Decodes what `encode(list:)` produced; any other input is an error, never a trap.
    public static func decodeList(_ bytes: [UInt8]) -> Result<[Fact], SecretStoreDecodingError> {
        var reader = ByteReader(bytes)
        do throws(SecretStoreDecodingError) {
            let format = try reader.byte()
            guard format == listFormatVersion else { throw reader.failure("unknown decision record format \(format)") }
            let facts = try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                try decode(try reader.raw()).get()
            }
            try reader.expectEnd()
            return .success(facts)
        } catch {
            return .failure(error)
        }
    }
}

extension Fact {
    /// Format of a routed decision record: each fact with the regions it ships to.
    static let routedFormatVersion: UInt8 = 1

    /// One write's facts with their routes (`SecretState.routes(for:)`) as one record body.
    public static func encode(routed facts: [Fact], routes: [[String]]) -> [UInt8] {
        precondition(facts.count == routes.count, "one route list per fact")
        var writer = ByteWriter()
        writer.byte(routedFormatVersion)
        writer.count(facts.count)
        for (fact, regions) in zip(facts, routes) {
            writer.array(regions) { $0.string($1) }
            writer.raw(fact.encode())
        }
        return writer.bytes
    }

    /// Decodes what `encode(routed:routes:)` produced; any other input is an error, never a trap.
    public static func decodeRouted(_ bytes: [UInt8]) -> Result<[(fact: Fact, routes: [String])], SecretStoreDecodingError> {
        var reader = ByteReader(bytes)
        do throws(SecretStoreDecodingError) {
            let format = try reader.byte()
            guard format == routedFormatVersion else { throw reader.failure("unknown routed record format \(format)") }
            let entries = try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                let regions = try reader.strings()
                return (fact: try decode(try reader.raw()).get(), routes: regions)
            }
            try reader.expectEnd()
            return .success(entries)
        } catch {
            return .failure(error)
        }
    }

    /// The fact with every sealed value passed through `transform` (with its secret's ARN and
    /// its VersionId): how values are exported for shipping.
    public func mapSealedValues<E: Error>(
        _ given: (SealedValue, _ arn: String, _ versionId: String) throws(E) -> SealedValue
    ) throws(E) -> Fact {
        // A rotation's version without a value yet has nothing to transform (no ciphertext,
        // no data key): it travels as it is.
        func transform(_ value: SealedValue, _ arn: String, _ versionId: String) throws(E) -> SealedValue {
            value.isAbsent ? value : try given(value, arn, versionId)
        }
        switch self {
        case let .versionAdded(arn, version, moves, date):
            var copy = version
            copy.sealed = try transform(version.sealed, arn, version.versionId)
            return .versionAdded(arn: arn, version: copy, moves: moves, date: date)
        case let .replicaSeeded(region, force, secret):
            var copy = secret
            for index in copy.versions.indices {
                copy.versions[index].sealed = try transform(copy.versions[index].sealed, secret.arn, copy.versions[index].versionId)
            }
            return .replicaSeeded(region: region, forceOverwrite: force, secret: copy)
        case let .valuesResealed(arn, values, date):
            var copies = values
            for index in copies.indices {
                copies[index].sealed = try transform(copies[index].sealed, arn, copies[index].versionId)
            }
            return .valuesResealed(arn: arn, values: copies, date: date)
        default:
            return self
        }
    }
}
