import Testing
import Replication

@Suite struct ReplicationDecisionsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var subscriber: LogPosition?
        var source: LogPosition
        var oldestRetained: UInt64
        /// nil = snapshot.
        var streamsAfter: LogPosition?
        var testDescription: String { name }
    }

    static func p(_ epoch: UInt64, _ lsn: UInt64) -> LogPosition { LogPosition(epoch: epoch, lsn: lsn) }

    static let table: [Case] = [
        Case(name: "nothing, nothing compacted", subscriber: nil, source: p(1, 10), oldestRetained: 1, streamsAfter: nil),
        Case(name: "nothing, empty source", subscriber: nil, source: .start, oldestRetained: 0, streamsAfter: nil),
        Case(name: "behind, all retained", subscriber: p(1, 4), source: p(1, 10), oldestRetained: 1, streamsAfter: p(1, 4)),
        Case(name: "behind, 0 means nothing compacted", subscriber: p(1, 4), source: p(1, 10), oldestRetained: 0, streamsAfter: p(1, 4)),
        Case(name: "caught up", subscriber: p(2, 10), source: p(2, 10), oldestRetained: 1, streamsAfter: p(2, 10)),
        Case(name: "caught up, all compacted", subscriber: p(2, 10), source: p(2, 10), oldestRetained: 11, streamsAfter: p(2, 10)),
        Case(name: "needs exactly the oldest retained", subscriber: p(1, 4), source: p(1, 10), oldestRetained: 5, streamsAfter: p(1, 4)),
        Case(name: "needs one compacted record", subscriber: p(1, 4), source: p(1, 10), oldestRetained: 6, streamsAfter: nil),
        Case(name: "at the start, all retained", subscriber: .start, source: p(3, 10), oldestRetained: 1, streamsAfter: .start),
        Case(name: "at the start, compacted", subscriber: .start, source: p(3, 10), oldestRetained: 2, streamsAfter: nil),
        Case(name: "at LSN 0 of an older epoch", subscriber: p(1, 0), source: p(3, 0), oldestRetained: 1, streamsAfter: p(1, 0)),
        Case(name: "older epoch, behind", subscriber: p(1, 4), source: p(2, 10), oldestRetained: 1, streamsAfter: p(1, 4)),
        Case(name: "ahead in LSN", subscriber: p(1, 11), source: p(1, 10), oldestRetained: 1, streamsAfter: nil),
        Case(name: "ahead in epoch", subscriber: p(3, 4), source: p(2, 10), oldestRetained: 1, streamsAfter: nil),
        Case(name: "ahead in epoch at LSN 0", subscriber: p(3, 0), source: p(2, 0), oldestRetained: 1, streamsAfter: nil),
        Case(name: "same LSN, older epoch: a fork", subscriber: p(1, 10), source: p(2, 10), oldestRetained: 1, streamsAfter: nil),
        Case(name: "largest LSNs", subscriber: p(1, .max - 1), source: p(1, .max), oldestRetained: .max, streamsAfter: p(1, .max - 1)),
        Case(name: "largest LSNs, compacted", subscriber: p(1, .max - 2), source: p(1, .max), oldestRetained: .max, streamsAfter: nil),
        Case(name: "largest oldest retained at the top", subscriber: p(1, .max), source: p(1, .max), oldestRetained: .max, streamsAfter: p(1, .max)),
    ]

    @Test(arguments: table)
    func catchUp(_ testCase: Case) {
        let decision = ReplicationDecisions.catchUp(subscriber: testCase.subscriber, source: testCase.source,
                                                    oldestRetainedLSN: testCase.oldestRetained)
        switch (decision, testCase.streamsAfter) {
        case (.stream(let after), let expected?):
            #expect(after == expected)
        case (.snapshot(let reason), nil):
            #expect(!reason.isEmpty)
        default:
            Issue.record("\(testCase.name): got \(decision)")
        }
    }

    /// Property: streaming is chosen only when every record the subscriber needs is readable and
    /// it is not ahead.
    @Test func streamingImpliesReadableAndNotAhead() {
        let values: [UInt64] = [0, 1, 2, 5, 9, 10, 11, .max - 1, .max]
        for subscriberLSN in values {
            for sourceLSN in values {
                for oldest in values {
                    for (subscriberEpoch, sourceEpoch) in [(UInt64(1), UInt64(1)), (1, 2), (2, 1)] {
                        let subscriber = LogPosition(epoch: subscriberEpoch, lsn: subscriberLSN)
                        let source = LogPosition(epoch: sourceEpoch, lsn: sourceLSN)
                        guard case .stream(let after) = ReplicationDecisions.catchUp(subscriber: subscriber, source: source, oldestRetainedLSN: oldest) else { continue }
                        #expect(after == subscriber)
                        #expect(subscriber <= source)
                        #expect(subscriberLSN <= sourceLSN)
                        #expect(subscriberLSN == sourceLSN || subscriberLSN + 1 >= max(oldest, 1))
                    }
                }
            }
        }
    }

    @Test func aPositionIsLoggedOnItsOwnOnlyWhenFarBehindOrWhenTheNodeStops() {
        let gap = ReplicationDecisions.positionLogGap
        func decide(_ acked: LogPosition?, _ logged: LogPosition?, _ check: ReplicationDecisions.PositionCheck) -> Bool {
            ReplicationDecisions.shouldLogPosition(acknowledged: acked, logged: logged, check: check)
        }
        let at = { (lsn: UInt64) in LogPosition(epoch: 1, lsn: lsn) }
        #expect(!decide(nil, nil, .nodeStopping))
        #expect(!decide(.start, nil, .nodeStopping))
        #expect(!decide(at(5), at(5), .nodeStopping))
        #expect(!decide(at(5), at(7), .nodeStopping))  // never backwards
        #expect(decide(at(6), at(5), .nodeStopping))
        #expect(!decide(at(6), at(5), .periodic))
        #expect(!decide(at(5 + gap), at(5), .linkEnded))
        #expect(!decide(at(5 + gap - 1), at(5), .periodic))
        #expect(decide(at(5 + gap), at(5), .periodic))
        #expect(decide(at(1), nil, .periodic))  // nothing logged yet for that source
        #expect(decide(LogPosition(epoch: 2, lsn: 1), at(9), .periodic))
    }

    @Test func aNewLinkResumesFromTheFurtherOfLoggedAndAcknowledged() {
        let at = { (lsn: UInt64) in LogPosition(epoch: 1, lsn: lsn) }
        #expect(ReplicationDecisions.resumePosition(logged: nil, acknowledged: nil) == nil)
        #expect(ReplicationDecisions.resumePosition(logged: nil, acknowledged: .start) == nil)
        #expect(ReplicationDecisions.resumePosition(logged: at(3), acknowledged: nil) == at(3))
        #expect(ReplicationDecisions.resumePosition(logged: nil, acknowledged: at(2)) == at(2))
        #expect(ReplicationDecisions.resumePosition(logged: at(3), acknowledged: at(9)) == at(9))
        #expect(ReplicationDecisions.resumePosition(logged: at(9), acknowledged: at(3)) == at(9))
    }

    /// Regions that all subscribe to each other and write nothing, their links cut now and
    /// then: each position record is a record of its region's log that its peers receive with
    /// nothing for them. The rule must let that bookkeeping die out; logging on every small
    /// gap, or at every link's end, would not (checked too).
    @Test(arguments: [2, 3, 5])
    func idleRegionsStopLoggingEachOthersPositions(regions: Int) {
        typealias Rule = (_ acked: LogPosition, _ logged: LogPosition, _ check: ReplicationDecisions.PositionCheck) -> Bool
        func simulate(rounds: Int, rule: Rule) -> [UInt64] {
            var lsn = [UInt64](repeating: 3, count: regions)  // a few records each to start with
            var logged = [[LogPosition]](repeating: [LogPosition](repeating: .start, count: regions), count: regions)
            var history: [UInt64] = []
            for round in 0..<rounds {
                let snapshot = lsn
                for replica in 0..<regions {
                    for source in 0..<regions where source != replica {
                        let acked = LogPosition(epoch: 1, lsn: snapshot[source])
                        // Every third round each link is cut, and ends, after the periodic check.
                        for check in round % 3 == 0 ? [.periodic, .linkEnded] : [ReplicationDecisions.PositionCheck.periodic]
                        where rule(acked, logged[replica][source], check) {
                            logged[replica][source] = acked
                            lsn[replica] += 1
                        }
                    }
                }
                history.append(lsn.reduce(0, +))
            }
            return history
        }
        let rule = simulate(rounds: 300) { ReplicationDecisions.shouldLogPosition(acknowledged: $0, logged: $1, check: $2) }
        #expect(rule.suffix(150).allSatisfy { $0 == rule.last })
        let everyGap = simulate(rounds: 300) { acked, logged, _ in
            ReplicationDecisions.shouldLogPosition(acknowledged: acked, logged: logged, check: .nodeStopping)
        }
        #expect(everyGap.last! > everyGap[149])
        let atEveryLinkEnd = simulate(rounds: 300) { acked, logged, check in
            ReplicationDecisions.shouldLogPosition(acknowledged: acked, logged: logged, check: check == .linkEnded ? .nodeStopping : check)
        }
        #expect(atEveryLinkEnd.last! > atEveryLinkEnd[149])
    }
}
