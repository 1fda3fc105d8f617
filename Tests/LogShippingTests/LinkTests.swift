import Testing
import LogShipping
import Replication
import SecretStore

/// The two sides of a replication link as state machines, driven by hand with a fake clock.
@Suite struct ReplicaLinkTests {
    static let configuration = ReplicaLink.Configuration(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1",
                                                         heartbeatMillis: 1000, deadAfterMillis: 5000)

    static func at(_ millis: Int64) -> LinkInstant { LinkInstant(monotonicMillis: millis, wallMillis: 1_700_000_000_000 + millis) }

    static func record(_ lsn: UInt64, facts: [Fact]) -> ShippedRecord {
        ShippedRecord(position: LogPosition(epoch: 1, lsn: lsn), payload: Fact.encode(list: facts))
    }

    static let fact = Fact.secretDeleted(arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf", deletionDate: 5)

    /// A link that connected and was welcomed to stream after `position`.
    static func streaming(after position: LogPosition?) -> ReplicaLink {
        var link = ReplicaLink(configuration, seed: 7)
        #expect(link.step(.tick, now: at(0)) == [.connect])
        let hello = link.step(.connected(logged: position, notices: []), now: at(1))
        #expect(hello == [.send(.hello(Hello(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1", position: position, notices: [])))])
        let welcome = link.step(.received(.welcome(Welcome(nodeId: "us-1", region: "us-east-1", mode: .stream,
                                                           sourcePosition: LogPosition(epoch: 1, lsn: 10)))), now: at(2))
        #expect(welcome.count == 1)  // the log line
        #expect(link.phase == .streaming)
        return link
    }

    @Test func anAckWaitsUntilEveryWriteOfItsBatchIsDurable() {
        var link = Self.streaming(after: LogPosition(epoch: 1, lsn: 2))
        let actions = link.step(.received(.records(RecordBatch(records: [
            Self.record(3, facts: [Self.fact]), Self.record(4, facts: []), Self.record(5, facts: [Self.fact]),
        ]))), now: Self.at(10))
        #expect(actions == [
            .write(.records(facts: [Self.fact], position: LogPosition(epoch: 1, lsn: 3)), generation: 0),
            .write(.records(facts: [Self.fact], position: LogPosition(epoch: 1, lsn: 5)), generation: 0),
        ])
        #expect(link.step(.durable(generation: 0), now: Self.at(11)).isEmpty)
        #expect(link.step(.durable(generation: 0), now: Self.at(12)) == [.send(.ack(Ack(position: LogPosition(epoch: 1, lsn: 5))))])
        #expect(link.acknowledged == LogPosition(epoch: 1, lsn: 5))
    }

    @Test func aBatchWithNothingForTheRegionIsAcknowledgedWithoutAWrite() {
        var link = Self.streaming(after: LogPosition(epoch: 1, lsn: 2))
        let actions = link.step(.received(.records(RecordBatch(records: [Self.record(9, facts: [])]))), now: Self.at(10))
        #expect(actions == [.send(.ack(Ack(position: LogPosition(epoch: 1, lsn: 9))))])
    }

    @Test func recordsGoingBackEndTheLink() {
        var link = Self.streaming(after: LogPosition(epoch: 1, lsn: 5))
        let actions = link.step(.received(.records(RecordBatch(records: [Self.record(4, facts: [Self.fact])]))), now: Self.at(10))
        #expect(actions.first == .close)
        guard case .idle = link.phase else { Issue.record("\(link.phase)"); return }
        // The completion of a write of the ended link changes nothing.
        #expect(link.step(.durable(generation: 0), now: Self.at(11)).isEmpty)
    }

    @Test func aSilentSourceIsGivenUpAndRetriedAfterABackoff() {
        var link = Self.streaming(after: nil)
        #expect(link.step(.tick, now: Self.at(1002)).contains(.send(.heartbeat(Heartbeat(position: .start, sentAtMillis: Self.at(1002).wallMillis)))))
        let actions = link.step(.tick, now: Self.at(5003))
        #expect(actions.first == .close)
        guard case .idle(let retryAt) = link.phase else { Issue.record("\(link.phase)"); return }
        #expect(retryAt >= 5003 && retryAt <= 5103)
        #expect(link.step(.tick, now: Self.at(retryAt)) == [.connect])
    }

    @Test func noticesGoWithTheHelloThenWithAcksAtMostOnceAHeartbeatPeriod() {
        var link = ReplicaLink(Self.configuration, seed: 1)
        _ = link.step(.tick, now: Self.at(0))
        let notices: [[UInt8]] = [[1, 2, 3]]
        let hello = link.step(.connected(logged: LogPosition(epoch: 1, lsn: 1), notices: notices), now: Self.at(0))
        guard case .send(.hello(let sent))? = hello.first else { Issue.record("no hello"); return }
        #expect(sent.notices == [1, 2, 3])
        _ = link.step(.received(.welcome(Welcome(nodeId: "us-1", region: "us-east-1", mode: .stream, sourcePosition: .start))), now: Self.at(1))
        // Unchanged and sent 10 ms ago: the ack goes without them.
        #expect(link.step(.received(.records(RecordBatch(records: [Self.record(2, facts: [])]))), now: Self.at(10))
            == [.send(.ack(Ack(position: LogPosition(epoch: 1, lsn: 2))))])
        // A heartbeat period later, again.
        #expect(link.step(.received(.records(RecordBatch(records: [Self.record(3, facts: [])]))), now: Self.at(1010))
            == [.send(.ack(Ack(position: LogPosition(epoch: 1, lsn: 3), notices: [1, 2, 3])))])
        // Changed: at once.
        _ = link.step(.notices([[4]]), now: Self.at(1011))
        #expect(link.step(.received(.records(RecordBatch(records: [Self.record(4, facts: [])]))), now: Self.at(1012))
            == [.send(.ack(Ack(position: LogPosition(epoch: 1, lsn: 4), notices: [4])))])
    }

    @Test func theAcknowledgedPositionIsLoggedOnlyFarBehindOrAtStop() {
        var link = Self.streaming(after: LogPosition(epoch: 1, lsn: 1))
        _ = link.step(.received(.records(RecordBatch(records: [Self.record(50, facts: [])]))), now: Self.at(10))
        // 49 records behind: not logged on the periodic check (idle regions would log forever).
        #expect(!link.step(.tick, now: Self.at(1010)).contains { if case .write = $0 { true } else { false } })
        let stop = link.step(.stop, now: Self.at(1020))
        #expect(stop.contains(.write(.position(LogPosition(epoch: 1, lsn: 50)), generation: 0)))
        #expect(link.phase == .stopped)
    }

    @Test func aSnapshotIsAcknowledgedAtItsLastPartWithEveryCopyItHeld() {
        var link = ReplicaLink(Self.configuration, seed: 1)
        _ = link.step(.tick, now: Self.at(0))
        _ = link.step(.connected(logged: nil, notices: []), now: Self.at(0))
        _ = link.step(.received(.welcome(Welcome(nodeId: "us-1", region: "us-east-1", mode: .snapshot, sourcePosition: .start))), now: Self.at(1))
        let position = LogPosition(epoch: 1, lsn: 8)
        let first = link.step(.received(.snapshot(SnapshotPart(position: position, index: 0, isLast: false, payload: Fact.encode(list: [])))), now: Self.at(2))
        #expect(first == [.write(.snapshotPart(seeds: [], position: position, isLast: false, copied: []), generation: 0)])
        #expect(link.step(.durable(generation: 0), now: Self.at(3)).isEmpty)
        let last = link.step(.received(.snapshot(SnapshotPart(position: position, index: 1, isLast: true, payload: Fact.encode(list: [])))), now: Self.at(4))
        #expect(last == [.write(.snapshotPart(seeds: [], position: position, isLast: true, copied: []), generation: 0)])
        #expect(link.step(.durable(generation: 0), now: Self.at(5)) == [.send(.ack(Ack(position: position)))])
        // Out of order: the link ends.
        #expect(link.step(.received(.snapshot(SnapshotPart(position: position, index: 3, isLast: true, payload: []))), now: Self.at(6)).first == .close)
    }
}

