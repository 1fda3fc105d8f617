import Failover
import Testing
import LogShipping
import Replication
import SecretStore

/// Epochs on the links: a primary's welcome carries its epoch history (a standby finds its fork
/// point in it, even when the primary cannot stream to it), and another region's subscriber
/// whose position is of another epoch than this log's record at that LSN (it holds an old
/// primary's records this log set aside) starts again from a snapshot.
@Suite struct EpochLinkTests {
    /// Epoch 1 from LSN 1, epoch 2 (a promotion) from LSN 8.
    static let history: EpochHistory = {
        var history = EpochHistory()
        history.begin(epoch: 2, at: 8)
        return history
    }()

    static func source() -> SourceLink.Configuration {
        var configuration = StandbyLinkTests.source
        configuration.history = history.encode()
        return configuration
    }

    static func opened(_ node: String, region: String, committed: LogPosition) -> SourceLink {
        var link = SourceLink(source())
        _ = link.step(.opened(peer: .init(nodeId: node, region: region)), now: StandbyLinkTests.at(0))
        _ = link.step(.log(committed: committed, oldestRetainedLSN: 1), now: StandbyLinkTests.at(0))
        return link
    }

    static func peerHello(_ position: LogPosition) -> SourceLink.Input {
        .received(.hello(Hello(nodeId: "eu-1", region: "eu-west-1", sourceRegion: "us-east-1", position: position)))
    }

    @Test func aSubscriberOnThisLogsHistoryIsStreamed() {
        for position in [LogPosition(epoch: 1, lsn: 7), LogPosition(epoch: 2, lsn: 9)] {
            var link = Self.opened("eu-1", region: "eu-west-1", committed: LogPosition(epoch: 2, lsn: 12))
            let actions = link.step(Self.peerHello(position), now: StandbyLinkTests.at(1))
            #expect(!actions.contains { if case .sendSnapshot = $0 { true } else { false } }, "\(position)")
            #expect(link.phase == .streaming)
        }
    }

    @Test func aSubscriberHoldingAnotherEpochsRecordsGetsASnapshot() {
        // At LSN 9 this log holds epoch 2's record; the subscriber holds an epoch-1 record there.
        var link = Self.opened("eu-1", region: "eu-west-1", committed: LogPosition(epoch: 2, lsn: 12))
        let actions = link.step(Self.peerHello(LogPosition(epoch: 1, lsn: 9)), now: StandbyLinkTests.at(1))
        #expect(actions.contains(.sendSnapshot(region: "eu-west-1")))
        #expect(link.phase == .snapshotting)
        let welcome = actions.compactMap { if case .send(.welcome(let w)) = $0 { w } else { nil } }.first
        #expect(welcome?.history == Self.history.encode())
    }

    @Test func aStandbyThisLogCannotStreamToIsWelcomedWithTheHistoryBeforeTheRefusal() {
        // An old primary's log: epoch 1 up to LSN 9, beyond this log's LSN 7 of epoch 1.
        var link = Self.opened("us-2", region: "us-east-1", committed: LogPosition(epoch: 2, lsn: 8))
        let actions = link.step(.received(.hello(Hello(nodeId: "us-2", region: "us-east-1", sourceRegion: "us-east-1",
                                                       position: LogPosition(epoch: 1, lsn: 9)))), now: StandbyLinkTests.at(1))
        guard case .send(.welcome(let welcome))? = actions.first(where: { if case .send(.welcome) = $0 { true } else { false } }) else {
            Issue.record("no welcome: \(actions)")
            return
        }
        #expect(welcome.history == Self.history.encode())
        #expect(actions.contains { if case .send(.refused) = $0 { true } else { false } })
        // What the standby computes from it: the records after LSN 7 are not this log's.
        let mine = EpochHistory()
        #expect(mine.commonPrefix(end: 9, with: Self.history, end: 8) == 7)
    }
}

/// A standby's access notes: what it encodes decodes back; anything else is refused whole.
@Suite struct StandbyAccessNotesTests {
    @Test func notesRoundTripAndMalformedBytesAreRefused() throws {
        let notes = [StandbyAccessNote(arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf", versionId: "v1", day: 1_796_601_600_000),
                     StandbyAccessNote(arn: "arn:é", versionId: "", day: -86_400_000)]
        let bytes = StandbyAccessNotes.encode(notes)
        #expect(StandbyAccessNotes.decode(bytes) == notes)
        #expect(StandbyAccessNotes.decode(StandbyAccessNotes.encode([])) == [])
        for cut in 0..<bytes.count { #expect(StandbyAccessNotes.decode(Array(bytes[..<cut])) == nil, "cut at \(cut)") }
        #expect(StandbyAccessNotes.decode(bytes + [0]) == nil)
        #expect(StandbyAccessNotes.decode([0xFF, 0xFF, 0xFF, 0xFF]) == nil)
        var invalidUTF8 = StandbyAccessNotes.encode([StandbyAccessNote(arn: "ab", versionId: "c", day: 0)])
        invalidUTF8[try #require(invalidUTF8.firstIndex(of: UInt8(ascii: "a")))] = 0xFF
        #expect(StandbyAccessNotes.decode(invalidUTF8) == nil)
        // A list of other facts is not notes.
        #expect(StandbyAccessNotes.decode(Fact.encode(list: [.secretAccessed(arn: "ab", day: 0)])) == nil)
        let many = (0..<(StandbyAccessNotes.maximumNotes + 5)).map { StandbyAccessNote(arn: "a\($0)", versionId: "v", day: 0) }
        #expect(StandbyAccessNotes.decode(StandbyAccessNotes.encode(many))?.count == StandbyAccessNotes.maximumNotes)
    }
}
