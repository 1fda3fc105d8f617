extension SecretState {
    /// "SRS1": before replication (layout 1, no sources); "SRS2": before replicas' access days
    /// (layout 2); "SRS3": before `Secret.everTagged` (layout 3); "SRS4" since. All are read.
    static let snapshotMagicV1: [UInt8] = Array("SRS1".utf8)
    static let snapshotMagicV2: [UInt8] = Array("SRS2".utf8)
    static let snapshotMagicV3: [UInt8] = Array("SRS3".utf8)
    static let snapshotMagic: [UInt8] = Array("SRS4".utf8)

    /// A snapshot: magic, every secret in creation order (the name and listing indexes are
    /// derived), then each replication source's progress in region order.
    public func encode() -> [UInt8] { encode(layout: 4) }

    /// A snapshot in layout 3 ("SRS3", secrets without `everTagged`) or 4: the older one only
    /// for the tests that show the older snapshots still decode.
    package func encode(layout: UInt8) -> [UInt8] {
        precondition(layout == 3 || layout == 4, "snapshots are written in layout 3 or 4")
        var writer = ByteWriter()
        writer.layout = layout
        for byte in layout == 4 ? Self.snapshotMagic : Self.snapshotMagicV3 { writer.byte(byte) }
        // In creation order (ties by ARN), the listing index's main order: sorting it again
        // when the snapshot is loaded is then a single pass.
        writer.array(secrets.values.sorted { ($0.createdDate, $0.arn) < ($1.createdDate, $1.arn) }) { $0.secret($1) }
        writer.array(sources.sorted { $0.key < $1.key }) { writer, entry in
            writer.string(entry.key)
            writer.varint(entry.value.epoch)
            writer.varint(entry.value.lsn)
            writer.array(entry.value.notices.sorted { $0.key < $1.key }) { writer, notice in
                writer.string(notice.key)
                writer.notice(notice.value)
            }
        }
        return writer.bytes
    }

    /// Decodes a snapshot. Refuses garbage, trailing bytes, and states that break the store's
    /// invariants (a duplicate ARN or name; a label on two versions; a duplicate VersionId).
    public static func decode(_ bytes: [UInt8]) -> Result<SecretState, SecretStoreDecodingError> {
        var reader = ByteReader(bytes)
        do throws(SecretStoreDecodingError) {
            let magic = [try reader.byte(), try reader.byte(), try reader.byte(), try reader.byte()]
            switch magic {
            case snapshotMagic: reader.layout = 4
            case snapshotMagicV3: reader.layout = 3
            case snapshotMagicV2: reader.layout = 2
            case snapshotMagicV1: reader.layout = 1
            default: throw reader.failure("not a SecretState snapshot")
            }
            var state = SecretState()
            let count = try reader.count()
            state.reserve(count)
            for _ in 0..<count {
                let secret = try reader.secret()
                guard secret.isWellFormed else { throw reader.failure("secret \(secret.arn) breaks an invariant") }
                guard state.load(secret) else { throw reader.failure("duplicate secret ARN or name") }
            }
            var sources: [String: SourceProgress] = [:]
            if reader.layout >= 2 {
                let entries = try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                    let region = try reader.string()
                    var progress = SourceProgress(epoch: try reader.varint(), lsn: try reader.varint())
                    let notices = try reader.array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
                        (try reader.string(), try reader.notice())
                    }
                    for (arn, notice) in notices { progress.notices[arn] = notice }
                    return (region, progress)
                }
                for (region, progress) in entries {
                    guard sources.updateValue(progress, forKey: region) == nil else {
                        throw reader.failure("replication source \(region) twice")
                    }
                }
            }
            try reader.expectEnd()
            state.finishLoading(sources: sources)
            return .success(state)
        } catch {
            return .failure(error)
        }
    }
}

extension Secret {
    /// Each label on at most one version, each VersionId once.
    public var isWellFormed: Bool {
        // Pairwise for the usual few versions and labels (sets were a tenth of a restart).
        if versions.count <= 16 {
            var labels: [String] = []
            for (index, version) in versions.enumerated() {
                for other in versions[(index + 1)...] where other.id == version.id { return false }
                for label in version.stages {
                    guard !labels.contains(label) else { return false }
                    labels.append(label)
                }
            }
            return true
        }
        var ids = Set<VersionID>()
        var labels = Set<String>()
        for version in versions {
            guard ids.insert(version.id).inserted else { return false }
            for label in version.stages {
                guard labels.insert(label).inserted else { return false }
            }
        }
        return true
    }
}
