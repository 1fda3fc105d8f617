import Testing
@_spi(Simulation) import Failover
import Replication
import TestSupport

@Suite struct SyncCommitTests {
    @Test func asynchronousCommitsWhatIsDurableHere() {
        var commit = SyncCommit(required: 0, durable: 3)
        #expect(commit.committed == 3)
        let result1 = commit.localDurable(5)
        #expect(result1 == 5)
        let result2 = commit.localDurable(4)
        #expect(result2 == nil)
        #expect(commit.committed == 5)
    }

    @Test func aRecordCommitsOnceKStandbysHoldIt() {
        var commit = SyncCommit(required: 2, durable: 0)
        let result3 = commit.localDurable(10)
        #expect(result3 == nil, "no standby holds anything yet")
        let result4 = commit.acknowledged(by: "b", through: 8)
        #expect(result4 == nil, "one of two")
        let result5 = commit.acknowledged(by: "c", through: 6)
        #expect(result5 == 6)
        let result6 = commit.acknowledged(by: "c", through: 12)
        #expect(result6 == 8, "the second highest: b's 8")
        let result7 = commit.acknowledged(by: "b", through: 12)
        #expect(result7 == 10, "never past this node's own durable position")
        let result8 = commit.localDurable(12)
        #expect(result8 == 12)
    }

    @Test func theCommittedPositionNeverGoesBack() {
        var commit = SyncCommit(required: 1, durable: 10)
        let result9 = commit.acknowledged(by: "b", through: 10)
        #expect(result9 == nil, "10 was committed at promotion")
        commit.linkStarted("b", at: 2)  // b's disk was replaced
        #expect(commit.committed == 10)
        #expect(commit.heldBySync == 2)
        let result10 = commit.localDurable(11)
        #expect(result10 == nil)
        let result11 = commit.acknowledged(by: "b", through: 11)
        #expect(result11 == 11)
    }

    @Test func aWaitExpiresAtItsBound() {
        #expect(!SyncCommit.waitExpired(sinceMillis: 100, nowMillis: 1_099, boundMillis: 1_000))
        #expect(SyncCommit.waitExpired(sinceMillis: 100, nowMillis: 1_100, boundMillis: 1_000))
    }

    /// Randomized: the committed LSN is always the k-th highest acknowledgement capped by the
    /// local durable LSN, or higher only because it never goes back.
    @Test func committedIsTheKthHighestAcknowledgement() {
        for seed in UInt64(1)...200 {
            var random = SplitMix64(seed: seed)
            let k = Int(random.next() % 4)
            var commit = SyncCommit(required: k, durable: 0)
            var acks: [String: UInt64] = [:]
            var durable: UInt64 = 0, highest: UInt64 = 0
            for _ in 0..<100 {
                if random.next() % 3 == 0 {
                    durable += random.next() % 5
                    _ = commit.localDurable(durable)
                } else {
                    let node = "s\(random.next() % 4)"
                    let lsn = random.next() % (durable + 3)
                    acks[node] = lsn
                    _ = commit.acknowledged(by: node, through: lsn)
                }
                let sorted = acks.values.sorted(by: >)
                let held = k == 0 ? durable : (sorted.count >= k ? min(durable, sorted[k - 1]) : 0)
                highest = max(highest, held)
                #expect(commit.committed == highest, "seed \(seed)")
            }
        }
    }
}

@Suite struct RegionTermTests {
    @Test func aPrimaryHearingOfAHigherEpochIsFencedAtOnce() {
        var term = RegionTerm(nodeId: "a", history: EpochHistory(), highestSeen: 1, primary: true)
        #expect(term.role == .primary && term.acceptsWrites)
        let result12 = term.observe(epoch: 1)
        #expect(!result12, "the same epoch changes nothing")
        let result13 = term.observe(epoch: 2)
        #expect(result13, "a higher epoch must be made durable")
        #expect(term.role == .fenced && !term.acceptsWrites)
        #expect(!term.accepts(fromPrimaryAt: 1), "its own old epoch is refused from anyone")
        term.truncated(after: 0)
        #expect(term.role == .standby)
        #expect(term.accepts(fromPrimaryAt: 2))
    }

