/// Replication's decisions, pure: which regions each fact ships to (the primary side), what a
/// replica region makes of the facts it receives (the replica side), and the notices between.
///
/// A secret's primary region decides everything about it; its facts ship to the regions in its
/// replica set, which apply them as their own copies (same VersionIds, labels and dates, the
/// ARN's region their own). A secret never leaves its region unless replicated: the routes say
/// exactly which facts go where, and are decided with the write, so shipping needs no state.

/// A replica region requested by CreateSecret's or ReplicateSecretToRegions' `AddReplicaRegions`.
public struct ReplicaRegion: Sendable, Hashable {
    public var region: String
    /// A key of the replica region's keyring; nil for that region's `alias/aws/secretsmanager`.
    public var kmsKeyId: String?

    public init(region: String, kmsKeyId: String?) {
        self.region = region
        self.kmsKeyId = kmsKeyId
    }
}

extension SecretStoreError {
    /// A write sent to a replica region (AWS's wording).
    public static let replicaReadOnly = SecretStoreError(
        code: invalidRequest,
        message: "Operation not permitted on a replica secret. Call must be made in primary secret's region.")

    /// A replica region equal to the secret's own region.
    public static let invalidReplicaRegion = SecretStoreError(code: invalidParameter, message: "Invalid replica region.")

    /// DeleteSecret on a primary that still has replicas.
    public static func stillReplicated(_ secretId: String, regions: [String]) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "You can't delete secret \(secretId) that still has replica regions [\(regions.joined(separator: ", "))]")
    }

    /// StopReplicationToReplica on a secret that is not a replica.
    public static let notAReplica = SecretStoreError(
        code: invalidRequest,
        message: "StopReplicationToReplica can only be called on a replica secret, in the replica's region.")

    /// RemoveRegionsFromReplication naming a region the secret is not replicated to.
    public static func notReplicatedTo(_ region: String) -> SecretStoreError {
        SecretStoreError(code: invalidParameter, message: "The secret isn't replicated to region \(region).")
    }
}

extension ReplicaStatus {
    /// The StatusMessage of a replica the replica region confirmed.
    public static let succeededMessage = "Replication succeeded"

    /// The StatusMessage of a replica refused for a name clash in its region.
    public static func nameClashMessage(name: String, region: String) -> String {
        "Replication failed: Secret name \(name) already exists in region \(region)."
    }

    /// The StatusMessage of a replica that a forced copy from another region replaced.
    public static func overwrittenMessage(region: String, by source: String) -> String {
        "Replication failed: the replica in \(region) was overwritten by a secret replicated from \(source) with ForceOverwriteReplicaSecret."
    }
}

extension Names {
    /// The region of a secret ARN.
    public static func region(of arn: String) -> String? {
        parseARN(arn)?.region
    }

    /// The ARN with its region replaced (a replica's ARN is its primary's in the replica region).
    public static func arn(_ arn: String, inRegion region: String) -> String {
        guard let parsed = parseARN(arn) else { return arn }
        return "arn:aws:secretsmanager:\(region):\(parsed.accountId):secret:\(parsed.rest)"
    }
}

// MARK: - The primary side

