import Testing
@testable import RotationEngine
import SecretStore

/// Which rotations are due, from the replicated state alone.
@Suite struct RotationPlannerTests {
    static let lambda = "arn:aws:lambda:us-east-1:111122223333:function:rotate"
    static let now: Int64 = 1_700_000_000_000

    static func secret(_ name: String, enabled: Bool = true, next: Int64? = nil, versions: [SecretVersion] = [],
                       replica: Bool = false, deleted: Bool = false) -> Secret {
        Secret(arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:\(name)-AbCdEf", name: name, accountId: "111122223333",
               description: nil, kmsKeyId: nil, tags: [], createdDate: 0, lastChangedDate: 0,
               deletedDate: deleted ? now + 1 : nil,
               rotation: Rotation(enabled: enabled, lambdaARN: lambda, nextRotationDate: next), versions: versions,
               primaryRegion: replica ? "eu-west-1" : nil)
    }

    static func version(_ id: String, _ stages: [String]) -> SecretVersion {
        SecretVersion(versionId: id, stages: stages, createdDate: 0, sealed: .absent)
    }

    @Test func aWindowThatHasComeIsDueAndOneStillAheadIsNot() {
        let due = RotationPlanner.due([Self.secret("a", next: Self.now), Self.secret("b", next: Self.now + 1)],
                                      now: Self.now, running: [], heldUntil: [:])
        #expect(due.map(\.secretARN) == [Self.secret("a").arn])
        #expect(due.first?.kind == .scheduled)
    }

    @Test func aRotationInProgressIsResumedWithItsOwnToken() {
        let s = Self.secret("a", next: Self.now + 1_000_000, versions: [Self.version("v1", ["AWSCURRENT"]), Self.version("v2", ["AWSPENDING"])])
        #expect(RotationPlanner.due([s], now: Self.now, running: [], heldUntil: [:]).first?.kind == .resume(token: "v2"))
        // A finished rotation leaves AWSPENDING on the new current version: nothing in progress.
        let finished = Self.secret("a", next: Self.now + 1, versions: [Self.version("v2", ["AWSCURRENT", "AWSPENDING"])])
        #expect(RotationPlanner.due([finished], now: Self.now, running: [], heldUntil: [:]).isEmpty)
    }

    @Test func runningHeldDisabledReplicaAndDeletedSecretsAreLeftAlone() {
        let s = Self.secret("a", next: Self.now)
        #expect(RotationPlanner.due([s], now: Self.now, running: [s.arn], heldUntil: [:]).isEmpty)
        #expect(RotationPlanner.due([s], now: Self.now, running: [], heldUntil: [s.arn: Self.now + 1]).isEmpty)
        #expect(RotationPlanner.due([s], now: Self.now, running: [], heldUntil: [s.arn: Self.now]).count == 1)
        #expect(RotationPlanner.due([Self.secret("a", enabled: false, next: Self.now)], now: Self.now, running: [], heldUntil: [:]).isEmpty)
        #expect(RotationPlanner.due([Self.secret("a", next: Self.now, replica: true)], now: Self.now, running: [], heldUntil: [:]).isEmpty)
        #expect(RotationPlanner.due([Self.secret("a", next: Self.now, deleted: true)], now: Self.now, running: [], heldUntil: [:]).isEmpty)
    }

    @Test func aFinishedRotationWhoseEndWasNotRecordedIsRecordedNotRepeated() {
        var current = Self.version("v2", ["AWSCURRENT", "AWSPENDING"])
        current.sealed = SealedValue(kind: .string, envelope: [1], keyId: "k", equalityToken: [2])
        current.createdDate = Self.now - 10
        var s = Self.secret("a", next: Self.now - 5, versions: [Self.version("v1", ["AWSPREVIOUS"]), current])
        #expect(RotationPlanner.due([s], now: Self.now, running: [], heldUntil: [:]).first?.kind == .record(token: "v2"))
        s.rotation.lastRotatedDate = Self.now - 1
        #expect(RotationPlanner.due([s], now: Self.now, running: [], heldUntil: [:]).first?.kind == .scheduled)
    }

    @Test func aWindowMissedWhileDownIsDueOnceOnReturn() {
        // Three windows missed: one rotation, whose finish moves NextRotationDate past now.
        let s = Self.secret("a", next: Self.now - 3 * 86_400_000)
        #expect(RotationPlanner.due([s], now: Self.now, running: [], heldUntil: [:]).count == 1)
    }
}