    @Test func aNodeStartsPrimaryOnlyIfNoHigherEpochIsKnown() {
        #expect(RegionTerm(nodeId: "a", history: EpochHistory(), highestSeen: 2, primary: true).role == .standby)
        #expect(RegionTerm(nodeId: "a", history: EpochHistory(), highestSeen: 0, primary: true).role == .primary)
        #expect(RegionTerm(nodeId: "a", history: EpochHistory(), highestSeen: 1, primary: false).role == .standby)
    }

    @Test func aStandbyRefusesRecordsOfAStaleEpoch() {
        var term = RegionTerm(nodeId: "b", history: EpochHistory(), highestSeen: 1, primary: false)
        #expect(term.accepts(fromPrimaryAt: 1))
        _ = term.observe(epoch: 3)  // fenced by a promotion
        #expect(!term.accepts(fromPrimaryAt: 1) && !term.accepts(fromPrimaryAt: 2))
        #expect(term.accepts(fromPrimaryAt: 3))
        term.appended(epoch: 3, at: 40)
        #expect(term.history.description == "1@1 3@40")
        var broken = RegionTerm(nodeId: "b", history: EpochHistory(), highestSeen: 3, primary: false)
        broken.faults = .standbyIgnoresFence
        #expect(broken.accepts(fromPrimaryAt: 1), "the broken variant the simulator must catch")
    }

    @Test func promotionRaisesTheEpochAtItsRecord() {
        var term = RegionTerm(nodeId: "b", history: EpochHistory(), highestSeen: 1, primary: false)
        _ = term.observe(epoch: 2)
        term.promoted(to: 2, recordAt: 31)
        #expect(term.role == .primary && term.acceptsWrites && term.epoch == 2)
        #expect(term.history.description == "1@1 2@31")
    }
}

@Suite struct PromotionTests {
    static func at(_ epoch: UInt64, _ lsn: UInt64) -> LogPosition { LogPosition(epoch: epoch, lsn: lsn) }

    static func standby(_ id: String, _ end: LogPosition) -> Promotion.Reached {
        Promotion.Reached(nodeId: id, end: end, highestSeen: end.epoch)
    }

    @Test func theEpochIsTheCandidatesOwnAboveEveryOneHeardOf() {
        #expect(Promotion.nextEpoch(candidateOrdinal: 5, candidateHighestSeen: 3, reachedHighestSeen: [1, 5, 2]) == 6)
        #expect(Promotion.nextEpoch(candidateOrdinal: 1, candidateHighestSeen: 1, reachedHighestSeen: []) == 2)
        #expect(Promotion.nextEpoch(candidateOrdinal: 1, candidateHighestSeen: 2, reachedHighestSeen: []) == 18)
        #expect(Promotion.nextEpoch(candidateOrdinal: 0, candidateHighestSeen: 16, reachedHighestSeen: []) == 17)
        #expect(Promotion.nextEpoch(candidateOrdinal: 15, candidateHighestSeen: 16, reachedHighestSeen: [3]) == 32)
        #expect(Promotion.owner(of: 1) == 0 && Promotion.owner(of: 18) == 1 && Promotion.owner(of: 32) == 15)
        // Randomized: above everything heard of, the candidate's own, and the first such.
        var random = SplitMix64(seed: 9)
        for _ in 0..<10_000 {
            let ordinal = Int(random.next() % 16), seen = 1 + random.next() % 1_000
            let epoch = Promotion.nextEpoch(candidateOrdinal: ordinal, candidateHighestSeen: seen, reachedHighestSeen: [])
            #expect(epoch > seen && Promotion.owner(of: epoch) == ordinal && epoch - seen <= 16)
        }
    }

    @Test func theFurthestStandbyWithAQuorumIsPromoted() {
        let decision = Promotion.decide(candidate: "b", end: Self.at(1, 20), reached: [Self.standby("c", Self.at(1, 18))],
                                        regionNodes: 4, syncStandbys: 2, epoch: 2, force: false)
        #expect(decision == .promote(epoch: 2, mayLose: nil))
    }

