import Testing
import SecretStore

@Suite struct SecretStateVersionTests {
    @Test func createMakesOneCurrentVersionAndAnARN() throws {
        var h = Harness()
        let facts = h.ok(.createSecret(name: "app/db", clientRequestToken: nil, description: "d", kmsKeyId: nil,
                                       value: sealed("v1"), tags: []))
        #expect(facts.count == 2)
        let secret = try #require(h.secret("app/db"))
        #expect(secret.arn.hasPrefix("arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-"))
        #expect(secret.arn.count == "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-".count + 6)
        #expect(secret.versions.count == 1)
        #expect(secret.versions[0].stages == ["AWSCURRENT"])
        #expect(secret.createdDate == t0 && secret.lastChangedDate == t0)
        let got = try h.state.getValue("app/db", accountId: account, region: region).get()
        #expect(got.version.sealed.equalityToken == Array("v1".utf8))
    }

    @Test func createWithoutValueHasNoVersions() throws {
        var h = Harness()
        h.ok(.createSecret(name: "empty", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        #expect(h.secret("empty")?.versions.isEmpty == true)
        #expect(failure(h.state.getValue("empty", accountId: account, region: region))
                == .valueNotFound(stage: "AWSCURRENT"))
    }

    @Test func createTwiceIsRefused() {
        var h = Harness()
        h.ok(.createSecret(name: "a", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: sealed("x"), tags: []))
        let error = h.error(h.run(.createSecret(name: "a", clientRequestToken: nil, description: nil, kmsKeyId: nil,
                                                value: sealed("x"), tags: [])))
        #expect(error?.code == "ResourceExistsException")
        #expect(error?.message == "The operation failed because the secret a already exists.")
    }

    @Test func createRetryWithSameTokenIsAnswered() {
        var h = Harness()
        let create = Command.createSecret(name: "a", clientRequestToken: token(1), description: nil, kmsKeyId: nil,
                                          value: sealed("x"), tags: [])
        h.ok(create)
        #expect(h.ok(create).isEmpty)
        let arn = h.secret("a")?.arn ?? ""
        let error = h.error(h.run(.createSecret(name: "a", clientRequestToken: token(1), description: nil, kmsKeyId: nil,
                                                value: sealed("y"), tags: [])))
        #expect(error == .tokenInUse(token(1), arn: arn))
        #expect(error?.message == "You can't use ClientRequestToken \(token(1)) because that value is already in use for a version of secret \(arn).")
        // Another token for an existing name is the plain "already exists".
        #expect(h.error(h.run(.createSecret(name: "a", clientRequestToken: token(2), description: nil, kmsKeyId: nil,
                                            value: sealed("x"), tags: []))) == .secretExists("a"))
    }

    @Test(arguments: ["", "has space", "semi;colon", "ümlaut", String(repeating: "a", count: 513)])
    func invalidNamesAreRefused(name: String) {
        var h = Harness()
        #expect(h.error(h.run(.createSecret(name: name, clientRequestToken: nil, description: nil, kmsKeyId: nil,
                                            value: nil, tags: []))) == .invalidName)
    }

    @Test(arguments: ["a", "A-z_0/9+=.@-", "ends-with-AbCdEf", String(repeating: "a", count: 512)])
    func validNamesAreAccepted(name: String) {
        var h = Harness()
        h.ok(.createSecret(name: name, clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
    }

    @Test func putMovesCurrentAndPrevious() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(2), value: sealed("2"), versionStages: nil))
        #expect(h.labels("s") == [token(1): ["AWSPREVIOUS"], token(2): ["AWSCURRENT"]])
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(3), value: sealed("3"), versionStages: nil))
        #expect(h.labels("s") == [token(1): [], token(2): ["AWSPREVIOUS"], token(3): ["AWSCURRENT"]])
        let listed = try? h.state.listVersionIds("s", accountId: account, region: region).get()
        #expect(listed?.page.items.map(\.versionId) == [token(2), token(3)])
        let all = try? h.state.listVersionIds("s", includeDeprecated: true, accountId: account, region: region).get()
        #expect(all?.page.items.map(\.versionId) == [token(1), token(2), token(3)])
    }

    @Test func putWithCustomStagesLeavesCurrentAlone() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(2), value: sealed("2"), versionStages: ["AWSPENDING", "blue"]))
        #expect(h.labels("s") == [token(1): ["AWSCURRENT"], token(2): ["AWSPENDING", "blue"]])
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(3), value: sealed("3"), versionStages: ["blue"]))
        #expect(h.labels("s") == [token(1): ["AWSCURRENT"], token(2): ["AWSPENDING"], token(3): ["blue"]])
    }

    @Test func putWithCurrentAndPreviousTakesBoth() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(2), value: sealed("2"),
                             versionStages: ["AWSCURRENT", "AWSPREVIOUS"]))
        #expect(h.labels("s") == [token(1): [], token(2): ["AWSCURRENT", "AWSPREVIOUS"]])
    }

    @Test func clientRequestTokenIdempotency() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        let put = Command.putSecretValue(secretId: "s", clientRequestToken: token(7), value: sealed("2"), versionStages: nil)
        #expect(h.ok(put).count == 1)
        #expect(h.ok(put).isEmpty)
        #expect(h.error(h.run(.putSecretValue(secretId: "s", clientRequestToken: token(7), value: sealed("3"),
                                              versionStages: nil))) == .tokenInUse(token(7), arn: h.secret("s")?.arn ?? ""))
        // Same bytes as a binary value are a different value.
        #expect(h.error(h.run(.putSecretValue(secretId: "s", clientRequestToken: token(7), value: sealed("2", kind: .binary),
                                              versionStages: nil)))?.code == "ResourceExistsException")
    }

    @Test func theFirstVersionIsAlwaysCurrent() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(1), value: sealed("1"), versionStages: ["blue"]))
        #expect(h.labels("s") == [token(1): ["AWSCURRENT", "blue"]])
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(2), value: sealed("2"), versionStages: ["blue"]))
        #expect(h.labels("s") == [token(1): ["AWSCURRENT"], token(2): ["blue"]])
    }

    @Test(arguments: [31, 65])
    func clientRequestTokenLength(length: Int) {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        let error = h.error(h.run(.putSecretValue(secretId: "s", clientRequestToken: String(repeating: "t", count: length),
                                                  value: sealed("2"), versionStages: nil)))
        #expect(error == .badClientRequestToken)
        #expect(error?.message == "ClientRequestToken must be 32-64 characters long.")
    }

    @Test func valueSizeLimit() {
        var h = Harness()
        var big = sealed("x")
        big.plaintextSize = 65_537
        #expect(h.error(h.run(.createSecret(name: "s", clientRequestToken: nil, description: nil, kmsKeyId: nil,
                                            value: big, tags: [])))?.code == "ValidationException")
        big.plaintextSize = 65_536
        h.ok(.createSecret(name: "s", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: big, tags: []))
    }

    @Test func updateStageRules() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(2), value: sealed("2"), versionStages: ["AWSPENDING"]))
        let noRemove = h.error(h.run(.updateSecretVersionStage(secretId: "s", versionStage: "AWSCURRENT",
                                                               removeFromVersionId: nil, moveToVersionId: token(2))))
        #expect(noRemove?.code == "InvalidParameterException")
        #expect(noRemove?.message == "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version \(token(1)), so you must explicitly reference that version in RemoveFromVersionId.")
        #expect(h.error(h.run(.updateSecretVersionStage(secretId: "s", versionStage: "AWSCURRENT",
                                                        removeFromVersionId: token(2), moveToVersionId: token(2))))
                == .labelNotOnVersion("AWSCURRENT", token(2)))
        #expect(h.error(h.run(.updateSecretVersionStage(secretId: "s", versionStage: "AWSCURRENT",
                                                        removeFromVersionId: token(1), moveToVersionId: token(9))))
                == .notAValidVersion(token(9)))
        h.ok(.updateSecretVersionStage(secretId: "s", versionStage: "AWSCURRENT", removeFromVersionId: token(1),
                                       moveToVersionId: token(2)))
        #expect(h.labels("s") == [token(1): ["AWSPREVIOUS"], token(2): ["AWSCURRENT", "AWSPENDING"]])
        // Removing AWSPENDING alone is allowed; removing AWSCURRENT without moving it is not.
        h.ok(.updateSecretVersionStage(secretId: "s", versionStage: "AWSPENDING", removeFromVersionId: token(2),
                                       moveToVersionId: nil))
        #expect(h.error(h.run(.updateSecretVersionStage(secretId: "s", versionStage: "AWSCURRENT",
                                                        removeFromVersionId: token(2), moveToVersionId: nil)))
                == .removeCurrentWithoutMove)
        // A custom label not attached anywhere can be attached without RemoveFromVersionId.
        h.ok(.updateSecretVersionStage(secretId: "s", versionStage: "green", removeFromVersionId: nil,
                                       moveToVersionId: token(1)))
        #expect(h.labels("s") == [token(1): ["AWSPREVIOUS", "green"], token(2): ["AWSCURRENT"]])
        // Moving back: AWSPREVIOUS goes to the version AWSCURRENT left.
        h.ok(.updateSecretVersionStage(secretId: "s", versionStage: "AWSCURRENT", removeFromVersionId: token(2),
                                       moveToVersionId: token(1)))
        #expect(h.labels("s") == [token(1): ["AWSCURRENT", "green"], token(2): ["AWSPREVIOUS"]])
    }

    @Test func atMostTwentyLabelsPerSecret() {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("1"), tags: []))
        for n in 0..<19 {
            h.ok(.updateSecretVersionStage(secretId: "s", versionStage: "L\(n)", removeFromVersionId: nil, moveToVersionId: token(1)))
        }
        #expect(h.error(h.run(.updateSecretVersionStage(secretId: "s", versionStage: "L19", removeFromVersionId: nil,
                                                        moveToVersionId: token(1)))) == .tooManyLabels)
        #expect(h.error(h.run(.putSecretValue(secretId: "s", clientRequestToken: token(2), value: sealed("2"),
                                              versionStages: ["AWSPENDING"]))) == .tooManyLabels)
    }

    @Test func deprecatedVersionsBeyondAHundredAreRemovedOnceADayOld() throws {
        var h = Harness()
        h.ok(.createSecret(name: "s", clientRequestToken: token(0), description: nil, kmsKeyId: nil, value: sealed("0"), tags: []))
        for n in 1..<100 {
            h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(n), value: sealed("\(n)"), versionStages: nil))
        }
        #expect(h.secret("s")?.versions.count == 100)
        // Within 24 hours nothing may be removed: the quota refuses the version.
        h.now += 23 * hour
        #expect(h.error(h.run(.putSecretValue(secretId: "s", clientRequestToken: token(100), value: sealed("100"),
                                              versionStages: nil)))?.code == "LimitExceededException")
        h.now += 2 * hour
        let facts = h.ok(.putSecretValue(secretId: "s", clientRequestToken: token(100), value: sealed("100"), versionStages: nil))
        #expect(facts.last == .versionsRemoved(arn: try #require(h.secret("s")).arn, versionIds: [token(0)]))
        #expect(h.secret("s")?.versions.count == 100)
        #expect(h.secret("s")?.version(id: token(0)) == nil)
    }
}
