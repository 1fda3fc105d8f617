import Testing
import LogShipping
import SecretStore

/// The notices a replica sends its source go in two lists, so that a source of the previous
/// version (which cannot read an access day, and refuses a whole list it cannot read) still
/// records the others during a rolling upgrade.
@Suite struct ReplicaNoticeListTests {
    static func arn(_ n: Int) -> String { "arn:aws:secretsmanager:us-east-1:111122223333:secret:s\(n)-AbCdEf" }

    func decoded(_ lists: [[UInt8]]) throws -> [[Fact]] {
        try lists.map { try Fact.decodeList($0).get() }
    }

    @Test func noticesWithoutADayTravelApartFromThoseWithOne() throws {
        var progress = SourceProgress()
        progress.notices = [
            Self.arn(1): ReplicaNotice(kind: .seeded),
            Self.arn(2): ReplicaNotice(kind: .failed, message: "why"),
            Self.arn(3): ReplicaNotice(kind: .accessed, accessedDay: 86_400_000),
            Self.arn(4): ReplicaNotice(kind: .seeded, accessedDay: 0),
            Self.arn(5): ReplicaNotice(kind: .promoted),
        ]
        let lists = ReplicaNoticeLists.encode(progress, source: "us-east-1")
        #expect(lists.count == 2)
        let facts = try decoded(lists)
        #expect(facts[0].map(\.arnOfNotice) == [Self.arn(1), Self.arn(2), Self.arn(5)])
        #expect(facts[1].map(\.arnOfNotice) == [Self.arn(3), Self.arn(4)])
        // The first list holds only format-2 facts: what the previous version reads.
        #expect(facts[0].allSatisfy { $0.encode().first == 2 })
        #expect(facts[1].allSatisfy { $0.encode().first == 3 })
    }

    @Test func oneListWhenAllAreAlike() throws {
        #expect(ReplicaNoticeLists.encode(nil, source: "us-east-1").isEmpty)
        #expect(ReplicaNoticeLists.encode(SourceProgress(), source: "us-east-1").isEmpty)
        var progress = SourceProgress()
        progress.notices = [Self.arn(1): ReplicaNotice(kind: .accessed, accessedDay: 0)]
        #expect(try decoded(ReplicaNoticeLists.encode(progress, source: "us-east-1")).map(\.count) == [1])
        progress.notices = [Self.arn(1): ReplicaNotice(kind: .seeded), Self.arn(2): ReplicaNotice(kind: .promoted)]
        #expect(try decoded(ReplicaNoticeLists.encode(progress, source: "us-east-1")).map(\.count) == [2])
    }
}

private extension Fact {
    var arnOfNotice: String? {
        if case let .replicaNoticeSet(_, arn, _) = self { arn } else { nil }
    }
}
