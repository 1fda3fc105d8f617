extension Fact {
    /// Format of a fact record; bumped when the layout changes.
    static let formatVersion: UInt8 = 1

    private enum Kind: UInt8 {
        case secretCreated = 1, versionAdded, versionsRemoved, labelsMoved, metadataUpdated, secretDeleted,
             secretRestored, secretPurged, tagsSet, policySet, rotationSet, secretAccessed,
             valuesResealed
    }

    /// The journal record body: deterministic bytes (the same fact always encodes the same).
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(Self.formatVersion)
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
        case let .valuesResealed(arn, values, date):
            writer.byte(Kind.valuesResealed.rawValue)
            writer.string(arn)
            writer.array(values) { writer, value in
                writer.string(value.versionId)
                writer.sealed(value.sealed)
            }
            writer.int(date)
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
        guard format == formatVersion else { throw reader.failure("unknown fact format \(format)") }
        let rawKind = try reader.byte()
        guard let kind = Kind(rawValue: rawKind) else { throw reader.failure("unknown fact kind \(rawKind)") }
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
        case .valuesResealed:
            return .valuesResealed(
                arn: try reader.string(),
                values: try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                    ResealedValue(versionId: try reader.string(), sealed: try reader.sealed())
                },
                date: try reader.int())
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