extension SecretState {
    /// The regions each fact ships to, in order, decided against this state (the state the
    /// facts were decided against) with the replica-set changes among the facts themselves.
    ///
    /// - A copy (`replicaSeeded`), a removal and a notice acknowledgement go to their region.
    /// - A change to a primary secret goes to every replica region whose copy did not fail.
    /// - The replica list itself, access days, key re-wraps and replica-side bookkeeping stay.
    public func routes(for facts: [Fact]) -> [[String]] {
        var replicaSets: [String: [ReplicaStatus]] = [:]
        return facts.map { fact -> [String] in
            switch fact {
            case let .replicationSet(arn, replicas):
                replicaSets[arn] = replicas
                return []
            case let .replicaSeeded(region, _, secret):
                // A replica region's own copy (from its intake) goes nowhere.
                return secret.isReplica ? [] : [region]
            case let .replicaRemoved(arn, region):
                return secrets[arn]?.isReplica == true ? [] : [region]
            case let .noticeAcknowledged(_, region, _):
                return [region]
            case .secretCreated, .secretAccessed, .versionAccessed, .valuesResealed, .replicaPromoted, .replicatedThrough,
                 .replicaNoticeSet, .replicasDropped:
                return []
            case .versionAdded, .versionsRemoved, .labelsMoved, .metadataUpdated, .secretDeleted, .secretRestored,
                 .secretPurged, .tagsSet, .policySet, .rotationSet:
                let arn = fact.arn
                guard let secret = secrets[arn], !secret.isReplica else { return [] }
                return (replicaSets[arn] ?? secret.replicas).filter { $0.state != .failed }.map(\.region)
            }
        }
    }

    /// CreateSecret's and ReplicateSecretToRegions' replicas: the new replica list and a copy
    /// of `secret` (as it is after `facts`) for each region newly added. A region already
    /// replicated is left alone unless its copy failed (then it is tried again).
    func addReplicas(
        _ requested: [ReplicaRegion], forceOverwrite: Bool, to secret: Secret, after facts: [Fact], context: DecisionContext
    ) throws(SecretStoreError) -> (facts: [Fact], statuses: [ReplicaStatus]) {
        var replicas = secret.replicas
        var added: [ReplicaStatus] = []
        for request in requested {
            guard request.region != context.region, !request.region.isEmpty else { throw .invalidReplicaRegion }
            let status = ReplicaStatus(region: request.region, kmsKeyId: request.kmsKeyId, state: .inProgress)
            if let index = replicas.firstIndex(where: { $0.region == request.region }) {
                guard replicas[index].state == .failed else { continue }
                replicas[index] = status
            } else {
                replicas.append(status)
            }
            if !added.contains(where: { $0.region == request.region }) { added.append(status) }
        }
        guard !added.isEmpty else { return ([], replicas.filter { r in requested.contains { $0.region == r.region } }) }
        // The copy: the secret as the facts leave it, with its new replica list.
        var scratch = SecretState()
        scratch.apply(.replicaSeeded(region: "", forceOverwrite: false, secret: secret))
        for fact in facts { scratch.apply(fact) }
        scratch.apply(.replicationSet(arn: secret.arn, replicas: replicas))
        guard var copy = scratch.secrets[secret.arn] else { return ([], []) }
        // The log records the copy without its values (versions never change once written):
        // the shipper fills them in from its state (`filledCopy`), so that a secret of a hundred
        // 64 KiB versions added to several regions stays a small record here.
        for index in copy.versions.indices { copy.versions[index].sealed = SealedValue.omitted(kind: copy.versions[index].sealed.kind) }
        var out: [Fact] = [.replicationSet(arn: secret.arn, replicas: replicas)]
        for status in added {
            out.append(.replicaSeeded(region: status.region, forceOverwrite: forceOverwrite, secret: copy))
        }
        return (out, added)
    }

    /// RemoveRegionsFromReplication: the remaining replica list, and a removal for each region.
    func removeReplicas(_ regions: [String], from secret: Secret) throws(SecretStoreError) -> [Fact] {
        for region in regions where !secret.replicas.contains(where: { $0.region == region }) {
            throw .notReplicatedTo(region)
        }
        let remaining = secret.replicas.filter { !regions.contains($0.region) }
        var facts: [Fact] = [.replicationSet(arn: secret.arn, replicas: remaining)]
        var seen = Set<String>()
        for region in regions where seen.insert(region).inserted {
            facts.append(.replicaRemoved(arn: secret.arn, region: region))
        }
        return facts
    }

