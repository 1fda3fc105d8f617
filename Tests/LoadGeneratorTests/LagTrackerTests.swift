@testable import LoadGenerator
import Testing

/// The lag run's bookkeeping, driven by hand with made-up times (ns).
@Suite struct LagTrackerTests {
    @Test func aPollSeeingAWriteMarksItAndEveryEarlierWriteOfItsSecret() {
        var t = LagTracker(secrets: 2, writes: 6)
        for seq in 0..<6 { t.writeSent(seq, now: 1_000 + UInt64(seq) * 100) }   // secret 0: 0, 2, 4; secret 1: 1, 3, 5
        for seq in 0..<6 { t.writeAnswered(seq, success: true, now: 2_000 + UInt64(seq) * 100) }
        #expect(Set(t.pending) == [0, 1])
        let first = t.nextPoll(now: 3_000)
        let second = t.nextPoll(now: 3_000)
        #expect(Set([first, second]) == [0, 1], "each pending secret once")
        #expect(t.nextPoll(now: 3_000) == nil, "at most one poll in flight per secret")
        t.pollAnswered(0, seen: 2, now: 3_500)   // writes 0 and 2 visible, 4 not yet
        t.pollAnswered(1, seen: 5, now: 3_600)   // 1, 3, 5
        #expect(t.pending == [0])
        #expect(t.visibleNs[0] == 3_500 && t.visibleNs[2] == 3_500 && t.visibleNs[4] == 0)
        #expect(t.nextPoll(now: 4_000) == 0)
        t.pollAnswered(0, seen: 4, now: 4_300)
        #expect(t.isSettled)
        let s = t.summary()
        #expect(s.sent == 6 && s.neverSeen == 0 && s.failed == 0)
        #expect(s.lag.count == 6 && s.lag.max == 4_300 - 2_400, "write 4: answered at 2,400, seen at 4,300")
        #expect(s.lag.min == 3_600 - 2_500, "write 5: answered at 2,500, seen at 3,600")
        // Write 4's bracket: the previous poll of secret 0 was sent at 3,000 (it showed 2, not 4),
        // after the primary's answer at 2,400: the lag may overstate by 4,300 − 3,000. Write 0 had
        // no poll before the one that showed it: from its answer (2,000) to 3,500.
        #expect(s.resolution.min == 1_100 && s.resolution.max == 1_500)
    }

    @Test func aWriteSeenBeforeThePrimaryAnswersHasLagZeroAndIsCounted() {
        var t = LagTracker(secrets: 1, writes: 1)
        t.writeSent(0, now: 100)
        #expect(t.nextPoll(now: 150) == 0)
        t.pollAnswered(0, seen: 0, now: 200)
        #expect(!t.isSettled, "not answered yet")
        t.writeAnswered(0, success: true, now: 300)
        #expect(t.isSettled)
        let s = t.summary()
        #expect(s.seenBeforeAcknowledged == 1 && s.lag.count == 1 && s.lag.max == 0)
    }

    @Test func olderValuesForeignValuesAndFailedPollsTellNothing() {
        var t = LagTracker(secrets: 2, writes: 4)
        t.writeSent(0, now: 10)
        t.writeSent(2, now: 20)
        _ = t.nextPoll(now: 30)
        t.pollAnswered(0, seen: 2, now: 40)
        t.writeAnswered(0, success: true, now: 25)
        t.writeAnswered(2, success: true, now: 35)
        t.writeSent(1, now: 50)
        _ = t.nextPoll(now: 60)
        t.pollAnswered(1, seen: 3, now: 70)      // never sent: an anomaly
        #expect(t.nextPoll(now: 75) == 1)
        t.pollFailed(1)
        #expect(t.nextPoll(now: 80) == 1)
        t.pollAnswered(1, seen: nil, now: 90)    // still the value it was created with
        #expect(t.pending == [1] && t.anomalies == 1 && t.visibleNs[1] == 0)
        t.writeSent(3, now: 100)                 // secret 1
        _ = t.nextPoll(now: 110)
        t.pollAnswered(1, seen: 3, now: 120)
        t.writeAnswered(1, success: true, now: 60)
        t.writeAnswered(3, success: true, now: 115)
        _ = t.nextPoll(now: 130)                 // nothing pending
        #expect(t.isSettled)
        // A replica that goes back to an older value is counted, and what was seen stays seen.
        var u = LagTracker(secrets: 1, writes: 3)
        u.writeSent(0, now: 1)
        u.writeSent(1, now: 2)
        _ = u.nextPoll(now: 3)
        u.pollAnswered(0, seen: 1, now: 4)
        u.writeSent(2, now: 5)
        _ = u.nextPoll(now: 6)
        u.pollAnswered(0, seen: 0, now: 7)
        #expect(u.regressions == 1 && u.visibleNs[1] == 4 && u.visibleNs[2] == 0 && u.pending == [0])
    }

