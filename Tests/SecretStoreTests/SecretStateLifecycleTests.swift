import Testing
import SecretStore

@Suite struct SecretStateLifecycleTests {
    @Test func aFactAboutASecretThatIsNotHereSaysSo() {
        var state = SecretState()
        let deleted = state.apply(.secretDeleted(arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf", deletionDate: 0))
        let tagged = state.apply(.tagsSet(arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf", tags: [], date: 0))
        #expect(!deleted && !tagged)
        #expect(state.secrets.isEmpty)
        let position = state.apply(.replicatedThrough(sourceRegion: "eu-west-1", epoch: 1, lsn: 1))
        #expect(position)
    }

    private func created(_ name: String = "app/db") -> (Harness, String) {
        var h = Harness()
        h.ok(.createSecret(name: name, clientRequestToken: token(1), description: nil, kmsKeyId: nil,
                           value: sealed("1"), tags: []))
        return (h, h.secret(name)?.arn ?? "")
    }

    @Test func lookupByNameARNPartialARNAndSuffixedName() throws {
        let (h, arn) = created()
        let suffix = String(arn.suffix(6))
        for id in [arn, "app/db", "app/db-\(suffix)",
                   "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db"] {
            #expect(try h.state.lookup(id, accountId: account, region: region).get().arn == arn, "\(id)")
        }
        for id in ["app", "app/db-ZZZZZZ", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db",
                   "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-ZZZZZZ", "arn:aws:s3:::app/db"] {
            #expect(failure(h.state.lookup(id, accountId: account, region: region)) == .secretNotFound, "\(id)")
        }
        // A name resolves in the caller's account only; a full ARN names its account itself.
        #expect(failure(h.state.lookup("app/db", accountId: otherAccount, region: region)) == .secretNotFound)
        #expect(try h.state.lookup(arn, accountId: otherAccount, region: region).get().arn == arn)
    }

    @Test func aNameThatLooksSuffixedPrefersTheExactName() throws {
        var h = Harness()
        h.ok(.createSecret(name: "x", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        let suffix = String(try #require(h.secret("x")).arn.suffix(6))
        h.ok(.createSecret(name: "x-\(suffix)", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        #expect(h.secret("x-\(suffix)")?.name == "x-\(suffix)")
    }

    @Test func notFoundMessage() {
        var h = Harness()
        let error = h.error(h.run(.putSecretValue(secretId: "nope", clientRequestToken: nil, value: sealed("1"), versionStages: nil)))
        #expect(error?.code == "ResourceNotFoundException")
        #expect(error?.message == "Secrets Manager can't find the specified secret.")
    }

    @Test(arguments: [Int64(6), 31])
    func recoveryWindowOutOfRange(days: Int64) {
        var (h, _) = created()
        let error = h.error(h.run(.deleteSecret(secretId: "app/db", recoveryWindowInDays: days, forceDeleteWithoutRecovery: false)))
        #expect(error?.code == "InvalidParameterException")
        #expect(error?.message == "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
    }

    @Test func forceAndWindowTogetherAreRefused() {
        var (h, _) = created()
        #expect(h.error(h.run(.deleteSecret(secretId: "app/db", recoveryWindowInDays: 7, forceDeleteWithoutRecovery: true)))
                == .forceDeleteWithWindow)
    }

    @Test func scheduledDeletionRefusesWritesAndValuesButNotDescribeOrRestore() throws {
        var (h, arn) = created()
        let facts = h.ok(.deleteSecret(secretId: "app/db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: false))
        #expect(facts == [.secretDeleted(arn: arn, deletionDate: t0 + 30 * day)])
        #expect(h.secret("app/db")?.deletedDate == t0 + 30 * day)
        let marked = "You can't perform this operation on the secret because it was marked for deletion."
        #expect(failure(h.state.getValue("app/db", accountId: account, region: region))?.message == marked)
        let refused: [Command] = [
            .putSecretValue(secretId: "app/db", clientRequestToken: nil, value: sealed("2"), versionStages: nil),
            .updateSecret(secretId: "app/db", clientRequestToken: nil, description: "x", kmsKeyId: nil, value: nil),
            .updateSecretVersionStage(secretId: "app/db", versionStage: "x", removeFromVersionId: nil, moveToVersionId: token(1)),
            .tagResource(secretId: "app/db", tags: [SecretTag(key: "k", value: "v")]),
            .untagResource(secretId: "app/db", tagKeys: ["k"]),
            .putResourcePolicy(secretId: "app/db", policy: "{}"),
            .deleteResourcePolicy(secretId: "app/db"),
            .rotateSecret(secretId: "app/db", rotationLambdaARN: "arn:aws:lambda:us-east-1:111122223333:function:r", rules: nil),
            .cancelRotateSecret(secretId: "app/db"),
            .recordAccess(secretId: "app/db"),
            .deleteSecret(secretId: "app/db", recoveryWindowInDays: 7, forceDeleteWithoutRecovery: false),
        ]
        for command in refused {
            #expect(h.error(h.run(command)) == .markedForDeletion, "\(command)")
        }
        let again = h.error(h.run(.createSecret(name: "app/db", clientRequestToken: nil, description: nil, kmsKeyId: nil,
                                                value: nil, tags: [])))
        #expect(again?.message == "You can't create this secret because a secret with this name is already scheduled for deletion.")
        #expect(h.secret("app/db") != nil)
        #expect(try h.state.listSecrets(accountId: account).get().items.isEmpty)
        #expect(try h.state.listSecrets(accountId: account, includePlannedDeletion: true).get().items.count == 1)

        h.now += hour
        #expect(h.ok(.restoreSecret(secretId: "app/db")) == [.secretRestored(arn: arn, date: t0 + hour)])
        #expect(h.secret("app/db")?.deletedDate == nil)
        #expect(h.ok(.restoreSecret(secretId: "app/db")).isEmpty)
        _ = try h.state.getValue("app/db", accountId: account, region: region).get()
    }

    @Test func purgeAfterTheWindowFreesTheNameAndRecreatingDrawsANewSuffix() throws {
        var (h, arn) = created()
        h.ok(.deleteSecret(secretId: "app/db", recoveryWindowInDays: 7, forceDeleteWithoutRecovery: false))
        h.now += 7 * day - 1
        #expect(h.ok(.purgeExpired).isEmpty)
        h.now += 1
        #expect(h.ok(.purgeExpired) == [.secretPurged(arn: arn)])
        #expect(h.secret("app/db") == nil)
        #expect(h.state.arn(name: "app/db", accountId: account) == nil)
        h.ok(.createSecret(name: "app/db", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        let recreated = try #require(h.secret("app/db"))
        #expect(recreated.arn != arn)
        #expect(failure(h.state.lookup(arn, accountId: account, region: region)) == .secretNotFound)
    }

    @Test func forceDeletionPurgesAtOnceEvenWhenScheduled() {
        var (h, arn) = created()
        h.ok(.deleteSecret(secretId: "app/db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: false))
        #expect(h.ok(.deleteSecret(secretId: "app/db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true))
                == [.secretPurged(arn: arn)])
        #expect(h.secret("app/db") == nil)
        // AWS answers a forced deletion of a missing secret with success, and so do we.
        #expect(h.ok(.deleteSecret(secretId: "app/db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true)).isEmpty)
        #expect(h.error(h.run(.deleteSecret(secretId: "app/db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: false)))
                == .secretNotFound)
    }

    @Test func updateSecretChangesMetadataAndAddsAVersion() {
        var (h, _) = created()
        h.now += hour
        h.ok(.updateSecret(secretId: "app/db", clientRequestToken: token(2), description: "new", kmsKeyId: "alias/k",
                           value: sealed("2")))
        let secret = h.secret("app/db")
        #expect(secret?.description == "new")
        #expect(secret?.kmsKeyId == "alias/k")
        #expect(secret?.lastChangedDate == t0 + hour)
        #expect(h.labels("app/db") == [token(1): ["AWSPREVIOUS"], token(2): ["AWSCURRENT"]])
        #expect(h.error(h.run(.updateSecret(secretId: "app/db", clientRequestToken: nil,
                                            description: String(repeating: "d", count: 2049), kmsKeyId: nil, value: nil)))?
                .code == "ValidationException")
    }

    /// A KmsKeyId change carries the API's re-sealed values of labelled versions; the core logs
    /// them for versions that exist and replaces their sealed values, nothing else.
    @Test func kmsKeyChangeReplacesResealedValues() {
        var (h, _) = created()
        let resealed = sealed("1").sealed
        var changed = resealed
        changed.keyId = "other-key"
        let facts = h.ok(.updateSecret(
            secretId: "app/db", clientRequestToken: nil, description: nil, kmsKeyId: "alias/other", value: nil,
            resealed: [ResealedValue(versionId: token(1), sealed: changed),
                       ResealedValue(versionId: "no-such-version", sealed: changed)]))
        let arn = h.secret("app/db")!.arn
        #expect(facts.last == .valuesResealed(arn: arn, values: [ResealedValue(versionId: token(1), sealed: changed)], date: h.now))
        #expect(h.secret("app/db")?.version(id: token(1))?.sealed.keyId == "other-key")
        // Without a KmsKeyId there is nothing to re-seal, whatever is passed.
        let plain = h.ok(.updateSecret(secretId: "app/db", clientRequestToken: nil, description: "d", kmsKeyId: nil,
                                       value: nil, resealed: [ResealedValue(versionId: token(1), sealed: resealed)]))
        #expect(plain.count == 1)
        #expect(h.secret("app/db")?.version(id: token(1))?.sealed.keyId == "other-key")
    }

    @Test func tagsMergeInOrderAndObeyAWSRules() {
        var (h, _) = created()
        h.ok(.tagResource(secretId: "app/db", tags: [SecretTag(key: "a", value: "1"), SecretTag(key: "b", value: "2")]))
        h.ok(.tagResource(secretId: "app/db", tags: [SecretTag(key: "c", value: "3"), SecretTag(key: "a", value: "9")]))
        #expect(h.secret("app/db")?.tags == [SecretTag(key: "a", value: "9"), SecretTag(key: "b", value: "2"), SecretTag(key: "c", value: "3")])
        h.ok(.untagResource(secretId: "app/db", tagKeys: ["b", "missing"]))
        #expect(h.secret("app/db")?.tags.map(\.key) == ["a", "c"])
        #expect(h.error(h.run(.tagResource(secretId: "app/db", tags: [SecretTag(key: "aws:x", value: "1")]))) == .reservedTagKey)
        #expect(h.error(h.run(.tagResource(secretId: "app/db", tags: [SecretTag(key: "AWS:x", value: "1")]))) == .reservedTagKey)
        #expect(h.error(h.run(.tagResource(secretId: "app/db", tags: [SecretTag(key: "", value: "1")]))) == .invalidTag)
        #expect(h.error(h.run(.tagResource(secretId: "app/db", tags: [SecretTag(key: "k;", value: "1")]))) == .invalidTag)
        #expect(h.error(h.run(.tagResource(secretId: "app/db", tags: [SecretTag(key: "k", value: String(repeating: "v", count: 257))])))
                == .invalidTag)
        h.ok(.tagResource(secretId: "app/db", tags: [SecretTag(key: "Größe é_.:/=+-@ 1", value: "")]))
        let many = (0..<47).map { SecretTag(key: "t\($0)", value: "") }
        h.ok(.tagResource(secretId: "app/db", tags: many))
        #expect(h.secret("app/db")?.tags.count == 50)
        #expect(h.error(h.run(.tagResource(secretId: "app/db", tags: [SecretTag(key: "one-more", value: "")]))) == .tooManyTags)
        h.ok(.tagResource(secretId: "app/db", tags: [SecretTag(key: "t0", value: "replaced")]))
    }

    @Test func resourcePolicy() {
        var (h, _) = created()
        h.ok(.putResourcePolicy(secretId: "app/db", policy: "{\"Version\":\"2012-10-17\"}"))
        #expect(h.secret("app/db")?.resourcePolicy == "{\"Version\":\"2012-10-17\"}")
        h.ok(.deleteResourcePolicy(secretId: "app/db"))
        #expect(h.secret("app/db")?.resourcePolicy == nil)
        #expect(h.error(h.run(.putResourcePolicy(secretId: "app/db", policy: String(repeating: " ", count: 20_481))))?
                .code == "ValidationException")
    }

    @Test func rotationMetadata() {
        var (h, _) = created()
        let lambda = "arn:aws:lambda:us-east-1:111122223333:function:rotate"
        #expect(h.error(h.run(.cancelRotateSecret(secretId: "app/db"))) == .noRotationLambda)
        #expect(h.error(h.run(.rotateSecret(secretId: "app/db", rotationLambdaARN: nil, rules: nil))) == .noRotationFunction)
        #expect(h.error(h.run(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda,
                                            rules: RotationRules(automaticallyAfterDays: 1001)))) == .badRotationDays)
        h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda, rules: RotationRules(automaticallyAfterDays: 30)))
        #expect(h.secret("app/db")?.rotation == Rotation(enabled: true, lambdaARN: lambda,
                                                          rules: RotationRules(automaticallyAfterDays: 30),
                                                          // The window's start: midnight UTC, 30 days on.
                                                          nextRotationDate: t0 - t0 % day + 30 * day))
        h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(2), value: sealed("2"), versionStages: ["AWSPENDING"]))
        #expect(h.error(h.run(.rotateSecret(secretId: "app/db", rotationLambdaARN: nil, rules: nil))) == .rotationInProgress)
        h.ok(.cancelRotateSecret(secretId: "app/db"))
        #expect(h.secret("app/db")?.rotation.enabled == false)
        #expect(h.secret("app/db")?.rotation.lambdaARN == lambda)
    }

    /// RotateSecret as AWS runs it: the token's version carries AWSPENDING and no value (found
    /// by DescribeSecret, not by GetSecretValue) until createSecret puts one with that token;
    /// finishSecret's move makes it AWSCURRENT; finishRotation records the dates.
    @Test func aRotationsVersionHasNoValueUntilCreateSecretPutsOne() throws {
        var (h, _) = created()
        let lambda = "arn:aws:lambda:us-east-1:111122223333:function:rotate"
        let rules = RotationRules(scheduleExpression: "rate(10 days)")
        h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda, rules: rules, token: token(7), rotateImmediately: true))
        let pending = try #require(h.secret("app/db")?.version(id: token(7)))
        #expect(pending.stages == ["AWSPENDING"] && pending.sealed.isAbsent)
        #expect(h.state.getValue("app/db", versionId: token(7), versionStage: "AWSPENDING", accountId: account, region: region)
            .map(\.version.versionId) == .failure(.valueNotFound(versionId: token(7))))
        #expect(h.state.getValue("app/db", versionStage: "AWSPENDING", accountId: account, region: region)
            .map(\.version.versionId) == .failure(.valueNotFound(stage: "AWSPENDING")))
        // The same request again (an SDK's retry): answered, nothing changes.
        #expect(h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda, rules: rules, token: token(7),
                                   rotateImmediately: true)).isEmpty)
        // In progress: another RotateSecret is refused, "That rotation will be reattempted".
        #expect(h.error(h.run(.rotateSecret(secretId: "app/db", rotationLambdaARN: nil, rules: nil, token: token(8),
                                            rotateImmediately: true))) == .rotationInProgress)
        // createSecret: the value for the token, staged AWSPENDING; a retry of it changes nothing.
        h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(7), value: sealed("new"), versionStages: ["AWSPENDING"]))
        #expect(h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(7), value: sealed("new"),
                                     versionStages: ["AWSPENDING"])).isEmpty)
        #expect(h.error(h.run(.putSecretValue(secretId: "app/db", clientRequestToken: token(7), value: sealed("other"),
                                              versionStages: ["AWSPENDING"]))) == .tokenInUse(token(7), arn: h.secret("app/db")!.arn))
        let secret = try #require(h.secret("app/db"))
        #expect(secret.versions.count == 2)
        #expect(h.state.getValue("app/db", versionStage: "AWSPENDING", accountId: account, region: region)
            .map(\.version.versionId) == .success(token(7)))
        // Not finished before finishSecret moved AWSCURRENT.
        #expect(h.error(h.run(.finishRotation(secretId: "app/db", token: token(7)))) == .rotationNotFinished(token(7)))
        let current = try #require(secret.version(withStage: "AWSCURRENT")).versionId
        h.ok(.updateSecretVersionStage(secretId: "app/db", versionStage: "AWSCURRENT", removeFromVersionId: current,
                                       moveToVersionId: token(7)))
        h.now += hour
        h.ok(.finishRotation(secretId: "app/db", token: token(7)))
        let rotated = try #require(h.secret("app/db"))
        #expect(rotated.rotation.lastRotatedDate == h.now)
        #expect(rotated.rotation.nextRotationDate == h.now - h.now % day + 10 * day)
        #expect(rotated.version(id: token(7))?.stages == ["AWSPENDING", "AWSCURRENT"])
        #expect(rotated.version(id: current)?.stages == ["AWSPREVIOUS"])
        #expect(SecretState.rotationInProgress(rotated) == nil)
        // The next scheduled rotation moves AWSPENDING off the current version onto its own.
        h.ok(.startRotation(secretId: "app/db", token: token(9)))
        #expect(h.secret("app/db")?.version(id: token(7))?.stages == ["AWSCURRENT"])
        #expect(h.secret("app/db")?.version(id: token(9))?.stages == ["AWSPENDING"])
        // Replaying the facts gives the same state (what a standby and a restart do).
        var replay = SecretState()
        for fact in h.facts { replay.apply(fact) }
        #expect(replay == h.state)
    }

    /// AWSCURRENT never goes to a version without a value; a test's staged copy of the current
    /// value is not a rotation in progress; a finished rotation whose end was not recorded is
    /// found as such.
    @Test func valuelessVersionsStaleTestCopiesAndUnrecordedEnds() throws {
        var (h, _) = created()
        let lambda = "arn:aws:lambda:us-east-1:111122223333:function:rotate"
        h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda, rules: nil, token: token(7), rotateImmediately: true))
        let current = try #require(h.secret("app/db")?.version(withStage: "AWSCURRENT")).versionId
        #expect(h.error(h.run(.updateSecretVersionStage(secretId: "app/db", versionStage: "AWSCURRENT", removeFromVersionId: current,
                                                        moveToVersionId: token(7)))) == .versionHasNoValue(token(7), label: "AWSCURRENT"))
        #expect(h.error(h.run(.finishRotation(secretId: "app/db", token: token(7)))) == .rotationNotFinished(token(7)))
        // createSecret, finishSecret's move, and no record of the end: found as unrecorded.
        h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(7), value: sealed("new"), versionStages: ["AWSPENDING"]))
        h.ok(.updateSecretVersionStage(secretId: "app/db", versionStage: "AWSCURRENT", removeFromVersionId: current, moveToVersionId: token(7)))
        #expect(SecretState.unrecordedRotation(try #require(h.secret("app/db")))?.versionId == token(7))
        h.now += 1
        h.ok(.finishRotation(secretId: "app/db", token: token(7)))
        #expect(SecretState.unrecordedRotation(try #require(h.secret("app/db"))) == nil)
        // A test's staged copy of the current value, left behind: not in progress, and the
        // next RotateSecret moves AWSPENDING off it.
        h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(8), value: sealed("new"), versionStages: ["AWSPENDING"]))
        #expect(SecretState.rotationInProgress(try #require(h.secret("app/db"))) == nil)
        h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: nil, rules: nil, token: token(9), rotateImmediately: true))
        #expect(h.secret("app/db")?.version(id: token(8))?.stages == [])
        #expect(SecretState.rotationInProgress(try #require(h.secret("app/db")))?.versionId == token(9))
    }

    @Test func rotateImmediatelyFalseMakesNoVersionAndSchedulesTheNextWindow() {
        var (h, _) = created()
        let lambda = "arn:aws:lambda:us-east-1:111122223333:function:rotate"
        h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda, rules: RotationRules(scheduleExpression: "cron(0 16 ? * SUN *)"),
                           token: token(7), rotateImmediately: false))
        #expect(h.secret("app/db")?.version(id: token(7)) == nil)
        let next = h.secret("app/db")?.rotation.nextRotationDate
        #expect(next.map { $0 > h.now && $0 % hour == 0 } == true)
        // A schedule below the floor is refused; a lower floor (a test node's) accepts it.
        #expect(h.error(h.run(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda,
                                            rules: RotationRules(scheduleExpression: "rate(1 hour)")))) != nil)
        h.ok(.rotateSecret(secretId: "app/db", rotationLambdaARN: lambda, rules: RotationRules(scheduleExpression: "rate(1 minute)"),
                           minimumIntervalMillis: 60_000))
        #expect(h.secret("app/db")?.rotation.nextRotationDate == h.now - h.now % 60_000 + 60_000)
    }

    @Test func accessIsRecordedOncePerDay() {
        var (h, arn) = created()
        h.now = t0 - t0 % day + 5 * hour
        #expect(h.ok(.recordAccess(secretId: "app/db")) == [.secretAccessed(arn: arn, day: t0 - t0 % day)])
        h.now += 10 * hour
        #expect(h.ok(.recordAccess(secretId: "app/db")).isEmpty)
        h.now += 10 * hour
        #expect(h.ok(.recordAccess(secretId: "app/db")) == [.secretAccessed(arn: arn, day: t0 - t0 % day + day)])
    }

    /// ListSecretVersionIds' LastAccessedDate is each version's own (a day): a read records the
    /// secret's day and the version's, each once per day.
    @Test func eachVersionKeepsItsOwnAccessDay() {
        var (h, arn) = created()
        h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(2), value: sealed("2"), versionStages: nil))
        let today = t0 - t0 % day
        h.now = today + 5 * hour
        #expect(h.ok(.recordAccess(secretId: "app/db", versionId: token(2)))
                == [.secretAccessed(arn: arn, day: today), .versionAccessed(arn: arn, versionId: token(2), day: today)])
        #expect(h.ok(.recordAccess(secretId: "app/db", versionId: token(2))).isEmpty)
        // Another version read the same day: only its own day.
        #expect(h.ok(.recordAccess(secretId: "app/db", versionId: token(1))) == [.versionAccessed(arn: arn, versionId: token(1), day: today)])
        #expect(h.secret("app/db")?.versions.map(\.lastAccessedDate) == [today, today])
        // A version that does not exist changes nothing more.
        #expect(h.ok(.recordAccess(secretId: "app/db", versionId: "nope")).isEmpty)
    }

    @Test func getValueByVersionIdAndStage() throws {
        var (h, _) = created()
        h.ok(.putSecretValue(secretId: "app/db", clientRequestToken: token(2), value: sealed("2"), versionStages: nil))
        let byId = try h.state.getValue("app/db", versionId: token(1), accountId: account, region: region).get()
        #expect(byId.version.stages == ["AWSPREVIOUS"])
        let byStage = try h.state.getValue("app/db", versionStage: "AWSPREVIOUS", accountId: account, region: region).get()
        #expect(byStage.version.versionId == token(1))
        #expect(failure(h.state.getValue("app/db", versionId: token(1), versionStage: "AWSCURRENT", accountId: account,
                                         region: region)) == .stageVersionMismatch)
        #expect(failure(h.state.getValue("app/db", versionId: token(9), accountId: account, region: region))?.message
                == "Secrets Manager can't find the specified secret value for VersionId: \(token(9))")
        #expect(failure(h.state.getValue("app/db", versionStage: "nope", accountId: account, region: region))?.message
                == "Secrets Manager can't find the specified secret value for staging label: nope")
    }
}
