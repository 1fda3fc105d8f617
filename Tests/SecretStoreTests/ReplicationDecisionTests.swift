import Testing
import SecretStore
import TestSupport

/// The primary (us-east-1, the `Harness`) and its replica regions, connected the way the nodes
/// connect them: each record's facts routed, the routed ones exported, and taken in by the
/// replica's `intake` one record at a time.
private struct Replica {
    let region: String
    var state = SecretState()
    var position: UInt64 = 0
    /// Refuse to wrap under this key id (a key missing from the replica's keyring).
    var missingKey: String?

    /// The replica-side sealer: transfer-form values are wrapped under "REGION/KEY".
    func seal(_ value: SealedValue, _ versionId: String, _ kmsKeyId: String?, _ accountId: String)
        -> Result<SealedValue, ReplicaSealingFailure> {
        guard value.keyId == "transfer", value.boundARN != nil else { return .failure(ReplicaSealingFailure("not in transfer form")) }
        if let missingKey, kmsKeyId == missingKey { return .failure(ReplicaSealingFailure("key \(missingKey) is missing")) }
        var out = value
        out.keyId = "\(region)/\(kmsKeyId ?? "default")"
        return .success(out)
    }

    /// Takes in one primary record (its facts as decided there, with the state they were decided on).
    mutating func receive(_ facts: [Fact], routes: [[String]], lsn: UInt64, primaryState: SecretState,
                          from source: String = "us-east-1", snapshot: Bool = false) throws {
        let shipped = zip(facts, routes).filter { $0.1.contains(self.region) }.compactMap { fact, _ -> Fact? in
            var fact = fact
            // As the shipper does: a logged copy's values come from the primary's state.
            if case let .replicaSeeded(seedRegion, force, copy) = fact {
                guard let filled = primaryState.filledCopy(copy) else { return nil }
                fact = .replicaSeeded(region: seedRegion, forceOverwrite: force, secret: filled)
            }
            return fact.mapSealedValues { (value: SealedValue, arn: String, _: String) -> SealedValue in
                var exported = value
                exported.boundARN = value.boundARN ?? arn
                exported.keyId = "transfer"
                return exported
            }
        }
        let sealer: ReplicaSealer = { [self] in self.seal($0, $1, $2, $3) }
        let local = state.intake(shipped, from: source, epoch: 1, lsn: lsn, localRegion: self.region, seal: sealer, snapshot: snapshot)
        for fact in local { state.apply(fact) }
        position = lsn
    }
}

/// A primary that ships every decision to its replicas as it is made.
private struct Cluster {
    var primary = Harness()
    var replicas: [Replica] = [Replica(region: "eu-west-1"), Replica(region: "ap-southeast-2")]
    var lsn: UInt64 = 0

    @discardableResult
    mutating func run(_ command: Command) throws -> Result<[Fact], SecretStoreError> {
        let before = primary.state
        let result = primary.run(command)
        if case .success(let facts) = result, !facts.isEmpty {
            lsn += 1
            let routes = before.routes(for: facts)
            for index in replicas.indices { try replicas[index].receive(facts, routes: routes, lsn: lsn, primaryState: primary.state) }
        }
        return result
    }

    /// A GetSecretValue of `name` in replica `index`'s region at `now`: its access day, and the
    /// notice that carries it to the primary.
    mutating func read(_ name: String, inReplica index: Int, now: Int64) throws {
        let context = DecisionContext(now: now, region: replicas[index].region, accountId: account, arnSuffix: "ZZZZZZ",
                                      versionId: "v")
        for fact in try replicas[index].state.decide(.recordAccess(secretId: name), context: context).get() {
            replicas[index].state.apply(fact)
        }
    }

    /// The replica's notices, recorded on the primary and acknowledged back, as the link does.
    mutating func reportNotices() throws {
        for index in replicas.indices {
            let notices = replicas[index].state.sources[region]?.notices ?? [:]
            guard !notices.isEmpty else { continue }
            try run(.recordReplicaNotices(region: replicas[index].region, notices: notices))
        }
    }
}

private func comparable(_ secret: Secret) -> Secret { secret.comparableAcrossRegions }

