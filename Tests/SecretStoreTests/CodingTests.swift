import Testing
import SecretStore
import TestSupport

@Suite struct CodingTests {
    static let version = SecretVersion(
        versionId: "v-1", stages: ["AWSCURRENT", "blue"], createdDate: -5,
        sealed: SealedValue(kind: .binary, envelope: [0, 255, 7, 9, 9], keyId: "alias/ключ",
                            equalityToken: Array(repeating: 0xAB, count: 32)))
    static let rotation = Rotation(
        enabled: true, lambdaARN: "arn:aws:lambda:us-east-1:111122223333:function:r",
        rules: RotationRules(automaticallyAfterDays: 30, scheduleExpression: "rate(10 days)", duration: "2h"),
        nextRotationDate: .max, lastRotatedDate: .min)
    static let arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf"

    /// One of every fact, with optionals both present and absent.
    static let facts: [Fact] = [
        .secretCreated(arn: arn, name: "a", accountId: "111122223333", description: "d 🙂", kmsKeyId: nil,
                       tags: [SecretTag(key: "k", value: "")], date: 1_700_000_000_000),
        .secretCreated(arn: arn, name: "a", accountId: "111122223333", description: nil, kmsKeyId: "k", tags: [], date: 0),
        .versionAdded(arn: arn, version: version,
                      moves: [LabelMove(label: "AWSCURRENT", from: nil, to: "v-1"),
                              LabelMove(label: "AWSPREVIOUS", from: "v-0", to: nil)], date: 3),
        .versionsRemoved(arn: arn, versionIds: ["x", "y"]),
        .labelsMoved(arn: arn, moves: [], date: 4),
        .metadataUpdated(arn: arn, description: "", kmsKeyId: nil, date: 5),
        .secretDeleted(arn: arn, deletionDate: 6),
        .secretRestored(arn: arn, date: 7),
        .secretPurged(arn: arn),
        .tagsSet(arn: arn, tags: [SecretTag(key: "a", value: "b"), SecretTag(key: "c", value: "d")], date: 8),
        .policySet(arn: arn, policy: "{}", date: 9),
        .policySet(arn: arn, policy: nil, date: 9),
        .rotationSet(arn: arn, rotation: rotation, date: 10),
        .rotationSet(arn: arn, rotation: Rotation(), date: 10),
        .secretAccessed(arn: arn, day: 86_400_000),
        .versionAccessed(arn: arn, versionId: "v1", day: 86_400_000),
        .valuesResealed(arn: arn, values: [ResealedValue(versionId: "v-1", sealed: version.sealed)], date: 11),
        .valuesResealed(arn: arn, values: [], date: 12),
        .replicationSet(arn: arn, replicas: [ReplicaStatus(region: "eu-west-1", kmsKeyId: "alias/k", state: .failed, message: "m"),
                                             ReplicaStatus(region: "ap-southeast-2", kmsKeyId: nil, state: .inProgress),
                                             ReplicaStatus(region: "sa-east-1", kmsKeyId: nil, state: .inSync, message: "ok",
                                                           lastAccessedDate: 86_400_000)]),
        .replicaSeeded(region: "eu-west-1", forceOverwrite: true, secret: Secret(
            arn: arn, name: "a", accountId: "111122223333", description: nil, kmsKeyId: "k", tags: [], createdDate: 1,
            lastChangedDate: 2, versions: [version, SecretVersion(versionId: "v-2", stages: [], createdDate: 3, sealed: SealedValue(
                kind: .string, envelope: [1], keyId: "t", equalityToken: [], boundARN: "arn:aws:secretsmanager:x:1:secret:y"))],
            primaryRegion: "us-east-1", replicas: [ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .inSync)])),
        .replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: Secret(
            arn: arn, name: "a", accountId: "111122223333", description: nil, kmsKeyId: nil, tags: [], createdDate: 1,
            lastChangedDate: 2, replicas: [ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .inSync, lastAccessedDate: 0)])),
        .replicaRemoved(arn: arn, region: "eu-west-1"),
        .replicaPromoted(arn: arn, date: 13),
        .noticeAcknowledged(arn: arn, region: "eu-west-1", notice: ReplicaNotice(kind: .promoted)),
        .replicatedThrough(sourceRegion: "us-east-1", epoch: 3, lsn: .max),
        .replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: arn, notice: ReplicaNotice(kind: .failed, message: "why")),
        .replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: arn, notice: nil),
        .replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: arn, notice: ReplicaNotice(kind: .accessed, accessedDay: 0)),
        .noticeAcknowledged(arn: arn, region: "eu-west-1", notice: ReplicaNotice(kind: .seeded, accessedDay: 172_800_000)),
        .replicasDropped(sourceRegion: "us-east-1"),
    ]

    /// Records and snapshots written before replication (format 1, "SRS1") still decode.
    @Test func formatOneStillDecodes() throws {
        let created = Self.facts[0]
        let v2 = created.encode()
        #expect(v2.first == 2)
        #expect(Fact.decode([1] + v2.dropFirst()) == .success(created))
        // A new kind in format 1 is refused.
        let seeded = Self.facts.first { if case .replicaSeeded = $0 { true } else { false } }!
        #expect(Fact.decode([1] + seeded.encode().dropFirst()).isFailure)

        var state = SecretState()
        state.apply(created)
        #expect(Array(state.encode().prefix(4)) == Array("SRS4".utf8))
        let snapshot = state.encode(layout: 3)
        #expect(Array(snapshot.prefix(4)) == Array("SRS3".utf8))
        #expect(SecretState.decode(snapshot) == .success(state))
        // SRS1: no replication members after the secret (primaryRegion nil, no replicas) and no sources.
        let v1 = Array("SRS1".utf8) + snapshot[4..<(snapshot.count - 3)]
        #expect(SecretState.decode(v1) == .success(state))
    }

    /// Records and snapshots written before replicas' access days (format 2, "SRS2") still
    /// decode, and a fact without an access day is still written in format 2, so that a node
    /// of the previous version reads it (a rolling upgrade); only a day needs format 3.
    @Test func formatTwoIsStillReadAndWrittenWhenNoDayIsCarried() throws {
        let status = ReplicaStatus(region: "eu-west-1", kmsKeyId: nil, state: .inSync, message: "m")
        let set = Fact.replicationSet(arn: Self.arn, replicas: [status])
        #expect(set.encode().first == 2)
        #expect(Fact.decode(set.encode()) == .success(set))
        var dated = status
        dated.lastAccessedDate = 86_400_000
        let withDay = Fact.replicationSet(arn: Self.arn, replicas: [status, dated])
        #expect(withDay.encode().first == 3)
        #expect(Fact.decode(withDay.encode()) == .success(withDay))
        // Format-3 bytes labelled 2 are refused (trailing bytes), and so is the new notice kind.
        #expect(Fact.decode([2] + withDay.encode().dropFirst()).isFailure)
        let accessed = Fact.noticeAcknowledged(arn: Self.arn, region: "eu-west-1", notice: ReplicaNotice(kind: .accessed))
        #expect(accessed.encode().first == 3)
        #expect(Fact.decode([2] + accessed.encode().dropFirst().dropLast()).isFailure)
        for fact in [Fact.noticeAcknowledged(arn: Self.arn, region: "eu-west-1", notice: ReplicaNotice(kind: .seeded)),
                     .replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: Self.arn, notice: ReplicaNotice(kind: .failed, message: "x")),
                     .replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: Self.arn, notice: nil)] {
            #expect(fact.encode().first == 2)
            #expect(Fact.decode(fact.encode()) == .success(fact))
        }
        for fact in [Fact.noticeAcknowledged(arn: Self.arn, region: "eu-west-1", notice: ReplicaNotice(kind: .seeded, accessedDay: 0)),
                     .replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: Self.arn, notice: ReplicaNotice(kind: .accessed, accessedDay: 7))] {
            #expect(fact.encode().first == 3)
            #expect(Fact.decode(fact.encode()) == .success(fact))
        }
        // Of the corpus, only the four facts that carry a day are written as format 3; a copy
        // is shipped without its replica list's days, so as format 2.
        #expect(Self.facts.filter { $0.encode().first == 3 }.count == 4)
        let datedCopy = try #require(Self.facts.first { if case .replicaSeeded = $0 { $0.encode().first == 3 } else { false } })
        #expect(datedCopy.forShipping.encode().first == 2)
        guard case let .replicaSeeded(_, _, shipped) = datedCopy.forShipping, case let .replicaSeeded(_, _, logged) = datedCopy else {
            Issue.record("not a copy")
            return
        }
        #expect(shipped.replicas.map(\.lastAccessedDate) == [nil] && logged.replicas.map(\.lastAccessedDate) == [0])
        #expect(Self.facts.filter { $0.encode().first == 2 }.allSatisfy { $0.forShipping == $0 })
        // A version's read day is format 4, and is never shipped.
        #expect(Self.facts.allSatisfy { $0.encode().first == 2 || $0.encode().first == 3 || $0.kindName == "versionAccessed" })

        var state = SecretState()
        state.apply(Self.facts[0])
        state.apply(.replicaNoticeSet(sourceRegion: "us-east-1", primaryARN: Self.arn, notice: ReplicaNotice(kind: .seeded)))
        let snapshot = state.encode(layout: 3)
        #expect(snapshot.last == 0)
        let v2 = Array("SRS2".utf8) + snapshot[4..<(snapshot.count - 1)]
        #expect(SecretState.decode(v2) == .success(state))
    }

    /// A secret whose tags were all removed still lists `Tags: []` (AWS), so layout 4 keeps
    /// `everTagged`: in snapshots ("SRS4"), and in a copy shipped as format 4 only when the flag
    /// says more than the tags (tagged once, none left); older layouts derive it from the tags.
    @Test func formatFourKeepsWhetherASecretWasEverTagged() throws {
        var state = SecretState()
        state.apply(Self.facts[0])
        state.apply(.tagsSet(arn: Self.arn, tags: [], date: 5))
        let untagged = try #require(state.secrets[Self.arn])
        #expect(untagged.everTagged && untagged.tags.isEmpty)
        #expect(SecretState.decode(state.encode()) == .success(state))
        // SRS3 cannot say it: read back, a secret without tags was never tagged.
        let older = try SecretState.decode(state.encode(layout: 3)).get()
        #expect(older.secrets[Self.arn]?.everTagged == false)
        // A copy of it needs format 4; a tagged or never-tagged one stays in the older formats.
        let copy = Fact.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: untagged)
        #expect(copy.encode().first == 4)
        #expect(Fact.decode(copy.encode()) == .success(copy))
        var never = untagged
        never.everTagged = false
        #expect(Fact.replicaSeeded(region: "eu-west-1", forceOverwrite: false, secret: never).encode().first == 2)
        // Format-4 bytes labelled 3 are refused (trailing bytes), and so is the new kind.
        #expect(Fact.decode([3] + copy.encode().dropFirst()).isFailure)
        let read = Fact.versionAccessed(arn: Self.arn, versionId: "v", day: 0)
        #expect(read.encode().first == 4 && Fact.decode(read.encode()) == .success(read))
        #expect(Fact.decode([3] + read.encode().dropFirst()).isFailure)
        // A version's read day stays in snapshots (layout 4), not in SRS3.
        var withRead = state
        withRead.apply(.versionAdded(arn: Self.arn, version: SecretVersion(versionId: "v", stages: ["AWSCURRENT"], createdDate: 1,
                                                                        sealed: SealedValue(kind: .string, envelope: [1], keyId: "k", equalityToken: [2])),
                                     moves: [], date: 6))
        withRead.apply(read)
        #expect(SecretState.decode(withRead.encode()) == .success(withRead))
        #expect(try SecretState.decode(withRead.encode(layout: 3)).get().secrets[Self.arn]?.version(id: "v")?.lastAccessedDate == nil)
    }

    @Test func routedRecordsRoundTripAndRefuseDamage() {
        let routes = Self.facts.indices.map { $0 % 3 == 0 ? [] : ["eu-west-1", "ap-southeast-2"] }
        let bytes = Fact.encode(routed: Self.facts, routes: routes)
        guard case .success(let decoded) = Fact.decodeRouted(bytes) else {
            Issue.record("routed record did not decode")
            return
        }
        #expect(decoded.map(\.fact) == Self.facts)
        #expect(decoded.map(\.routes) == routes)
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(Fact.decodeRouted(Array(bytes[..<length])).isFailure)
        }
        #expect(Fact.decodeRouted(bytes + [0]).isFailure)
    }

    @Test func factListsRoundTripAndRefuseDamage() {
        let bytes = Fact.encode(list: Self.facts)
        #expect(Fact.decodeList(bytes) == .success(Self.facts))
        #expect(Fact.decodeList(Fact.encode(list: [])) == .success([]))
        #expect(Fact.decodeList(bytes + [0]).isFailure)
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(Fact.decodeList(Array(bytes[..<length])).isFailure)
        }
        var flipped = bytes
        flipped[0] ^= 0xFF
        #expect(Fact.decodeList(flipped).isFailure)
    }

    @Test(arguments: facts)
    func factRoundTrips(fact: Fact) {
        let bytes = fact.encode()
        #expect(bytes == fact.encode())
        #expect(Fact.decode(bytes) == .success(fact))
        #expect(Fact.decode(bytes + [0]).isFailure)
        for length in 0..<bytes.count {
            #expect(Fact.decode(Array(bytes[..<length])).isFailure)
        }
    }

    @Test func flippedBitsNeverCrash() {
        var rng = SplitMix64(seed: 42)
        for fact in Self.facts {
            let bytes = fact.encode()
            for _ in 0..<200 {
                var damaged = bytes
                let index = Int.random(in: 0..<damaged.count, using: &rng)
                damaged[index] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
                // Either refused or some other well-formed fact: never a trap.
                if case .success(let decoded) = Fact.decode(damaged) {
                    #expect(Fact.decode(decoded.encode()) == .success(decoded))
                }
            }
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<5000 {
            let garbage = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = Fact.decode(garbage)
            _ = SecretState.decode(garbage)
            _ = SecretState.decode(Array("SRS1".utf8) + garbage)
        }
        // Huge counts must not allocate: a length far beyond the input is refused at once.
        #expect(Fact.decode([1, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).isFailure)
        // Invalid UTF-8 in a string.
        #expect(Fact.decode([1, 8, 2, 0xC3, 0x28]).isFailure)
        // A varint that is not in shortest form.
        #expect(Fact.decode([1, 8, 0x81, 0x00, 0x61]).isFailure)
    }

    @Test func stateRoundTripsAndRefusesBrokenInvariants() throws {
        var h = Harness()
        h.ok(.createSecret(name: "a", clientRequestToken: nil, description: "x", kmsKeyId: "k", value: sealed("1"),
                           tags: [SecretTag(key: "t", value: "v")]))
        h.ok(.putSecretValue(secretId: "a", clientRequestToken: nil, value: sealed("2"), versionStages: nil))
        h.ok(.createSecret(name: "b", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: nil, tags: []))
        h.ok(.deleteSecret(secretId: "b", recoveryWindowInDays: 7, forceDeleteWithoutRecovery: false))
        let bytes = h.state.encode()
        let decoded = try SecretState.decode(bytes).get()
        #expect(decoded == h.state)
        #expect(decoded.arn(name: "a", accountId: account) == h.secret("a")?.arn)
        #expect(SecretState.decode(bytes + [0]).isFailure)
        #expect(SecretState.decode(Array(bytes.dropLast())).isFailure)
        #expect(SecretState.decode([]).isFailure)
        #expect(try SecretState.decode(SecretState().encode()).get() == SecretState())

        // Blind application of facts no primary would decide can break the invariants; a
        // snapshot of such a state is refused. A label on two versions:
        var twoCurrents = h.state
        let arn = try #require(h.secret("a")?.arn)
        let first = try #require(h.secret("a")?.versions.first?.versionId)
        twoCurrents.apply(.labelsMoved(arn: arn, moves: [LabelMove(label: "AWSCURRENT", from: nil, to: first)], date: 0))
        #expect(twoCurrents.secrets[arn]?.isWellFormed == false)
        #expect(SecretState.decode(twoCurrents.encode()).isFailure)
        // Two secrets of one name in one account:
        var twoNames = h.state
        twoNames.apply(.secretCreated(arn: arn + "x", name: "a", accountId: account, description: nil, kmsKeyId: nil,
                                      tags: [], date: 0))
        #expect(SecretState.decode(twoNames.encode()).isFailure)
    }

    /// Versions naming one keyring key share one key id string (a 36-character id is a heap
    /// object of its own otherwise): when applied, and when a snapshot is decoded.
    @Test func versionsShareTheirKeyIdString() throws {
        func storage(_ text: String) -> UnsafeRawPointer? {
            var copy = text
            return copy.withUTF8 { UnsafeRawPointer($0.baseAddress) }
        }
        let keyId = "45dc24d7-bbe0-4a0e-a3d5-302d1679ba38"
        func value(_ token: String) -> NewValue {
            // A fresh String each time, as decoding a journal record makes one.
            NewValue(sealed: SealedValue(kind: .string, envelope: Array(token.utf8), keyId: String(decoding: Array(keyId.utf8), as: UTF8.self),
                                         equalityToken: Array(token.utf8)), plaintextSize: token.utf8.count)
        }
        var h = Harness()
        h.ok(.createSecret(name: "a", clientRequestToken: nil, description: nil, kmsKeyId: nil, value: value("1"), tags: []))
        h.ok(.putSecretValue(secretId: "a", clientRequestToken: nil, value: value("2"), versionStages: nil))
        h.ok(.putSecretValue(secretId: "a", clientRequestToken: nil, value: value("3"), versionStages: nil))
        let applied = try #require(h.secret("a")).versions.map { storage($0.sealed.keyId) }
        #expect(applied.count == 3 && Set(applied).count == 1 && applied[0] != nil)
        let decoded = try #require(try SecretState.decode(h.state.encode()).get().secrets.values.first).versions.map { storage($0.sealed.keyId) }
        #expect(decoded.count == 3 && Set(decoded).count == 1 && decoded[0] != nil)
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