    @Test func aStandbyFurtherAheadRefusesThePromotion() {
        let decision = Promotion.decide(candidate: "b", end: Self.at(1, 18), reached: [Self.standby("c", Self.at(1, 20))],
                                        regionNodes: 3, syncStandbys: 1, epoch: 2, force: false)
        guard case .refuse(let why) = decision else { Issue.record("promoted: \(decision)"); return }
        #expect(why.contains("c is further ahead") && why.contains("2 records") && why.contains("--force"))
    }

    @Test func aLaterEpochIsFurtherAheadWhateverItsLSN() {
        let decision = Promotion.decide(candidate: "b", end: Self.at(1, 50), reached: [Self.standby("c", Self.at(2, 30))],
                                        regionNodes: 3, syncStandbys: 1, epoch: 3, force: false)
        guard case .refuse(let why) = decision else { Issue.record("promoted: \(decision)"); return }
        #expect(why.contains("records of epoch 2"))
    }

    @Test func tooFewStandbysAnsweringRefusesUnlessForced() {
        let refused = Promotion.decide(candidate: "b", end: Self.at(1, 20), reached: [], regionNodes: 4, syncStandbys: 1, epoch: 2, force: false)
        guard case .refuse(let why) = refused else { Issue.record("promoted: \(refused)"); return }
        #expect(why.contains("only 1 of the region's 4 nodes answered") && why.contains("at least 3 must answer"))
        let forced = Promotion.decide(candidate: "b", end: Self.at(1, 20), reached: [], regionNodes: 4, syncStandbys: 1, epoch: 2, force: true)
        guard case .promote(2, let mayLose?) = forced else { Issue.record("not forced: \(forced)"); return }
        #expect(mayLose.hasPrefix("forced: only 1 of the region's 4"))
        // With k = 2 of 3, two answers are enough.
        #expect(Promotion.decide(candidate: "b", end: Self.at(1, 20), reached: [Self.standby("c", Self.at(1, 3))],
                                 regionNodes: 4, syncStandbys: 2, epoch: 2, force: false) == .promote(epoch: 2, mayLose: nil))
    }

    @Test func asynchronousPromotionNeedsNoQuorumButStillTheFurthestLog() {
        #expect(Promotion.decide(candidate: "b", end: Self.at(1, 20), reached: [], regionNodes: 4, syncStandbys: 0, epoch: 2, force: false)
            == .promote(epoch: 2, mayLose: nil))
        let oldPrimary = Promotion.Reached(nodeId: "a", end: Self.at(1, 25), highestSeen: 1)
        guard case .refuse = Promotion.decide(candidate: "b", end: Self.at(1, 20), reached: [oldPrimary], regionNodes: 2, syncStandbys: 0,
                                              epoch: 2, force: false) else {
            Issue.record("promoted behind a reached old primary")
            return
        }
    }

    /// The safety argument, on random small regions whose primary is gone: whenever the
    /// decision promotes without force, the candidate holds every record that `k` standbys
    /// held (committed).
    @Test func anUnforcedPromotionHoldsEveryCommittedRecord() {
        for seed in UInt64(1)...500 {
            var random = SplitMix64(seed: seed)
            let standbys = 1 + Int(random.next() % 4)
            let k = Int(random.next() % UInt64(standbys + 1))
            // Each standby's log is a prefix of the primary's (one epoch): its length.
            let primaryEnd = 5 + random.next() % 20
            let ends = (0..<standbys).map { _ in random.next() % (primaryEnd + 1) }
            let committed = k == 0 ? 0 : ends.sorted(by: >)[k - 1]
            let candidate = Int(random.next() % UInt64(standbys))
            let reached = (0..<standbys).filter { $0 != candidate && random.next() % 3 != 0 }
            let decision = Promotion.decide(
                candidate: "s\(candidate)", end: Self.at(1, ends[candidate]),
                reached: reached.map { Self.standby("s\($0)", Self.at(1, ends[$0])) }, regionNodes: standbys + 1, syncStandbys: k,
                epoch: 2, force: false)
            if case .promote = decision {
                #expect(ends[candidate] >= committed, "seed \(seed): k=\(k) ends=\(ends) candidate=\(candidate) reached=\(reached)")
            }
        }
    }
}
