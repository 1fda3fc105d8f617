/// Decides `command` against `state`: the facts to log, or the AWS error. Pure.
public func decide(_ command: Command, state: SecretState, context: DecisionContext) -> Result<[Fact], SecretStoreError> {
    state.decide(command, context: context)
}

extension SecretState {
    /// Validates `command` against this state and returns the facts that record its outcome, in
    /// the order they must be applied. An empty list is a success that changes nothing (an
    /// idempotent retry, restoring a secret that is not deleted, force-deleting a secret that
    /// does not exist, as AWS answers them).
    public func decide(_ command: Command, context: DecisionContext) -> Result<[Fact], SecretStoreError> {
        do throws(SecretStoreError) {
            return .success(try facts(for: command, context: context))
        } catch {
            return .failure(error)
        }
    }

    private func find(_ secretId: String, _ context: DecisionContext) throws(SecretStoreError) -> Secret {
        try lookup(secretId, accountId: context.accountId, region: context.region).get()
    }

    /// The secret, refused when it is scheduled for deletion.
    private func findLive(_ secretId: String, _ context: DecisionContext) throws(SecretStoreError) -> Secret {
        let secret = try find(secretId, context)
        if secret.isScheduledForDeletion { throw .markedForDeletion }
        return secret
    }

    /// A secret this region may change: not a replica of another region's.
    private func findOwned(_ secretId: String, _ context: DecisionContext) throws(SecretStoreError) -> Secret {
        let secret = try find(secretId, context)
        if secret.isReplica { throw .replicaReadOnly }
        return secret
    }

    /// A live secret this region may change.
    private func findOwnedLive(_ secretId: String, _ context: DecisionContext) throws(SecretStoreError) -> Secret {
        let secret = try findOwned(secretId, context)
        if secret.isScheduledForDeletion { throw .markedForDeletion }
        return secret
    }