@Suite struct SourceLinkTests {
    static let configuration: SourceLink.Configuration = {
        var configuration = SourceLink.Configuration(nodeId: "us-1", region: "us-east-1", peers: [("eu-1", "eu-west-1")],
                                                     heartbeatMillis: 1000, deadAfterMillis: 5000)
        configuration.windowRecords = 10
        configuration.batchRecords = 4
        return configuration
    }()

    static func at(_ millis: Int64) -> LinkInstant { ReplicaLinkTests.at(millis) }
    static func position(_ lsn: UInt64) -> LogPosition { LogPosition(epoch: 1, lsn: lsn) }
    static func hello(_ position: LogPosition?, region: String = "eu-west-1", source: String = "us-east-1") -> SourceLink.Input {
        .received(.hello(Hello(nodeId: "eu-1", region: region, sourceRegion: source, position: position, notices: [])))
    }

    static func opened(committed: UInt64, oldest: UInt64 = 1) -> SourceLink {
        var link = SourceLink(configuration)
        #expect(link.step(.opened(peer: .init(nodeId: "eu-1", region: "eu-west-1")), now: at(0)).isEmpty)
        _ = link.step(.log(committed: position(committed), oldestRetainedLSN: oldest), now: at(0))
        return link
    }

    @Test func aSubscriberBehindStreamsInBatchesWithinTheWindow() {
        var link = Self.opened(committed: 20)
        let actions = link.step(.received(.hello(Hello(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1",
                                                       position: Self.position(3), notices: []))), now: Self.at(1))
        let ships = actions.compactMap { if case .ship(let from, let through, _) = $0 { (from, through) } else { nil } }
        // 10 records of window in batches of 4: 4..7, 8..11, 12..15 (the third fills it past 10).
        #expect(ships.map(\.0) == [4, 8, 12] && ships.map(\.1) == [7, 11, 15])
        #expect(link.windowFull)
        let after = link.step(.received(.ack(Ack(position: Self.position(11)))), now: Self.at(2))
        #expect(after.compactMap { if case .ship(let from, let through, _) = $0 { [from, through] } else { nil } } == [[UInt64(16), 19], [20, 20]])
    }

