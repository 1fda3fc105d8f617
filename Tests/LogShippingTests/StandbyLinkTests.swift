import Testing
import LogShipping
import Replication
import SecretStore

/// A standby of its own region: the source side admits only configured standbys and streams
/// them every record from their log's end (never a snapshot); the standby side appends each
/// record as it is and acknowledges it once durable.
@Suite struct StandbyLinkTests {
    static let source: SourceLink.Configuration = {
        var configuration = SourceLink.Configuration(nodeId: "us-1", region: "us-east-1", peers: [("eu-1", "eu-west-1")],
                                                     heartbeatMillis: 1000, deadAfterMillis: 5000)
        configuration.standbys = ["us-2"]
        configuration.batchRecords = 4
        return configuration
    }()

    static func at(_ millis: Int64) -> LinkInstant { ReplicaLinkTests.at(millis) }
    static func position(_ lsn: UInt64) -> LogPosition { LogPosition(epoch: 1, lsn: lsn) }

    static func opened(_ node: String, committed: UInt64, oldest: UInt64 = 1) -> SourceLink {
        var link = SourceLink(source)
        _ = link.step(.opened(peer: .init(nodeId: node, region: "us-east-1")), now: at(0))
        _ = link.step(.log(committed: position(committed), oldestRetainedLSN: oldest), now: at(0))
        return link
    }

    static func hello(_ node: String, _ position: LogPosition?) -> SourceLink.Input {
        .received(.hello(Hello(nodeId: node, region: "us-east-1", sourceRegion: "us-east-1", position: position)))
    }

    @Test func aConfiguredStandbyIsStreamedFromItsLogsEnd() {
        var link = Self.opened("us-2", committed: 9)
        let actions = link.step(Self.hello("us-2", Self.position(2)), now: Self.at(1))
        #expect(actions.contains(.send(.welcome(Welcome(nodeId: "us-1", region: "us-east-1", mode: .stream, sourcePosition: Self.position(9))))))
        let ships = actions.compactMap { if case .ship(let from, let through, let region) = $0 { "\(from)-\(through)@\(region)" } else { nil } }
        #expect(ships == ["3-6@us-east-1", "7-9@us-east-1"])
        #expect(link.phase == .streaming)
    }

    @Test func anEmptyStandbyStartsFromTheFirstRecord() {
        var link = Self.opened("us-2", committed: 3)
        let actions = link.step(Self.hello("us-2", nil), now: Self.at(1))
        #expect(actions.contains(.ship(from: 1, through: 3, region: "us-east-1")))
    }

    @Test func aNodeOfTheRegionThatIsNoStandbyIsRefused() {
        var link = Self.opened("us-3", committed: 3)
        let actions = link.step(Self.hello("us-3", nil), now: Self.at(1))
        #expect(actions.contains(.send(.refused("node us-3 is not a standby of us-1"))))
        #expect(link.phase == .closed)
    }

    @Test func aStandbyWhoseRecordsAreCompactedAwayIsRefusedNotSnapshotted() {
        var link = Self.opened("us-2", committed: 50, oldest: 20)
        let actions = link.step(Self.hello("us-2", Self.position(5)), now: Self.at(1))
        #expect(!actions.contains { if case .sendSnapshot = $0 { true } else { false } })
        let refusal = actions.compactMap { if case .send(.refused(let text)) = $0 { text } else { nil } }.first ?? ""
        #expect(refusal.contains("seed it from a copy of the primary's data directory"), "\(refusal)")
        var ahead = Self.opened("us-2", committed: 5)
        let aheadActions = ahead.step(Self.hello("us-2", Self.position(9)), now: Self.at(1))
        #expect(aheadActions.contains { if case .send(.refused(let text)) = $0 { text.contains("ahead") } else { false } })
    }

    static let standby = ReplicaLink.Configuration(nodeId: "us-2", region: "us-east-1", sourceRegion: "us-east-1",
                                                   heartbeatMillis: 1000, deadAfterMillis: 5000)