    private func facts(for command: Command, context: DecisionContext) throws(SecretStoreError) -> [Fact] {
        let now = context.now
        switch command {
        case let .createSecret(name, token, description, kmsKeyId, value, tags, replicas, forceOverwrite):
            guard Names.isValidName(name) else { throw .invalidName }
            if let error = Names.checkClientRequestToken(token) { throw error }
            try Self.checkDescription(description)
            if let value { try Self.checkValue(value) }
            let mergedTags = try Self.merge(tags, into: [])
            if let arn = arn(name: name, accountId: context.accountId), let existing = secrets[arn] {
                if existing.isScheduledForDeletion { throw .nameScheduledForDeletion }
                // A retry of the same create (same token, same value) is answered, not refused.
                if let token, let value, let version = existing.version(id: token) {
                    guard version.sealed.sameValue(as: value.sealed) else { throw .tokenInUse(token, arn: arn) }
                    return []
                }
                throw .secretExists(name)
            }
            let arn = Names.arn(region: context.region, accountId: context.accountId, name: name,
                                suffix: context.arnSuffix)
            let created = Secret(arn: arn, name: name, accountId: context.accountId, description: description,
                                 kmsKeyId: kmsKeyId, tags: mergedTags, createdDate: now, lastChangedDate: now)
            var facts: [Fact] = [.secretCreated(arn: arn, name: name, accountId: context.accountId,
                                                description: description, kmsKeyId: kmsKeyId, tags: mergedTags,
                                                date: now)]
            if let value {
                facts += try Self.addVersion(to: created, token: token, value: value, stages: nil, context: context)
            }
            if !replicas.isEmpty {
                facts += try addReplicas(replicas, forceOverwrite: forceOverwrite, to: created, after: Array(facts.dropFirst()),
                                         context: context).facts
            }
            return facts

        case let .putSecretValue(secretId, token, value, stages):
            let secret = try findOwnedLive(secretId, context)
            if let error = Names.checkClientRequestToken(token) { throw error }
            try Self.checkValue(value)
            return try Self.addVersion(to: secret, token: token, value: value, stages: stages, context: context)

        case let .updateSecret(secretId, token, description, kmsKeyId, value, resealed):
            let secret = try findOwnedLive(secretId, context)
            if let error = Names.checkClientRequestToken(token) { throw error }
            try Self.checkDescription(description)
            if let value { try Self.checkValue(value) }
            var facts: [Fact] = []
            if description != nil || kmsKeyId != nil {
                facts.append(.metadataUpdated(arn: secret.arn, description: description, kmsKeyId: kmsKeyId, date: now))
            }
            let known = resealed.filter { secret.version(id: $0.versionId) != nil }
            if kmsKeyId != nil, !known.isEmpty {
                facts.append(.valuesResealed(arn: secret.arn, values: known, date: now))
            }
            if let value {
                facts += try Self.addVersion(to: secret, token: token, value: value, stages: nil, context: context)
            }
            return facts

        case let .updateSecretVersionStage(secretId, label, removeFrom, moveTo):
            let secret = try findOwnedLive(secretId, context)
            return try Self.moveStage(secret, label: label, removeFrom: removeFrom, moveTo: moveTo, now: now)

        case let .deleteSecret(secretId, window, force):
            if let window, !Limits.recoveryWindowDays.contains(window) { throw .badRecoveryWindow }
            if window != nil && force { throw .forceDeleteWithWindow }
            let secret: Secret
            do throws(SecretStoreError) {
                secret = try find(secretId, context)
            } catch {
                // AWS answers a forced deletion of a secret that does not exist with success.
                if force && error == .secretNotFound { return [] }
                throw error
            }
            if secret.isReplica { throw .replicaReadOnly }
            if !secret.replicas.isEmpty { throw .stillReplicated(secretId, regions: secret.replicas.map(\.region)) }
            if force { return [.secretPurged(arn: secret.arn)] }
            if secret.isScheduledForDeletion { throw .markedForDeletion }
            let days = window ?? Limits.defaultRecoveryWindowDays
            return [.secretDeleted(arn: secret.arn, deletionDate: now + days * Limits.millisPerDay)]

        case let .restoreSecret(secretId):
            let secret = try findOwned(secretId, context)
            guard secret.isScheduledForDeletion else { return [] }
            return [.secretRestored(arn: secret.arn, date: now)]

        case let .tagResource(secretId, tags):
            let secret = try findOwnedLive(secretId, context)
            let merged = try Self.merge(tags, into: secret.tags)
            return [.tagsSet(arn: secret.arn, tags: merged, date: now)]

        case let .untagResource(secretId, keys):
            let secret = try findOwnedLive(secretId, context)
            let removed = Set(keys)
            return [.tagsSet(arn: secret.arn, tags: secret.tags.filter { !removed.contains($0.key) }, date: now)]

        case let .putResourcePolicy(secretId, policy):
            let secret = try findOwnedLive(secretId, context)
            guard policy.count <= Limits.maxResourcePolicyLength else {
                throw .tooLong("resourcePolicy", max: Limits.maxResourcePolicyLength)
            }
            return [.policySet(arn: secret.arn, policy: policy, date: now)]

        case let .deleteResourcePolicy(secretId):
            let secret = try findOwnedLive(secretId, context)
            return [.policySet(arn: secret.arn, policy: nil, date: now)]

        case let .rotateSecret(secretId, lambdaARN, rules, token, rotateImmediately, minimumInterval):
            let secret = try findOwnedLive(secretId, context)
            if let lambdaARN, lambdaARN.count > Limits.maxRotationLambdaARNLength {
                throw .tooLong("rotationLambdaARN", max: Limits.maxRotationLambdaARNLength)
            }
            guard let lambda = lambdaARN ?? secret.rotation.lambdaARN else { throw .noRotationFunction }
            if rules?.automaticallyAfterDays != nil && rules?.scheduleExpression != nil { throw .bothRotationSchedules }
            if let days = rules?.automaticallyAfterDays, !Limits.rotationDays.contains(days) {
                throw .badRotationDays
            }
            let effectiveRules = rules ?? secret.rotation.rules
            let schedule = try effectiveRules.map { rules throws(SecretStoreError) in
                try RotationSchedule.parse(rules, minimumIntervalMillis: minimumInterval)
            }
            if let pending = Self.rotationInProgress(secret) {
                // The same request again (an SDK's retry after a lost answer carries the same
                // ClientRequestToken): answered as the first was, changing nothing.
                if rotateImmediately, pending.versionId == token { return [] }
                throw .rotationInProgress
            }
            // Until the rotation that starts now finishes, the next window counts from now;
            // `finishRotation` counts it again from the rotation's end.
            let rotation = Rotation(enabled: true, lambdaARN: lambda, rules: effectiveRules,
                                    nextRotationDate: schedule?.nextWindow(after: now)?.start,
                                    lastRotatedDate: secret.rotation.lastRotatedDate)
            var facts: [Fact] = [.rotationSet(arn: secret.arn, rotation: rotation, date: now)]
            if rotateImmediately {
                facts += try Self.pendingVersion(secret, token: token, context: context)
            }
            return facts

        case let .startRotation(secretId, token):
            let secret = try findOwnedLive(secretId, context)
            guard secret.rotation.enabled, secret.rotation.lambdaARN != nil else { throw .noRotationLambda }
            if Self.rotationInProgress(secret) != nil { throw .rotationInProgress }
            return try Self.pendingVersion(secret, token: token, context: context)

        case let .finishRotation(secretId, token):
            let secret = try findOwned(secretId, context)
            guard let version = secret.version(id: token), version.stages.contains(StagingLabel.current),
                  !version.sealed.isAbsent else {
                throw .rotationNotFinished(token)
            }
            var rotation = secret.rotation
            rotation.lastRotatedDate = now
            rotation.nextRotationDate = rotation.enabled ? rotation.rules?.storedSchedule?.nextWindow(after: now)?.start : nil
            return [.rotationSet(arn: secret.arn, rotation: rotation, date: now)]

        case let .cancelRotateSecret(secretId):
            let secret = try findOwnedLive(secretId, context)
            guard secret.rotation.lambdaARN != nil else { throw .noRotationLambda }
            var rotation = secret.rotation
            rotation.enabled = false
            rotation.nextRotationDate = nil
            return [.rotationSet(arn: secret.arn, rotation: rotation, date: now)]

        case let .recordAccess(secretId, versionId):
            let secret = try findLive(secretId, context)
            return accessFacts(secret, versionId: versionId, day: Self.day(of: now))

        case let .replicateSecretToRegions(secretId, replicas, forceOverwrite):
            let secret = try findOwnedLive(secretId, context)
            return try addReplicas(replicas, forceOverwrite: forceOverwrite, to: secret, after: [], context: context).facts

        case let .removeRegionsFromReplication(secretId, regions):
            let secret = try findOwned(secretId, context)
            return try removeReplicas(regions, from: secret)

        case let .stopReplicationToReplica(secretId):
            let secret = try find(secretId, context)
            guard let source = secret.primaryRegion else { throw .notAReplica }
            return [.replicaPromoted(arn: secret.arn, date: now),
                    .replicaNoticeSet(sourceRegion: source, primaryARN: Names.arn(secret.arn, inRegion: source),
                                      notice: ReplicaNotice(kind: .promoted))]

        case let .promoteReplicas(lost):
            return promotableReplicas(of: lost).flatMap { secret -> [Fact] in
                [.replicaPromoted(arn: secret.arn, date: now),
                 .replicaNoticeSet(sourceRegion: lost, primaryARN: Names.arn(secret.arn, inRegion: lost),
                                   notice: ReplicaNotice(kind: .promoted))]
            }

        case let .recordReplicaNotices(region, notices):
            return recordNotices(notices, from: region)

        case .purgeExpired:
            return secrets.values
                .filter { ($0.deletedDate ?? .max) <= now && !$0.isReplica }
                .map(\.arn)
                .sorted()
                .map { .secretPurged(arn: $0) }
        }
    }