    @Test func aFailedWriteIsNotWaitedFor() {
        var t = LagTracker(secrets: 1, writes: 2)
        t.writeSent(0, now: 10)
        t.writeSent(1, now: 20)
        t.writeAnswered(0, success: true, now: 30)
        _ = t.nextPoll(now: 35)
        t.pollAnswered(0, seen: 0, now: 40)
        #expect(t.pending == [0])
        t.writeAnswered(1, success: false, now: 50)
        #expect(t.pending.isEmpty && t.isSettled)
        let s = t.summary()
        #expect(s.failed == 1 && s.neverSeen == 0 && s.lag.count == 1)
    }

    @Test func anAcknowledgedWriteNeverSeenIsCounted() {
        var t = LagTracker(secrets: 3, writes: 3)
        for seq in 0..<3 { t.writeSent(seq, now: 10) }
        for seq in 0..<3 { t.writeAnswered(seq, success: true, now: 20) }
        for _ in 0..<3 {
            let s = t.nextPoll(now: 30)!
            t.pollAnswered(s, seen: s == 1 ? nil : s, now: 40)
        }
        #expect(!t.isSettled && t.pending == [1])
        #expect(t.summary().neverSeen == 1)
    }

    @Test func theSecretWaitingLongestIsPolledFirstAndItsWaitIsTheInterval() {
        var t = LagTracker(secrets: 3, writes: 3)
        t.writeSent(0, now: 100)
        t.writeSent(1, now: 200)
        t.writeSent(2, now: 300)
        for s in [0, 1, 2] {
            #expect(t.nextPoll(now: 400) == s)
            t.pollAnswered(s, seen: nil, now: 400 + UInt64(s))
        }
        // All polled at 400; the waits were 300, 200 and 100.
        #expect(t.pollInterval.count == 3 && t.pollInterval.min == 100 && t.pollInterval.max == 300)
    }

    @Test func hotSecretsTakeTheirShareInTurn() {
        // 10 secrets, 2 at a time (8 used: a multiple of 2), 20 writes: 3 writes per secret.
        let t = LagTracker(secrets: 9, writes: 20, hot: 2)
        #expect(t.perSecret == 3)
        #expect((0..<20).map(t.secret(of:)) == [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 4, 5, 4, 5, 4, 5, 6, 7])
        #expect(t.following(2) == 4 && t.following(4) == nil && t.preceding(6) == nil && t.preceding(10) == 8)
        #expect(t.firstWrite(of: 5) == 13 && t.following(19) == nil)
        // Plain round robin when every secret is hot.
        let all = LagTracker(secrets: 3, writes: 7)
        #expect((0..<7).map(all.secret(of:)) == [0, 1, 2, 0, 1, 2, 0] && all.following(4) == nil && all.following(3) == 6)
        // A poll that sees the last write of a secret marks all three, not the next group's.
        var u = LagTracker(secrets: 4, writes: 8, hot: 2)
        for seq in 0..<8 { u.writeSent(seq, now: 10) }
        for seq in 0..<8 { u.writeAnswered(seq, success: true, now: 20) }
        while let s = u.nextPoll(now: 30) { u.pollAnswered(s, seen: [0: 2, 1: 3, 2: 6, 3: 7][s], now: 40) }
        #expect(u.isSettled && u.summary().lag.count == 8 && u.anomalies == 0)
    }

    @Test func theSequenceIsReadAfterTheRunsMarker() {
        let marker = Array("strongroom-lag 0a1b2c3d ".utf8)
        let body = Array(#"{"Name":"x","SecretString":"strongroom-lag 0a1b2c3d 0000001234 xxxx"}"#.utf8)
        #expect(LagWorker.sequence(in: body, marker: marker) == 1234)
        #expect(LagWorker.sequence(in: Array(#"{"SecretString":"strongroom-lag ffffffff 0000000001 x"}"#.utf8), marker: marker) == nil,
                "another run's value")
        #expect(LagWorker.sequence(in: Array(#"{"SecretString":"initial"}"#.utf8), marker: marker) == nil)
        #expect(LagWorker.sequence(in: Array("strongroom-lag 0a1b2c3d 00000x".utf8), marker: marker) == nil)
    }
}