    @Test func theStandbyAppendsEveryRecordAsItIsAndAcknowledgesOnceDurable() {
        var link = ReplicaLink(Self.standby, seed: 1)
        #expect(link.configuration.isStandby)
        _ = link.step(.tick, now: Self.at(0))
        _ = link.step(.connected(logged: Self.position(2), notices: []), now: Self.at(1))
        _ = link.step(.received(.welcome(Welcome(nodeId: "us-1", region: "us-east-1", mode: .stream, sourcePosition: Self.position(4)))), now: Self.at(2))
        let routed = Fact.encode(routed: [ReplicaLinkTests.fact], routes: [[]])
        let records = [ShippedRecord(position: Self.position(3), payload: routed), ShippedRecord(position: Self.position(4), payload: [0xFF])]
        let actions = link.step(.received(.records(RecordBatch(records: records))), now: Self.at(3))
        // Appended as they are, even a payload this side cannot read (the node's append checks it).
        #expect(actions == records.map { .write(.followed($0), generation: 0) })
        #expect(link.step(.durable(generation: 0), now: Self.at(4)).isEmpty)
        let acked = link.step(.durable(generation: 0), now: Self.at(5))
        #expect(acked == [.send(.ack(Ack(position: Self.position(4))))])
        // No position record of its own, ever: its log's end is its position.
        #expect(!link.step(.tick, now: Self.at(3_000)).contains { if case .write = $0 { true } else { false } })
        #expect(!link.step(.stop, now: Self.at(3_001)).contains { if case .write = $0 { true } else { false } })
    }

    @Test func theStandbyEndsALinkThatSendsASnapshot() {
        var link = ReplicaLink(Self.standby, seed: 1)
        _ = link.step(.tick, now: Self.at(0))
        _ = link.step(.connected(logged: nil, notices: []), now: Self.at(1))
        _ = link.step(.received(.welcome(Welcome(nodeId: "us-1", region: "us-east-1", mode: .snapshot, sourcePosition: Self.position(4)))), now: Self.at(2))
        let actions = link.step(.received(.snapshot(SnapshotPart(position: Self.position(4), index: 0, isLast: true, payload: []))), now: Self.at(3))
        #expect(actions.contains(.close))
        #expect(link.lastError?.contains("a standby takes no snapshot catch-up") == true)
    }
}

/// A large frame crossing a slow link: bytes arriving without a whole message keep the link
/// alive on both sides (found by chaos/run restart-catchup at 128 kbit/s, seed 1).
@Suite struct SlowLinkTests {
    static let configuration = ReplicaLink.Configuration(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1",
                                                         heartbeatMillis: 1000, deadAfterMillis: 5000)

    @Test func bytesWithoutAWholeMessageAreNotSilence() {
        var link = ReplicaLinkTests.streaming(after: LogPosition(epoch: 1, lsn: 2))
        var heartbeats = 0
        // 30 s of a frame arriving a piece at a time: never "nothing heard", a heartbeat a second.
        for second in 1...30 {
            for quarter in 0..<4 {
                let now = ReplicaLinkTests.at(Int64(second * 1000 + quarter * 250))
                let actions = link.step(.progress, now: now) + link.step(.tick, now: now)
                heartbeats += actions.filter { if case .send(.heartbeat) = $0 { true } else { false } }.count
                #expect(!actions.contains(.close), "closed at \(second) s")
            }
        }
        #expect(link.phase == .streaming)
        #expect(heartbeats >= 25)
        // Without the bytes, the same wait ends the link.
        var silent = ReplicaLinkTests.streaming(after: LogPosition(epoch: 1, lsn: 2))
        let ended = (1...30).flatMap { silent.step(.tick, now: ReplicaLinkTests.at(Int64($0 * 1000))) }
        #expect(ended.contains(.close))
    }
}