    @Test func aSubscriberWithNothingOrCompactedAwayGetsASnapshot() {
        var fresh = Self.opened(committed: 20)
        let actions = fresh.step(.received(.hello(Hello(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1", position: nil, notices: []))), now: Self.at(1))
        #expect(actions.contains(.sendSnapshot(region: "eu-west-1")))
        #expect(fresh.phase == .snapshotting)
        let afterSnapshot = fresh.step(.snapshotTaken(Self.position(20)), now: Self.at(2))
        #expect(afterSnapshot.isEmpty && fresh.phase == .streaming)
        var compacted = Self.opened(committed: 20, oldest: 10)
        #expect(compacted.step(.received(.hello(Hello(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1", position: Self.position(3), notices: []))),
                               now: Self.at(1)).contains(.sendSnapshot(region: "eu-west-1")))
    }

    @Test func refusalsNameWhatWasWrong() {
        var noName = SourceLink(Self.configuration)
        let refused = noName.step(.opened(peer: nil), now: Self.at(0))
        #expect(refused.first == .send(.refused("the certificate names no strongroom node")))
        #expect(noName.phase == .closed)
        for (region, source, reply) in [("ap-south-1", "us-east-1", "node eu-1 of ap-south-1 is not a peer of this node"),
                                        ("eu-west-1", "eu-west-1", "this node serves the log of us-east-1")] {
            var link = SourceLink(Self.configuration)
            _ = link.step(.opened(peer: .init(nodeId: "eu-1", region: region)), now: Self.at(0))
            let actions = link.step(.received(.hello(Hello(nodeId: "eu-1", region: region, sourceRegion: source, position: nil, notices: []))), now: Self.at(1))
            #expect(actions.first == .send(.refused(reply)))
        }
        var mismatch = SourceLink(Self.configuration)
        _ = mismatch.step(.opened(peer: .init(nodeId: "eu-2", region: "eu-west-1")), now: Self.at(0))
        #expect(mismatch.step(Self.hello(nil), now: Self.at(1)).first == .send(.refused("the hello does not match the certificate")))
    }

    @Test func anAckBeyondWhatWasShippedClosesTheLink() {
        var link = Self.opened(committed: 2)
        _ = link.step(Self.hello(Self.position(2)), now: Self.at(1))
        let actions = link.step(.received(.ack(Ack(position: Self.position(9)))), now: Self.at(2))
        guard case .close? = actions.first else { Issue.record("\(actions)"); return }
        #expect(link.phase == .closed)
    }

    @Test func heartbeatsWhenIdleAndASilentSubscriberIsClosed() {
        var link = Self.opened(committed: 2)
        _ = link.step(Self.hello(Self.position(2)), now: Self.at(1))
        #expect(link.step(.tick, now: Self.at(500)).isEmpty)
        #expect(link.step(.tick, now: Self.at(1001)) == [.send(.heartbeat(Heartbeat(position: Self.position(2), sentAtMillis: Self.at(1001).wallMillis)))])
        _ = link.step(.received(.heartbeat(Heartbeat(position: .start, sentAtMillis: 0))), now: Self.at(3000))
        #expect(!link.step(.tick, now: Self.at(7000)).contains { if case .close = $0 { true } else { false } })
        guard case .close? = link.step(.tick, now: Self.at(8001)).first else { Issue.record("not closed"); return }
    }
}