    /// A replica region's notices, recorded on the primary: its replica status set (InSync,
    /// Failed, the day the copy was last read, or the region dropped after a promotion there), and each notice acknowledged back
    /// to the region so that it stops sending it. Notices about secrets gone or no longer
    /// replicated there are only acknowledged.
    public func recordNotices(_ notices: [String: ReplicaNotice], from region: String) -> [Fact] {
        var facts: [Fact] = []
        for (arn, notice) in notices.sorted(by: { $0.key < $1.key }) {
            if let secret = secrets[arn], !secret.isReplica,
               let index = secret.replicas.firstIndex(where: { $0.region == region }) {
                var replicas = secret.replicas
                var removals: [Fact] = []
                if let day = notice.accessedDay, day > replicas[index].lastAccessedDate ?? .min {
                    replicas[index].lastAccessedDate = day
                }
                switch notice.kind {
                case .seeded:
                    if replicas[index].state == .inProgress {
                        replicas[index].state = .inSync
                        replicas[index].message = ReplicaStatus.succeededMessage
                    } else if replicas[index].state == .failed {
                        // A copy sent before its region's failure was recorded here (a snapshot
                        // catch-up racing the notice) took there after all. Nothing is shipped
                        // to a Failed region, so that copy would only grow stale: it goes, and
                        // the region stays Failed until ReplicateSecretToRegions tries again.
                        removals.append(.replicaRemoved(arn: arn, region: region))
                    }
                case .failed:
                    replicas[index].state = .failed
                    replicas[index].message = notice.message
                case .promoted:
                    replicas.remove(at: index)
                    // Said to the region too: a copy sent after its promotion and before this
                    // notice was recorded (a snapshot catch-up, a seed) would otherwise stay
                    // there as an orphan this region no longer ships to. Its promoted secret
                    // is not a replica, so the removal leaves it alone.
                    removals.append(.replicaRemoved(arn: arn, region: region))
                case .accessed:
                    break
                }
                if replicas != secret.replicas { facts.append(.replicationSet(arn: arn, replicas: replicas)) }
                facts += removals
            }
            facts.append(.noticeAcknowledged(arn: arn, region: region, notice: notice))
        }
        return facts
    }
}

extension Fact {
    /// The fact as it is shipped to a replica region: a copy's replica list without the other
    /// regions' access days. The replica keeps no replica list (it reads only its own region's
    /// key from it), and the days would make the fact need format 3, which a node of the
    /// previous version cannot read.
    public var forShipping: Fact {
        guard case let .replicaSeeded(region, force, secret) = self,
              secret.replicas.contains(where: { $0.lastAccessedDate != nil }) else { return self }
        var copy = secret
        for index in copy.replicas.indices { copy.replicas[index].lastAccessedDate = nil }
        return .replicaSeeded(region: region, forceOverwrite: force, secret: copy)
    }
}

extension SealedValue {
    /// A value left out of a logged copy (see `SecretState.filledCopy`).
    public static func omitted(kind: Kind) -> SealedValue {
        SealedValue(kind: kind, envelope: [], keyId: "", equalityToken: [])
    }

    /// No value yet: the version a rotation creates for its `ClientRequestToken` carries
    /// AWSPENDING and no value until the rotation function's createSecret step puts one (as AWS
    /// does). It is written as an omitted value is, so a logged copy filled in from the state
    /// (`filledCopy`) carries it as it is there.
    public static let absent = SealedValue(kind: .string, envelope: [], keyId: "", equalityToken: [])

    /// True for a version without a value (see `absent`); GetSecretValue does not find it.
    public var isAbsent: Bool { envelope.isEmpty && keyId.isEmpty }
}

extension SecretState {
    /// A logged copy (`replicaSeeded`) with its versions' values as this state holds them:
    /// versions never change, so the values are the ones the copy was made with. A version
    /// removed since is left out (the record that removed it follows the copy), and a secret
    /// gone since has no copy to send (nil).
    public func filledCopy(_ copy: Secret) -> Secret? {
        guard let current = secrets[copy.arn], !current.isReplica else { return nil }
        var filled = copy
        filled.versions = copy.versions.compactMap { version in
            guard version.sealed.keyId.isEmpty else { return version }
            guard let stored = current.versions.last(where: { $0.id == version.id }) else { return nil }
            var out = version
            out.sealed = stored.sealed
            return out
        }
        return filled
    }
}