    /// The replicas here whose primary is in `region` (every account's), by ARN: what
    /// `promoteReplicas(of:)` promotes.
    public func promotableReplicas(of region: String) -> [Secret] {
        secrets.values.filter { $0.primaryRegion == region }.sorted { $0.arn < $1.arn }
    }

    /// Midnight UTC of the day containing `millis`.
    public static func day(of millis: Int64) -> Int64 {
        var remainder = millis % Limits.millisPerDay
        if remainder < 0 { remainder += Limits.millisPerDay }
        return millis - remainder
    }

    private static func checkDescription(_ description: String?) throws(SecretStoreError) {
        if let description, description.count > Limits.maxDescriptionLength {
            throw .tooLong("description", max: Limits.maxDescriptionLength)
        }
    }

    private static func checkValue(_ value: NewValue) throws(SecretStoreError) {
        if value.plaintextSize > Limits.maxValueBytes {
            throw .tooLong(value.sealed.kind == .string ? "secretString" : "secretBinary", max: Limits.maxValueBytes)
        }
    }

    /// Tag characters AWS accepts: letters, numbers, spaces and `_ . : / = + - @`.
    private static func isValidTagText(_ text: String) -> Bool {
        text.allSatisfy { $0.isLetter || $0.isNumber || $0.isWhitespace || "_.:/=+-@".contains($0) }
    }

