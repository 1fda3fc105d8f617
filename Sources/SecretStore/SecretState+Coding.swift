extension SecretState {
    static let snapshotMagic: [UInt8] = Array("SRS1".utf8)

    /// A snapshot: magic, then every secret in ARN order (the name index is derived).
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        for byte in Self.snapshotMagic { writer.byte(byte) }
        writer.array(secrets.values.sorted { $0.arn < $1.arn }) { $0.secret($1) }
        return writer.bytes
    }

    /// Decodes a snapshot. Refuses garbage, trailing bytes, and states that break the store's
    /// invariants (a duplicate ARN or name; a label on two versions; a duplicate VersionId).
    public static func decode(_ bytes: [UInt8]) -> Result<SecretState, SecretStoreDecodingError> {
        var reader = ByteReader(bytes)
        do throws(SecretStoreDecodingError) {
            for byte in snapshotMagic {
                guard try reader.byte() == byte else { throw reader.failure("not a SecretState snapshot") }
            }
            let list = try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                let secret = try reader.secret()
                guard secret.isWellFormed else { throw reader.failure("secret \(secret.arn) breaks an invariant") }
                return secret
            }
            try reader.expectEnd()
            guard let state = SecretState(secretList: list) else {
                throw reader.failure("duplicate secret ARN or name")
            }
            return .success(state)
        } catch {
            return .failure(error)
        }
    }
}

extension Secret {
    /// Each label on at most one version, each VersionId once.
    public var isWellFormed: Bool {
        var ids = Set<String>()
        var labels = Set<String>()
        for version in versions {
            guard ids.insert(version.versionId).inserted else { return false }
            for label in version.stages {
                guard labels.insert(label).inserted else { return false }
            }
        }
        return true
    }
}