// MARK: - The replica side

/// Wraps a value received in transfer form (version `versionId`) under the replica region's key `kmsKeyId` (nil: the
/// region's default key) of `accountId`; a failure's text becomes the replica's Failed status.
public typealias ReplicaSealer = (_ value: SealedValue, _ versionId: String, _ kmsKeyId: String?, _ accountId: String)
    -> Result<SealedValue, ReplicaSealingFailure>

/// Why a received value could not be wrapped in the replica region (a missing key, a value that
/// does not verify).
public struct ReplicaSealingFailure: Error, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

extension SecretState {
    /// What this replica region (`localRegion`) records for one record of `sourceRegion`'s log
    /// at (`epoch`, `lsn`): its facts as facts about the local copies (ARNs in this region,
    /// values wrapped by `seal`), the notices for the source, and the new position.
    ///
    /// Facts about secrets this region does not hold as replicas of that source (never copied,
    /// refused, promoted) are dropped. A copy whose name is taken here by another secret is
    /// refused with a Failed notice, unless it was sent with ForceOverwriteReplicaSecret, which
    /// purges the other secret first. Records at or before the position already applied are
    /// ignored (idempotent redelivery).
    ///
    /// A value that cannot be wrapped here (its key left this region's keyring, or it does not
    /// verify) fails that secret only: a copy refuses to start, and a copy that cannot take a
    /// new version is removed rather than left serving an old AWSCURRENT. Either way the source
    /// hears a Failed notice, stops shipping that secret here, and the other secrets go on;
    /// ReplicateSecretToRegions tries the region again.
    public func intake(
        _ facts: [Fact], from sourceRegion: String, epoch: UInt64, lsn: UInt64, localRegion: String,
        seal: ReplicaSealer, snapshot: Bool = false
    ) -> [Fact] {
        // A snapshot replaces whatever this region holds of the source, wherever its position was.
        if !snapshot, let progress = sources[sourceRegion], progress.epoch == epoch, lsn <= progress.lsn { return [] }
        var out: [Fact] = []
        for fact in facts {
            out += intake(fact, from: sourceRegion, localRegion: localRegion, seal: seal)
        }
        out.append(.replicatedThrough(sourceRegion: sourceRegion, epoch: epoch, lsn: lsn))
        return out
    }

    /// A snapshot catch-up's end: the replicas of `sourceRegion` that the snapshot did not copy
    /// (`copied`, local ARNs) are gone there, so they go here too.
    public func intakeSnapshotEnd(from sourceRegion: String, copied: Set<String>, localRegion: String) -> [Fact] {
        secrets.values
            .filter { $0.primaryRegion == sourceRegion && !copied.contains($0.arn) }
            .map(\.arn).sorted()
            .map { .replicaRemoved(arn: $0, region: localRegion) }
    }

    /// A replica copy read on a new `day`: the notice that tells its primary, for the
    /// `LastAccessedDate` of its ReplicationStatus. A notice still pending for that secret (a
    /// copy's confirmation) is amended, not replaced; nil for a secret that is not a replica.
    func accessNotice(for secret: Secret, day: Int64) -> Fact? {
        guard let source = secret.primaryRegion else { return nil }
        let primaryARN = Names.arn(secret.arn, inRegion: source)
        var notice = sources[source]?.notices[primaryARN] ?? ReplicaNotice(kind: .accessed)
        notice.accessedDay = day
        return .replicaNoticeSet(sourceRegion: source, primaryARN: primaryARN, notice: notice)
    }

    private func isReplica(_ arn: String, of sourceRegion: String) -> Bool {
        secrets[arn]?.primaryRegion == sourceRegion
    }