    /// `existing` with `tags` set: a key already present keeps its place and takes the new value.
    static func merge(_ tags: [SecretTag], into existing: [SecretTag]) throws(SecretStoreError) -> [SecretTag] {
        var result = existing
        for tag in tags {
            guard (1...Limits.maxTagKeyLength).contains(tag.key.count), tag.value.count <= Limits.maxTagValueLength,
                  isValidTagText(tag.key), isValidTagText(tag.value) else { throw .invalidTag }
            if tag.key.lowercased().hasPrefix("aws:") { throw .reservedTagKey }
            if let index = result.firstIndex(where: { $0.key == tag.key }) {
                result[index].value = tag.value
            } else {
                result.append(tag)
            }
        }
        guard result.count <= Limits.maxTags else { throw .tooManyTags }
        return result
    }

    /// The version of a rotation in progress: AWSPENDING on a version that is not AWSCURRENT
    /// (a finished rotation leaves AWSPENDING on the new current version, as AWS does).
    ///
    /// A pending version holding the current value is not a rotation: it is the copy that
    /// RotateImmediately false stages for testSecret, left behind when that test was cut short
    /// (a crash, a failover, CancelRotateSecret). Resuming it would "rotate" to the same value
    /// and record a rotation that changed nothing; the next rotation moves AWSPENDING off it.
    public static func rotationInProgress(_ secret: Secret) -> SecretVersion? {
        guard let pending = secret.version(withStage: StagingLabel.pending),
              !pending.stages.contains(StagingLabel.current) else { return nil }
        if !pending.sealed.isAbsent, let current = secret.version(withStage: StagingLabel.current),
           pending.sealed.sameValue(as: current.sealed) {
            return nil
        }
        return pending
    }

    /// A rotation whose finishSecret made its version AWSCURRENT but whose end was never
    /// recorded (the runner stopped between the two): the current version still carries
    /// AWSPENDING beside AWSCURRENT and is newer than LastRotatedDate. Recording it, rather than
    /// starting another rotation when the window has passed, keeps one rotation one rotation.
    public static func unrecordedRotation(_ secret: Secret) -> SecretVersion? {
        guard let current = secret.version(withStage: StagingLabel.current), current.stages.contains(StagingLabel.pending),
              !current.sealed.isAbsent else { return nil }
        if let last = secret.rotation.lastRotatedDate, last >= current.createdDate { return nil }
        return current
    }

    /// A rotation's new version: `token`, AWSPENDING, no value until createSecret puts one.
    private static func pendingVersion(_ secret: Secret, token: String?, context: DecisionContext) throws(SecretStoreError) -> [Fact] {
        if let error = Names.checkClientRequestToken(token) { throw error }
        let versionId = token ?? context.versionId
        if secret.version(id: versionId) != nil { throw .tokenInUse(versionId, arn: secret.arn) }
        return try addVersion(to: secret, token: versionId, value: NewValue(sealed: .absent, plaintextSize: 0),
                              stages: [StagingLabel.pending], context: context)
    }

    /// A new version with its label moves, and the deprecated versions it pushes out.
    private static func addVersion(
        to secret: Secret, token: String?, value: NewValue, stages: [String]?, context: DecisionContext
    ) throws(SecretStoreError) -> [Fact] {
        let versionId = token ?? context.versionId
        let existing = secret.version(id: versionId)
        // A rotation's version without a value yet (RotateSecret made it for its token) takes
        // the value its createSecret step puts; any other existing version is a retry.
        let fillsRotationVersion = existing?.sealed.isAbsent == true && !value.sealed.isAbsent
        if let existing, !fillsRotationVersion {
            // Same token, same value: the retry of a request that already succeeded.
            guard existing.sealed.sameValue(as: value.sealed) else { throw .tokenInUse(versionId, arn: secret.arn) }
            return []
        }
        var labels: [String] = []
        for label in stages ?? [StagingLabel.current] where !labels.contains(label) { labels.append(label) }
        // The first version of a secret is always AWSCURRENT, whatever VersionStages says.
        if secret.versions.isEmpty && !labels.contains(StagingLabel.current) { labels.append(StagingLabel.current) }

        var moves: [LabelMove] = []
        for label in labels {
            moves.append(LabelMove(label: label, from: secret.version(withStage: label)?.versionId, to: versionId))
        }
        // A new AWSCURRENT demotes the former one to AWSPREVIOUS, unless the request places
        // AWSPREVIOUS itself.
        if labels.contains(StagingLabel.current), !labels.contains(StagingLabel.previous),
           let former = secret.version(withStage: StagingLabel.current) {
            let previousHolder = secret.version(withStage: StagingLabel.previous)?.versionId
            if previousHolder != former.versionId {
                moves.append(LabelMove(label: StagingLabel.previous, from: previousHolder, to: former.versionId))
            }
            // As AWS does (recorded against the service): a version that was both AWSCURRENT and
            // AWSPENDING (a finished rotation) loses AWSPENDING when a new value becomes current.
            if former.stages.contains(StagingLabel.pending), !labels.contains(StagingLabel.pending) {
                moves.append(LabelMove(label: StagingLabel.pending, from: former.versionId, to: nil))
            }
        }
        let version = SecretVersion(versionId: versionId, stages: [], createdDate: context.now, sealed: value.sealed)
        // The labels after the moves, without building the secret after them (a copy of all its
        // versions per put): a label is on one version at most, so a move adds it and a move
        // to nowhere removes it.
        var stagesAfter = secret.allStages
        for move in moves {
            if move.to != nil { stagesAfter.insert(move.label) } else { stagesAfter.remove(move.label) }
        }
        guard stagesAfter.count <= Limits.maxStagingLabels else { throw .tooManyLabels }

        var facts: [Fact] = [.versionAdded(arn: secret.arn, version: version, moves: moves, date: context.now)]
        let excess = secret.versions.count + (existing == nil ? 1 : 0) - Limits.maxVersions
        if excess > 0 {
            var after = secret
            if existing == nil { after.versions.append(version) }
            applyMoves(moves, to: &after)
            let cutoff = context.now - Limits.minDeprecatedAgeMillis
            let removable = after.versions.filter { $0.isDeprecated && $0.createdDate <= cutoff }.prefix(excess)
            guard removable.count == excess else { throw .tooManyVersions }
            facts.append(.versionsRemoved(arn: secret.arn, versionIds: removable.map(\.versionId)))
        }
        return facts
    }