@Suite struct ReplicationDecisionTests {
    @Test func createWithReplicasSeedsEachRegionAndRoutesLaterChanges() throws {
        var cluster = Cluster()
        let created = try cluster.run(.createSecret(
            name: "db", clientRequestToken: token(1), description: "d", kmsKeyId: nil, value: sealed("one"), tags: [],
            replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: "alias/eu")])).get()
        #expect(created.contains { if case .replicaSeeded(let region, _, _) = $0 { region == "eu-west-1" } else { false } })
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let primary = try #require(cluster.primary.state.secrets[arn])
        #expect(primary.replicas == [ReplicaStatus(region: "eu-west-1", kmsKeyId: "alias/eu", state: .inProgress)])

        let eu = cluster.replicas[0]
        let replicaARN = Names.arn(arn, inRegion: "eu-west-1")
        let copy = try #require(eu.state.secrets[replicaARN])
        #expect(copy.primaryRegion == "us-east-1")
        #expect(copy.kmsKeyId == "alias/eu")
        #expect(copy.versions.map(\.sealed.keyId) == ["eu-west-1/alias/eu"])
        #expect(copy.versions.map(\.sealed.boundARN) == [arn])
        #expect(comparable(copy) == comparable(primary))
        #expect(eu.state.sources["us-east-1"]?.notices[arn] == ReplicaNotice(kind: .seeded))
        #expect(eu.state.sources["us-east-1"]?.lsn == 1)
        // Not replicated to ap-southeast-2: nothing of it there, not even the name.
        #expect(cluster.replicas[1].state.secrets.isEmpty)

        try cluster.run(.putSecretValue(secretId: "db", clientRequestToken: token(2), value: sealed("two"), versionStages: nil))
        try cluster.run(.tagResource(secretId: "db", tags: [SecretTag(key: "team", value: "a")]))
        try cluster.run(.putResourcePolicy(secretId: "db", policy: "{\"Version\":\"2012-10-17\",\"Statement\":[]}"))
        let after = try #require(cluster.primary.state.secrets[arn])
        #expect(comparable(try #require(cluster.replicas[0].state.secrets[replicaARN])) == comparable(after))
        #expect(cluster.replicas[1].state.secrets.isEmpty)
    }

    @Test func noticesMakeTheStatusInSyncAndAreForgottenOnceAcknowledged() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        try cluster.reportNotices()
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        #expect(cluster.primary.state.secrets[arn]?.replicas
            == [ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .inSync, message: ReplicaStatus.succeededMessage)])
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices.isEmpty == true)
        // Reporting again (a resend after a reconnect) changes no status and is acknowledged again.
        let again = try cluster.run(.recordReplicaNotices(region: "eu-west-1", notices: [arn: ReplicaNotice(kind: .seeded)])).get()
        #expect(again == [.noticeAcknowledged(arn: arn, region: "eu-west-1", notice: ReplicaNotice(kind: .seeded))])
    }

    /// ListSecrets' primary-region filter matches a replica by the region it is copied from.
    @Test func thePrimaryRegionFilterMatchesReplicasByTheirPrimary() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        let eu = cluster.replicas[0].state
        func names(_ region: String) throws -> [String] {
            try eu.listSecrets(accountId: account, filters: [ListSecretsFilter(key: .primaryRegion, values: [region])]).get().items.map(\.name)
        }
        #expect(try names("us-east-1") == ["db"])
        #expect(try names("eu-west-1").isEmpty)
        let primary = cluster.primary.state
        #expect(try primary.listSecrets(accountId: account, filters: [ListSecretsFilter(key: .primaryRegion, values: ["us-east-1"])])
            .get().items.map(\.name) == ["db"])
    }

    @Test func aNameClashFailsUnlessForced() throws {
        var cluster = Cluster()
        // A secret of the same name created in eu-west-1 itself.
        var local = Harness()
        local.ok(.createSecret(name: "db", clientRequestToken: token(9), description: nil, kmsKeyId: nil, value: sealed("eu"), tags: []))
        let localState = local.state
        let localARN = try #require(localState.arn(name: "db", accountId: account))
        cluster.replicas[0].state = SecretState()
        for fact in local.facts {
            var moved = fact
            if case let .secretCreated(arn, name, accountId, description, kmsKeyId, tags, date) = fact {
                moved = .secretCreated(arn: Names.arn(arn, inRegion: "eu-west-1"), name: name, accountId: accountId,
                                       description: description, kmsKeyId: kmsKeyId, tags: tags, date: date)
            }
            if case let .versionAdded(arn, version, moves, date) = fact {
                moved = .versionAdded(arn: Names.arn(arn, inRegion: "eu-west-1"), version: version, moves: moves, date: date)
            }
            cluster.replicas[0].state.apply(moved)
        }
        let euLocal = Names.arn(localARN, inRegion: "eu-west-1")
        cluster.primary.draws = 100

        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        try cluster.reportNotices()
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        #expect(cluster.primary.state.secrets[arn]?.replicas
            == [ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .failed,
                              message: ReplicaStatus.nameClashMessage(name: "db", region: "eu-west-1"))])
        #expect(cluster.replicas[0].state.secrets[euLocal]?.isReplica == false)
        // A failed region gets no later changes.
        try cluster.run(.putSecretValue(secretId: "db", clientRequestToken: token(2), value: sealed("y"), versionStages: nil))
        #expect(cluster.replicas[0].state.secrets[euLocal]?.versions.count == 1)

        // Again with ForceOverwriteReplicaSecret: the local secret gives way.
        try cluster.run(.replicateSecretToRegions(secretId: "db", replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)],
                                                  forceOverwrite: true))
        try cluster.reportNotices()
        #expect(cluster.replicas[0].state.secrets[euLocal] == nil)
        let copy = try #require(cluster.replicas[0].state.secrets[Names.arn(arn, inRegion: "eu-west-1")])
        #expect(copy.isReplica && copy.versions.count == 2)
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.state == .inSync)
    }

    @Test func aMissingReplicaKeyFailsTheCopy() throws {
        var cluster = Cluster()
        cluster.replicas[0].missingKey = "alias/nope"
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: "alias/nope")]))
        try cluster.reportNotices()
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let status = try #require(cluster.primary.state.secrets[arn]?.replicas.first)
        #expect(status.state == .failed)
        #expect(status.message == "Replication failed: key alias/nope is missing")
        #expect(cluster.replicas[0].state.secrets.isEmpty)
    }

    /// A forced copy that replaces a replica of a third region tells that region's primary.
    @Test func aForcedCopyOverAnotherRegionsReplicaTellsItsPrimary() throws {
        var cluster = Cluster()
        // eu-west-1 holds a replica of ap-southeast-2's "db".
        let apARN = "arn:aws:secretsmanager:ap-southeast-2:\(account):secret:db-ApApAp"
        var apSecret = Secret(arn: apARN, name: "db", accountId: account, description: nil, kmsKeyId: nil, tags: [],
                              createdDate: t0, lastChangedDate: t0)
        apSecret.versions = [SecretVersion(versionId: token(9), stages: ["AWSCURRENT"], createdDate: t0, sealed: sealed("ap").sealed)]
        apSecret.replicas = [ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .inProgress)]
        var apState = SecretState()
        apState.apply(.replicaSeeded(region: "", forceOverwrite: false, secret: apSecret))
        try cluster.replicas[0].receive([.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: apSecret)],
                                        routes: [["eu-west-1"]], lsn: 1, primaryState: apState, from: "ap-southeast-2")
        let apLocal = Names.arn(apARN, inRegion: "eu-west-1")
        #expect(cluster.replicas[0].state.secrets[apLocal]?.primaryRegion == "ap-southeast-2")
        // us-east-1's "db", forced into eu-west-1.
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("us"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)], forceOverwriteReplica: true))
        #expect(cluster.replicas[0].state.secrets[apLocal] == nil)
        let notice = cluster.replicas[0].state.sources["ap-southeast-2"]?.notices[apARN]
        #expect(notice == ReplicaNotice(kind: .failed, message: ReplicaStatus.overwrittenMessage(region: "eu-west-1", by: "us-east-1")))
        // ap-southeast-2 records it: eu-west-1 is Failed there, and no longer shipped to.
        var apPrimary = Harness()
        apPrimary.state = apState
        apPrimary.ok(.recordReplicaNotices(region: "eu-west-1", notices: [apARN: try #require(notice)]))
        #expect(apPrimary.state.secrets[apARN]?.replicas.first?.state == .failed)
    }

    /// A copy that can no longer take a new version (its key left the replica's keyring) fails
    /// alone: it is removed there, its primary marks the region Failed and stops shipping it,
    /// the other secrets go on, and ReplicateSecretToRegions makes a new copy once it can.
    @Test func aCopyThatCannotTakeANewVersionFailsAlone() throws {
        var cluster = Cluster()
        for name in ["db", "other"] {
            try cluster.run(.createSecret(name: name, clientRequestToken: token(name == "db" ? 1 : 2), description: nil,
                                          kmsKeyId: nil, value: sealed("x"), tags: [],
                                          replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: name == "db" ? "alias/gone" : nil)]))
        }
        try cluster.reportNotices()
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let local = Names.arn(arn, inRegion: "eu-west-1")
        #expect(cluster.replicas[0].state.secrets[local] != nil)
        cluster.replicas[0].missingKey = "alias/gone"
        try cluster.run(.putSecretValue(secretId: "db", clientRequestToken: token(3), value: sealed("y"), versionStages: nil))
        try cluster.run(.putSecretValue(secretId: "other", clientRequestToken: token(4), value: sealed("z"), versionStages: nil))
        // The position moved on; the copy is gone rather than serving the old AWSCURRENT.
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.lsn == cluster.lsn)
        #expect(cluster.replicas[0].state.secrets[local] == nil)
        let other = try #require(cluster.primary.state.arn(name: "other", accountId: account))
        #expect(cluster.replicas[0].state.secrets[Names.arn(other, inRegion: "eu-west-1")]?.versions.count == 2)
        try cluster.reportNotices()
        let status = try #require(cluster.primary.state.secrets[arn]?.replicas.first)
        #expect(status.state == .failed)
        #expect(status.message == "Replication failed: key alias/gone is missing")
        // No longer shipped there.
        let facts = try cluster.run(.tagResource(secretId: "db", tags: [SecretTag(key: "a", value: "b")])).get()
        let routes = cluster.primary.state.routes(for: facts)
        #expect(routes.allSatisfy { $0.isEmpty })
        // A copy sent again that cannot be wrapped (a snapshot catch-up) does not leave a stale one.
        let otherLocal = Names.arn(other, inRegion: "eu-west-1")
        cluster.replicas[0].missingKey = "default"
        var snapshotCopy = try #require(cluster.primary.state.secrets[other])
        snapshotCopy.replicas = [ReplicaStatus(region: "eu-west-1", kmsKeyId: "default", state: .inSync)]
        cluster.lsn += 1
        try cluster.replicas[0].receive([.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: snapshotCopy)],
                                        routes: [["eu-west-1"]], lsn: cluster.lsn, primaryState: cluster.primary.state)
        #expect(cluster.replicas[0].state.secrets[otherLocal] == nil)
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices[other]?.kind == .failed)
        // The key is back: trying the region again copies the secret whole.
        cluster.replicas[0].missingKey = nil
        try cluster.run(.replicateSecretToRegions(secretId: "db", replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: "alias/gone")],
                                                  forceOverwrite: false))
        try cluster.reportNotices()
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.state == .inSync)
        #expect(cluster.replicas[0].state.secrets[local]?.versions.count == 2)
        #expect(comparable(try #require(cluster.replicas[0].state.secrets[local]))
            == comparable(try #require(cluster.primary.state.secrets[arn])))
    }

    @Test func replicasRefuseWritesAndPromoteWithoutThePrimary() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        var eu = Harness()
        eu.state = cluster.replicas[0].state
        let euRegion = DecisionContext(now: t0, region: "eu-west-1", accountId: account, arnSuffix: "ZZZZZZ", versionId: "v")
        let writes: [Command] = [
            .putSecretValue(secretId: "db", clientRequestToken: token(5), value: sealed("w"), versionStages: nil),
            .updateSecret(secretId: "db", clientRequestToken: nil, description: "x", kmsKeyId: nil, value: nil),
            .updateSecretVersionStage(secretId: "db", versionStage: "s", removeFromVersionId: nil, moveToVersionId: nil),
            .deleteSecret(secretId: "db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true),
            .restoreSecret(secretId: "db"),
            .tagResource(secretId: "db", tags: []), .untagResource(secretId: "db", tagKeys: []),
            .putResourcePolicy(secretId: "db", policy: "{}"), .deleteResourcePolicy(secretId: "db"),
            .rotateSecret(secretId: "db", rotationLambdaARN: "arn:aws:lambda:eu-west-1:111122223333:function:f", rules: nil),
            .cancelRotateSecret(secretId: "db"),
            .replicateSecretToRegions(secretId: "db", replicas: [ReplicaRegion(region: "ap-southeast-2", kmsKeyId: nil)],
                                      forceOverwrite: false),
            .removeRegionsFromReplication(secretId: "db", regions: ["us-east-1"]),
        ]
        for command in writes {
            #expect(eu.state.decide(command, context: euRegion) == .failure(.replicaReadOnly), "\(command)")
        }
        // Reads record their access day locally, and tell the primary.
        let read = try eu.state.decide(.recordAccess(secretId: "db"), context: euRegion).get()
        #expect(read.count == 2)
        if case .replicaNoticeSet("us-east-1", _, let notice?) = read.last { #expect(notice.accessedDay != nil) } else {
            Issue.record("no access notice: \(read)")
        }
        // The primary cannot delete it while it has replicas.
        if case .failure(let error) = cluster.primary.run(.deleteSecret(secretId: "db", recoveryWindowInDays: nil,
                                                                         forceDeleteWithoutRecovery: true)) {
            #expect(error.code == "InvalidParameterException")
        } else {
            Issue.record("a primary with replicas was deleted")
        }

        // Promotion is the replica region's own decision: no primary involved.
        let promoted = try eu.state.decide(.stopReplicationToReplica(secretId: "db"), context: euRegion).get()
        for fact in promoted { cluster.replicas[0].state.apply(fact) }
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let euARN = Names.arn(arn, inRegion: "eu-west-1")
        #expect(cluster.replicas[0].state.secrets[euARN]?.isReplica == false)
        // Changes the primary makes before it hears of it no longer reach the promoted secret.
        try cluster.run(.putSecretValue(secretId: "db", clientRequestToken: token(3), value: sealed("late"), versionStages: nil))
        #expect(cluster.replicas[0].state.secrets[euARN]?.versions.count == 1)
        // When the primary returns and hears of it, eu-west-1 leaves its replica list.
        try cluster.reportNotices()
        #expect(cluster.primary.state.secrets[arn]?.replicas == [])
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices.isEmpty == true)
        // Now the primary may be deleted, and the promoted secret stays.
        try cluster.run(.deleteSecret(secretId: "db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true))
        #expect(cluster.replicas[0].state.secrets[euARN] != nil)
    }

    /// Found by the simulator (seed 9 of the first runs): a region promotes its copy and deletes
    /// it; the primary, not yet aware, sends it a copy again (a snapshot catch-up taken before
    /// the hello's notices were recorded); then it records the promotion and drops the region.
    /// The region must not keep that copy, which nothing would ever update or remove.
    @Test func aCopySentBeforeAPromotionWasHeardIsRemovedWithIt() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        try cluster.reportNotices()
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let euARN = Names.arn(arn, inRegion: "eu-west-1")
        let eu = DecisionContext(now: t0, region: "eu-west-1", accountId: account, arnSuffix: "ZZZZZZ", versionId: "v")
        for command in [Command.stopReplicationToReplica(secretId: "db"),
                        .deleteSecret(secretId: "db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true)] {
            for fact in try cluster.replicas[0].state.decide(command, context: eu).get() { cluster.replicas[0].state.apply(fact) }
        }
        #expect(cluster.replicas[0].state.secrets[euARN] == nil)
        let pending = cluster.replicas[0].state.sources[region]?.notices ?? [:]
        // The stale snapshot: the primary still lists eu-west-1.
        let secret = try #require(cluster.primary.state.secrets[arn])
        try cluster.replicas[0].receive([.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: secret)], routes: [["eu-west-1"]],
                                        lsn: cluster.lsn, primaryState: cluster.primary.state, snapshot: true)
        #expect(cluster.replicas[0].state.secrets[euARN]?.isReplica == true)
        // Then the primary records the promotion the hello carried.
        try cluster.run(.recordReplicaNotices(region: "eu-west-1", notices: pending))
        #expect(cluster.primary.state.secrets[arn]?.replicas == [])
        #expect(cluster.replicas[0].state.secrets[euARN] == nil, "an orphan copy stayed")
        try cluster.reportNotices()
        #expect(cluster.replicas[0].state.sources[region]?.notices.isEmpty ?? true)
    }

    /// Found by the simulator (seeds 4 and 21 of the first runs): the primary records a region's
    /// Failed notice after it sent the region a copy that took there after all (the clash was
    /// gone by then). Nothing is shipped to a Failed region, so the copy must go.
    @Test func aCopyThatTookAfterItsRegionFailedIsRemoved() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: []))
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let euARN = Names.arn(arn, inRegion: "eu-west-1")
        // eu-west-1 has a secret of that name: the copy fails there (a clash).
        let eu = DecisionContext(now: t0, region: "eu-west-1", accountId: account, arnSuffix: "QQQQQQ", versionId: "v")
        for fact in try cluster.replicas[0].state.decide(.createSecret(name: "db", clientRequestToken: token(2), description: nil, kmsKeyId: nil,
                                                                         value: sealed("mine"), tags: []), context: eu).get() {
            cluster.replicas[0].state.apply(fact)
        }
        try cluster.run(.replicateSecretToRegions(secretId: "db", replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)], forceOverwrite: false))
        let failed = cluster.replicas[0].state.sources[region]?.notices ?? [:]
        #expect(failed[arn]?.kind == .failed)
        // The clash goes; a copy sent before the Failed notice was recorded takes.
        for fact in try cluster.replicas[0].state.decide(.deleteSecret(secretId: "db", recoveryWindowInDays: nil, forceDeleteWithoutRecovery: true),
                                                         context: eu).get() {
            cluster.replicas[0].state.apply(fact)
        }
        let secret = try #require(cluster.primary.state.secrets[arn])
        try cluster.replicas[0].receive([.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: secret)], routes: [["eu-west-1"]],
                                        lsn: cluster.lsn, primaryState: cluster.primary.state, snapshot: true)
        #expect(cluster.replicas[0].state.secrets[euARN]?.isReplica == true)
        // The primary records the Failed notice, then the Seeded one.
        try cluster.run(.recordReplicaNotices(region: "eu-west-1", notices: failed))
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.state == .failed)
        try cluster.reportNotices()
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.state == .failed)
        #expect(cluster.replicas[0].state.secrets[euARN] == nil, "a copy nothing updates stayed")
    }

    /// Region-level DR: every copy of one region's secrets here, of every account, promoted in
    /// one decision; the copies of other regions stay; a second run decides nothing.
    @Test func promotingALostRegionTakesEveryCopyOfItsSecretsAndOnlyThose() throws {
        var cluster = Cluster()
        for name in ["a", "b"] {
            try cluster.run(.createSecret(name: name, clientRequestToken: token(name == "a" ? 1 : 2), description: nil, kmsKeyId: nil,
                                          value: sealed(name), tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        }
        try cluster.run(.createSecret(name: "home", clientRequestToken: token(3), description: nil, kmsKeyId: nil, value: sealed("h"), tags: []))
        let eu = DecisionContext(now: t0 + 5, region: "eu-west-1", accountId: account, arnSuffix: "ZZZZZZ", versionId: "v")
        // A copy of another region's secret (its intake from ap-southeast-2) stays a replica.
        let other = Secret(arn: "arn:aws:secretsmanager:ap-southeast-2:\(account):secret:other-QQQQQQ", name: "other", accountId: account,
                           description: nil, kmsKeyId: nil, tags: [], createdDate: t0, lastChangedDate: t0)
        for fact in cluster.replicas[0].state.intake([.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: other)],
                                                     from: "ap-southeast-2", epoch: 1, lsn: 1, localRegion: "eu-west-1",
                                                     seal: { value, _, _, _ in .success(value) }) {
            cluster.replicas[0].state.apply(fact)
        }
        let state = cluster.replicas[0].state
        #expect(state.promotableReplicas(of: "us-east-1").map(\.name) == ["a", "b"])
        let facts = try state.decide(.promoteReplicas(of: "us-east-1"), context: eu).get()
        #expect(facts.count == 4)
        for fact in facts { cluster.replicas[0].state.apply(fact) }
        let after = cluster.replicas[0].state
        #expect(after.secrets.values.filter { $0.name == "a" || $0.name == "b" }.allSatisfy { !$0.isReplica && $0.lastChangedDate == t0 + 5 })
        #expect(after.secrets["arn:aws:secretsmanager:eu-west-1:\(account):secret:other-QQQQQQ"]?.primaryRegion == "ap-southeast-2")
        #expect(after.sources["us-east-1"]?.notices.values.allSatisfy { $0.kind == .promoted } == true)
        #expect(try after.decide(.promoteReplicas(of: "us-east-1"), context: eu).get().isEmpty)
        // us-east-1 hears of both and drops eu-west-1 from each.
        try cluster.reportNotices()
        for name in ["a", "b"] {
            let arn = try #require(cluster.primary.state.arn(name: name, accountId: account))
            #expect(cluster.primary.state.secrets[arn]?.replicas == [])
        }
    }

    @Test func removingARegionDeletesItsCopyOnly() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil),
                                                           ReplicaRegion(region: "ap-southeast-2", kmsKeyId: nil)]))
        try cluster.run(.removeRegionsFromReplication(secretId: "db", regions: ["eu-west-1"]))
        #expect(cluster.replicas[0].state.secrets.isEmpty)
        #expect(cluster.replicas[1].state.secrets.count == 1)
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        #expect(cluster.primary.state.secrets[arn]?.replicas.map(\.region) == ["ap-southeast-2"])
        #expect(try cluster.run(.removeRegionsFromReplication(secretId: "db", regions: ["eu-west-1"]))
            == .failure(.notReplicatedTo("eu-west-1")))
        #expect(try cluster.run(.replicateSecretToRegions(secretId: "db", replicas: [ReplicaRegion(region: "us-east-1", kmsKeyId: nil)],
                                                          forceOverwrite: false)) == .failure(.invalidReplicaRegion))
    }

    @Test func redeliveredRecordsChangeNothing() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        let before = cluster.primary.state
        let facts = try cluster.primary.run(.putSecretValue(secretId: "db", clientRequestToken: token(2), value: sealed("y"),
                                                            versionStages: nil)).get()
        let routes = before.routes(for: facts)
        try cluster.replicas[0].receive(facts, routes: routes, lsn: 2, primaryState: cluster.primary.state)
        let once = cluster.replicas[0].state
        try cluster.replicas[0].receive(facts, routes: routes, lsn: 2, primaryState: cluster.primary.state)
        try cluster.replicas[0].receive(facts, routes: routes, lsn: 1, primaryState: cluster.primary.state)
        #expect(cluster.replicas[0].state == once)
    }

    @Test func anAcknowledgementClearsOnlyTheNoticeItAcknowledges() throws {
        var cluster = Cluster()
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)]))
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        // The primary records the copy's notice; before its acknowledgement reaches eu-west-1,
        // the replica is promoted there.
        let before = cluster.primary.state
        let recorded = try cluster.primary.run(.recordReplicaNotices(region: "eu-west-1",
                                                                     notices: [arn: ReplicaNotice(kind: .seeded)])).get()
        let euContext = DecisionContext(now: t0, region: "eu-west-1", accountId: account, arnSuffix: "ZZZZZZ", versionId: "v")
        for fact in try cluster.replicas[0].state.decide(.stopReplicationToReplica(secretId: "db"), context: euContext).get() {
            cluster.replicas[0].state.apply(fact)
        }
        cluster.lsn += 1
        try cluster.replicas[0].receive(recorded, routes: before.routes(for: recorded), lsn: cluster.lsn,
                                        primaryState: cluster.primary.state)
        // The promotion is still to be told.
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices[arn] == ReplicaNotice(kind: .promoted))
        try cluster.reportNotices()
        #expect(cluster.primary.state.secrets[arn]?.replicas == [])
    }

    /// ReplicationStatus' LastAccessedDate is the replica region's own last read, reported by
    /// notice: amended onto a pending confirmation, never moved back, and never a change of the
    /// secret itself (no LastChangedDate, nothing shipped).
    @Test func aReplicaReadBecomesItsStatusLastAccessedDate() throws {
        var cluster = Cluster()
        let day = Limits.millisPerDay
        try cluster.run(.createSecret(name: "db", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: sealed("x"),
                                      tags: [], replicas: []))
        try cluster.run(.recordAccess(secretId: "db"))
        try cluster.run(.replicateSecretToRegions(secretId: "db", replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil)],
                                                  forceOverwrite: false))
        let arn = try #require(cluster.primary.state.arn(name: "db", accountId: account))
        let local = Names.arn(arn, inRegion: "eu-west-1")
        // The primary's reads are not the replica region's.
        #expect(cluster.primary.state.secrets[arn]?.lastAccessedDate == SecretState.day(of: t0))
        #expect(cluster.replicas[0].state.secrets[local]?.lastAccessedDate == nil)

        // Read before the copy's confirmation went out: the pending notice is amended.
        try cluster.read("db", inReplica: 0, now: t0 + 2 * day)
        let readDay = SecretState.day(of: t0 + 2 * day)
        #expect(cluster.replicas[0].state.secrets[local]?.lastAccessedDate == readDay)
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices[arn] == ReplicaNotice(kind: .seeded, accessedDay: readDay))
        let changed = cluster.primary.state.secrets[arn]?.lastChangedDate
        try cluster.reportNotices()
        let status = try #require(cluster.primary.state.secrets[arn]?.replicas.first)
        #expect(status == ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .inSync, message: ReplicaStatus.succeededMessage,
                                        lastAccessedDate: readDay))
        #expect(cluster.primary.state.secrets[arn]?.lastChangedDate == changed)
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices.isEmpty == true)

        // The same day again: nothing; a later day: an access notice of its own.
        try cluster.read("db", inReplica: 0, now: t0 + 2 * day + 1000)
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices.isEmpty == true)
        try cluster.read("db", inReplica: 0, now: t0 + 5 * day)
        let later = SecretState.day(of: t0 + 5 * day)
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices[arn] == ReplicaNotice(kind: .accessed, accessedDay: later))
        let before = cluster.primary.state
        let recorded = try cluster.primary.run(.recordReplicaNotices(
            region: "eu-west-1", notices: try #require(cluster.replicas[0].state.sources["us-east-1"]?.notices))).get()
        #expect(recorded.count == 2)
        // The status change stays in us-east-1; only the acknowledgement goes to eu-west-1.
        #expect(before.routes(for: recorded) == [[], ["eu-west-1"]])
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.lastAccessedDate == later)
        // A late resend of an older day does not move it back.
        try cluster.run(.recordReplicaNotices(region: "eu-west-1", notices: [arn: ReplicaNotice(kind: .accessed, accessedDay: readDay)]))
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.lastAccessedDate == later)
        // A copy sent again (a snapshot catch-up) keeps the region's own day, and its confirmation
        // carries that day on.
        try cluster.read("db", inReplica: 0, now: t0 + 6 * day)
        let last = SecretState.day(of: t0 + 6 * day)
        let primary = try #require(cluster.primary.state.secrets[arn])
        cluster.lsn += 1
        try cluster.replicas[0].receive([.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: primary)],
                                        routes: [["eu-west-1"]], lsn: cluster.lsn, primaryState: cluster.primary.state)
        #expect(cluster.replicas[0].state.secrets[local]?.lastAccessedDate == last)
        #expect(cluster.replicas[0].state.sources["us-east-1"]?.notices[arn] == ReplicaNotice(kind: .seeded, accessedDay: last))
        try cluster.reportNotices()
        #expect(cluster.primary.state.secrets[arn]?.replicas.first?.lastAccessedDate == last)
    }

    @Test func copiesAreLoggedWithoutValuesAndFilledFromTheState() throws {
        var primary = Harness()
        let big = NewValue(sealed: SealedValue(kind: .binary, envelope: Array(repeating: 7, count: 65_600), keyId: "k",
                                               equalityToken: [1]), plaintextSize: 65_536)
        primary.ok(.createSecret(name: "big", clientRequestToken: token(1), description: nil, kmsKeyId: nil, value: big, tags: []))
        for n in 2...60 {
            var value = big
            value.sealed.equalityToken = [UInt8(n)]
            primary.ok(.putSecretValue(secretId: "big", clientRequestToken: token(n), value: value, versionStages: nil))
        }
        let facts = primary.ok(.replicateSecretToRegions(
            secretId: "big", replicas: [ReplicaRegion(region: "eu-west-1", kmsKeyId: nil),
                                        ReplicaRegion(region: "ap-southeast-2", kmsKeyId: nil)], forceOverwrite: false))
        // Two copies of a 4 MB secret: the record stays small.
        #expect(Fact.encode(routed: facts, routes: facts.map { _ in [] }).count < 64 * 1024)
        guard case let .replicaSeeded(_, _, copy) = try #require(facts.last) else {
            Issue.record("no copy")
            return
        }
        #expect(copy.versions.count == 60 && copy.versions.allSatisfy { $0.sealed.envelope.isEmpty })
        let filled = try #require(primary.state.filledCopy(copy))
        let arn = try #require(primary.state.arn(name: "big", accountId: account))
        #expect(filled.versions == primary.state.secrets[arn]?.versions)
        // A version gone since is left out; a secret gone since has no copy.
        var later = primary.state
        later.apply(.versionsRemoved(arn: arn, versionIds: [copy.versions[0].versionId]))
        #expect(later.filledCopy(copy)?.versions.count == 59)
        later.apply(.secretPurged(arn: arn))
        #expect(later.filledCopy(copy) == nil)
    }

    /// A random workload on the primary, shipped record by record: every replica ends equal to
    /// the primary for the secrets replicated to it, and holds nothing else.
    @Test(arguments: 0..<8) func randomWorkloadsConverge(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var cluster = Cluster()
        let regions = ["eu-west-1", "ap-southeast-2"]
        var names: [String] = []
        var tokens = 100
        for step in 0..<300 {
            cluster.primary.now += Int64(random.next() % 1000)
            tokens += 1
            let name = names.isEmpty || random.next() % 6 == 0 ? "s\(names.count)" : names[Int(random.next() % UInt64(names.count))]
            let command: Command
            switch random.next() % 10 {
            case 0:
                let chosen = regions.filter { _ in random.next() % 2 == 0 }.map { ReplicaRegion(region: $0, kmsKeyId: nil) }
                command = .createSecret(name: name, clientRequestToken: token(tokens), description: "n\(step)", kmsKeyId: nil,
                                        value: sealed("v\(step)"), tags: [], replicas: chosen)
                if !names.contains(name) { names.append(name) }
            case 1, 2, 3:
                command = .putSecretValue(secretId: name, clientRequestToken: token(tokens), value: sealed("v\(step)"),
                                          versionStages: random.next() % 4 == 0 ? ["custom"] : nil)
            case 4:
                let ids = cluster.primary.state.arn(name: name, accountId: account).flatMap { cluster.primary.state.secrets[$0] }?
                    .versions.map(\.versionId) ?? []
                command = .updateSecretVersionStage(secretId: name, versionStage: "blue", removeFromVersionId: nil,
                                                    moveToVersionId: ids.isEmpty ? nil : ids[Int(random.next() % UInt64(ids.count))])
            case 5: command = .tagResource(secretId: name, tags: [SecretTag(key: "k\(random.next() % 3)", value: "\(step)")])
            case 6: command = .putResourcePolicy(secretId: name, policy: "{\"Id\":\"\(step)\"}")
            case 7:
                command = .replicateSecretToRegions(secretId: name, replicas: [ReplicaRegion(region: regions[Int(random.next() % 2)],
                                                                                              kmsKeyId: nil)], forceOverwrite: false)
            case 8: command = .removeRegionsFromReplication(secretId: name, regions: [regions[Int(random.next() % 2)]])
            default: command = .updateSecret(secretId: name, clientRequestToken: nil, description: "u\(step)", kmsKeyId: nil, value: nil)
            }
            try cluster.run(command)
            if random.next() % 4 == 0 {
                let index = Int(random.next() % 2)
                // A read of a secret the region does not hold (or holds deleted) is refused there; fine.
                try? cluster.read(name, inReplica: index, now: cluster.primary.now + Int64(step) * Limits.millisPerDay / 40)
            }
            if random.next() % 5 == 0 { try cluster.reportNotices() }
        }
        try cluster.reportNotices()
        for replica in cluster.replicas {
            var expected: [String: Secret] = [:]
            for secret in cluster.primary.state.secrets.values
            where secret.replicas.contains(where: { $0.region == replica.region && $0.state != .failed }) {
                expected[Names.arn(secret.arn, inRegion: replica.region)] = comparable(secret)
            }
            #expect(replica.state.secrets.mapValues(comparable) == expected, "seed \(seed), \(replica.region)")
            #expect(replica.state.secrets.values.allSatisfy { $0.primaryRegion == region })
            #expect(replica.state.sources[region]?.notices.isEmpty ?? true)
            for secret in cluster.primary.state.secrets.values {
                for status in secret.replicas where status.region == replica.region {
                    #expect(status.state == .inSync)
                    // Each region's last read reached its primary's ReplicationStatus.
                    let copy = replica.state.secrets[Names.arn(secret.arn, inRegion: replica.region)]
                    #expect(status.lastAccessedDate == copy?.lastAccessedDate, "seed \(seed), \(replica.region)")
                }
            }
        }
    }
}