    private func intake(_ fact: Fact, from source: String, localRegion: String, seal: ReplicaSealer) -> [Fact] {
        let primaryARN = fact.arn
        let local = Names.arn(primaryARN, inRegion: localRegion)
        switch fact {
        case let .replicaSeeded(region, force, secret):
            guard region == localRegion else { return [] }
            return intakeCopy(secret, force: force, from: source, localRegion: localRegion, seal: seal)
        case let .replicaRemoved(_, region):
            guard region == localRegion else { return [] }
            var out: [Fact] = []
            if isReplica(local, of: source) { out.append(.replicaRemoved(arn: local, region: region)) }
            if sources[source]?.notices[primaryARN] != nil {
                out.append(.replicaNoticeSet(sourceRegion: source, primaryARN: primaryARN, notice: nil))
            }
            return out
        case let .noticeAcknowledged(_, region, notice):
            guard region == localRegion, sources[source]?.notices[primaryARN] == notice else { return [] }
            return [.replicaNoticeSet(sourceRegion: source, primaryARN: primaryARN, notice: nil)]
        case .secretCreated, .secretAccessed, .versionAccessed, .valuesResealed, .replicationSet, .replicaPromoted, .replicatedThrough,
             .replicaNoticeSet, .replicasDropped:
            return []
        case let .versionAdded(_, version, moves, date):
            guard let secret = secrets[local], secret.primaryRegion == source else { return [] }
            var copy = version
            // A rotation's version without a value yet has nothing to wrap.
            if version.sealed.isAbsent { return [.versionAdded(arn: local, version: copy, moves: moves, date: date)] }
            switch seal(version.sealed, version.versionId, secret.kmsKeyId, secret.accountId) {
            case .success(let sealed): copy.sealed = sealed
            case .failure(let failure):
                return [.replicaRemoved(arn: local, region: localRegion),
                        .replicaNoticeSet(sourceRegion: source, primaryARN: primaryARN,
                                          notice: ReplicaNotice(kind: .failed, message: "Replication failed: \(failure.message)"))]
            }
            return [.versionAdded(arn: local, version: copy, moves: moves, date: date)]
        case let .versionsRemoved(_, ids):
            return isReplica(local, of: source) ? [.versionsRemoved(arn: local, versionIds: ids)] : []
        case let .labelsMoved(_, moves, date):
            return isReplica(local, of: source) ? [.labelsMoved(arn: local, moves: moves, date: date)] : []
        case let .metadataUpdated(_, description, _, date):
            // The replica keeps its own key: only the description travels.
            return isReplica(local, of: source)
                ? [.metadataUpdated(arn: local, description: description, kmsKeyId: nil, date: date)] : []
        case let .secretDeleted(_, deletionDate):
            return isReplica(local, of: source) ? [.secretDeleted(arn: local, deletionDate: deletionDate)] : []
        case let .secretRestored(_, date):
            return isReplica(local, of: source) ? [.secretRestored(arn: local, date: date)] : []
        case .secretPurged:
            return isReplica(local, of: source) ? [.secretPurged(arn: local)] : []
        case let .tagsSet(_, tags, date):
            return isReplica(local, of: source) ? [.tagsSet(arn: local, tags: tags, date: date)] : []
        case let .policySet(_, policy, date):
            return isReplica(local, of: source) ? [.policySet(arn: local, policy: policy, date: date)] : []
        case let .rotationSet(_, rotation, date):
            return isReplica(local, of: source) ? [.rotationSet(arn: local, rotation: rotation, date: date)] : []
        }
    }