    /// UpdateSecretVersionStage: AWS's Remove/Move rules.
    private static func moveStage(
        _ secret: Secret, label: String, removeFrom: String?, moveTo: String?, now: Int64
    ) throws(SecretStoreError) -> [Fact] {
        if let removeFrom {
            guard let version = secret.version(id: removeFrom) else { throw .notAValidVersion(removeFrom) }
            guard version.stages.contains(label) else { throw .labelNotOnVersion(label, removeFrom) }
        }
        let holder = secret.version(withStage: label)?.versionId
        guard let moveTo else {
            guard let removeFrom else { return [] }
            // AWSCURRENT always names one version: it can be moved, not removed.
            if label == StagingLabel.current { throw .removeCurrentWithoutMove }
            return [.labelsMoved(arn: secret.arn, moves: [LabelMove(label: label, from: removeFrom, to: nil)], date: now)]
        }
        guard let target = secret.version(id: moveTo) else { throw .notAValidVersion(moveTo) }
        // A rotation's version before createSecret has no value: AWSCURRENT there would leave
        // GetSecretValue nothing to return.
        if target.sealed.isAbsent, label == StagingLabel.current || label == StagingLabel.previous {
            throw .versionHasNoValue(moveTo, label: label)
        }
        if let holder, holder != moveTo, removeFrom == nil {
            throw .removeFromVersionIdRequired(label, attachedTo: holder)
        }
        if holder == moveTo { return [] }
        var moves = [LabelMove(label: label, from: holder, to: moveTo)]
        if label == StagingLabel.current, let holder {
            let previousHolder = secret.version(withStage: StagingLabel.previous)?.versionId
            if previousHolder != holder {
                moves.append(LabelMove(label: StagingLabel.previous, from: previousHolder, to: holder))
            }
        }
        var after = secret
        applyMoves(moves, to: &after)
        guard after.allStages.count <= Limits.maxStagingLabels else { throw .tooManyLabels }
        return [.labelsMoved(arn: secret.arn, moves: moves, date: now)]
    }
}

extension SecretState {
    /// What a read of `secret` (and of its version `versionId`) on `day` records: the day as its
    /// `LastAccessedDate` when it is a later day than the one held (a date never goes back), and
    /// for a replica copy the notice that tells its primary region. Nothing when it is known.
    public func accessFacts(_ secret: Secret, versionId: String?, day: Int64) -> [Fact] {
        var facts: [Fact] = []
        if (secret.lastAccessedDate ?? .min) < day {
            // A replica's read is also news for its primary's ReplicationStatus.
            facts += [.secretAccessed(arn: secret.arn, day: day)] + [accessNotice(for: secret, day: day)].compactMap { $0 }
        }
        if let versionId, let version = secret.version(id: versionId), (version.lastAccessedDate ?? .min) < day {
            facts.append(.versionAccessed(arn: secret.arn, versionId: versionId, day: day))
        }
        return facts
    }
}