    private func intakeCopy(
        _ secret: Secret, force: Bool, from source: String, localRegion: String, seal: ReplicaSealer
    ) -> [Fact] {
        let primaryARN = secret.arn
        let local = Names.arn(primaryARN, inRegion: localRegion)
        func failed(_ message: String) -> [Fact] {
            // A copy of this secret already here (a snapshot sending it again) goes too: the
            // primary stops shipping a Failed region, so it would only grow stale.
            let stale: [Fact] = isReplica(local, of: source) ? [.replicaRemoved(arn: local, region: localRegion)] : []
            return stale + [.replicaNoticeSet(sourceRegion: source, primaryARN: primaryARN,
                                              notice: ReplicaNotice(kind: .failed, message: message))]
        }
        var out: [Fact] = []
        // Another secret of that name here: a stale copy of the same source is replaced; anything
        // else is a clash, overwritten only when the client asked for it.
        for other in [arn(name: secret.name, accountId: secret.accountId), secrets[local] != nil ? local : nil].compactMap({ $0 }) {
            guard let existing = secrets[other] else { continue }
            if existing.primaryRegion == source { continue }
            guard force else { return failed(ReplicaStatus.nameClashMessage(name: secret.name, region: localRegion)) }
            guard !out.contains(.secretPurged(arn: other)) else { continue }
            out.append(.secretPurged(arn: other))
            // The secret given way may be a replica of a third region: its primary must hear
            // that the copy is gone (a primary here is purged with its own routes).
            if let otherSource = existing.primaryRegion {
                out.append(.replicaNoticeSet(
                    sourceRegion: otherSource, primaryARN: Names.arn(existing.arn, inRegion: otherSource),
                    notice: ReplicaNotice(kind: .failed, message: ReplicaStatus.overwrittenMessage(region: localRegion, by: source))))
            }
        }
        let kmsKeyId = secret.replicas.first { $0.region == localRegion }?.kmsKeyId
        var copy = secret
        copy.arn = local
        copy.primaryRegion = source
        copy.replicas = []
        copy.kmsKeyId = kmsKeyId
        // LastAccessedDate is the region's own: a fresh copy was never read here, and a copy
        // sent again (a snapshot catch-up) keeps the day it has.
        copy.lastAccessedDate = secrets[local].flatMap { $0.primaryRegion == source ? $0.lastAccessedDate : nil }
        // So are its versions' read days.
        let held = secrets[local].flatMap { $0.primaryRegion == source ? $0 : nil }
        for index in copy.versions.indices {
            copy.versions[index].lastAccessedDate = held?.version(id: copy.versions[index].versionId)?.lastAccessedDate
        }
        for index in copy.versions.indices where !copy.versions[index].sealed.isAbsent {
            switch seal(copy.versions[index].sealed, copy.versions[index].versionId, kmsKeyId, secret.accountId) {
            case .success(let sealed): copy.versions[index].sealed = sealed
            case .failure(let failure): return failed("Replication failed: \(failure.message)")
            }
        }
        out.append(.replicaSeeded(region: localRegion, forceOverwrite: force, secret: copy))
        // The confirmation replaces any pending notice, so it carries the copy's access day on.
        out.append(.replicaNoticeSet(sourceRegion: source, primaryARN: primaryARN,
                                     notice: ReplicaNotice(kind: .seeded, accessedDay: copy.lastAccessedDate)))
        return out
    }
}

extension Secret {
    /// What must be equal between a primary secret and its copy in another region: everything
    /// but the ARN's region, the replica bookkeeping, the copy's own key and access day, and how
    /// each value is sealed (each region wraps data keys under its own keyring). The simulator's
    /// convergence checker and the replication tests compare these.
    public var comparableAcrossRegions: Secret {
        var copy = self
        copy.arn = Names.arn(arn, inRegion: "any")
        copy.primaryRegion = nil
        copy.replicas = []
        copy.kmsKeyId = nil
        copy.lastAccessedDate = nil
        for index in copy.versions.indices {
            copy.versions[index].lastAccessedDate = nil
            copy.versions[index].sealed = SealedValue(kind: copy.versions[index].sealed.kind, envelope: copy.versions[index].sealed.envelope,
                                                      keyId: "", equalityToken: [])
        }
        return copy
    }
}
