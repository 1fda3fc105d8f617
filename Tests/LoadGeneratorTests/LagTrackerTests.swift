@testable import LoadGenerator
import Testing

extension LagTracker {
    /// Sends `seq` where the tracker chooses; the secret it went to.
    @discardableResult
    mutating func send(_ seq: Int, now: UInt64) -> Int {
        let secret = chooseSecret(for: seq)!
        writeSent(seq, to: secret, now: now)
        return secret
    }
}

/// The lag run's bookkeeping, driven by hand with made-up times (ns).
@Suite struct LagTrackerTests {
    @Test func aPollSeeingAWriteMarksItAndEveryEarlierWriteOfItsSecret() {
        var t = LagTracker(secrets: 2, writes: 6)
        // Secret 0 gets 0, 2, 4; secret 1 gets 1, 3, 5; each answered before the next is sent.
        for seq in 0..<6 {
            #expect(t.send(seq, now: 1_000 + UInt64(seq) * 100) == seq % 2)
            t.writeAnswered(seq, success: true, now: 1_050 + UInt64(seq) * 100)
        }
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
        // Write 4: answered at 1,450, seen at 4,300; write 5: answered at 1,550, seen at 3,600.
        #expect(s.lag.count == 6 && s.lag.max == 4_300 - 1_450 && s.lag.min == 3_600 - 1_550)
        // Write 4's bracket: the previous poll of secret 0 was sent at 3,000 (it showed 2, not 4),
        // after the primary's answer at 1,450: the lag may overstate by 4,300 − 3,000.
        #expect(t.lowerNs[4] == 3_000 && t.visibleNs[4] == 4_300)
        #expect(s.resolution.min == 4_300 - 3_000)
    }

    @Test func aSecretNeverHasTwoWritesInFlight() {
        var t = LagTracker(secrets: 3, writes: 6, hot: 3)
        #expect(t.send(0, now: 1) == 0 && t.send(1, now: 2) == 1 && t.send(2, now: 3) == 2)
        #expect(t.chooseSecret(for: 3) == nil, "every secret has a write in flight: the write waits")
        t.writeAnswered(1, success: true, now: 4)
        #expect(t.send(3, now: 5) == 1, "the preferred secret (0) is busy: the next free one of the group")
        t.writeAnswered(0, success: true, now: 6)
        #expect(t.send(4, now: 7) == 0)
        #expect(t.following(1) == 3 && t.preceding(3) == 1 && t.following(0) == 4 && t.following(2) == nil)
    }

    @Test func aWriteSeenBeforeThePrimaryAnswersHasLagZeroAndIsCounted() {
        var t = LagTracker(secrets: 1, writes: 1)
        t.send(0, now: 100)
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
        #expect(t.send(0, now: 10) == 0)
        #expect(t.send(1, now: 20) == 1)
        _ = t.nextPoll(now: 30)
        _ = t.nextPoll(now: 30)
        t.pollAnswered(0, seen: 1, now: 40)      // secret 1's write shown for secret 0: an anomaly
        t.pollAnswered(1, seen: nil, now: 40)    // still the value it was created with
        #expect(t.anomalies == 1 && t.visibleNs[1] == 0 && Set(t.pending) == [0, 1])
        let polled = t.nextPoll(now: 50)!
        t.pollFailed(polled)
        #expect(t.nextPoll(now: 60) != nil && t.nextPoll(now: 60) != nil, "a failed poll leaves its secret to be polled again")
        // A replica that goes back to an older value is counted, and what was seen stays seen.
        var u = LagTracker(secrets: 1, writes: 3)
        u.send(0, now: 1)
        u.writeAnswered(0, success: true, now: 2)
        u.send(1, now: 3)
        u.writeAnswered(1, success: true, now: 4)
        _ = u.nextPoll(now: 5)
        u.pollAnswered(0, seen: 1, now: 6)
        u.send(2, now: 7)
        _ = u.nextPoll(now: 8)
        u.pollAnswered(0, seen: 0, now: 9)
        #expect(u.regressions == 1 && u.visibleNs[1] == 6 && u.visibleNs[2] == 0 && u.pending == [0])
    }

    @Test func aFailedWriteIsNotWaitedFor() {
        var t = LagTracker(secrets: 1, writes: 2)
        t.send(0, now: 10)
        t.writeAnswered(0, success: true, now: 15)
        t.send(1, now: 20)
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
        for seq in 0..<3 { t.send(seq, now: 10) }
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
        t.send(0, now: 100)
        t.send(1, now: 200)
        t.send(2, now: 300)
        for s in [0, 1, 2] {
            #expect(t.nextPoll(now: 400) == s)
            t.pollAnswered(s, seen: nil, now: 400 + UInt64(s))
        }
        // All polled at 400; the waits were 300, 200 and 100.
        #expect(t.pollInterval.count == 3 && t.pollInterval.min == 100 && t.pollInterval.max == 300)
    }

    @Test func hotSecretsTakeTheirShareInTurn() {
        // 9 secrets, 2 at a time (8 used: a multiple of 2), 20 writes: at most 3 per secret.
        var t = LagTracker(secrets: 9, writes: 20, hot: 2)
        #expect(t.perSecret == 3)
        #expect((0..<20).map(t.preferredSecret(for:)) == [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 4, 5, 4, 5, 4, 5, 6, 7])
        var chosen: [Int] = []
        for seq in 0..<20 {
            chosen.append(t.send(seq, now: UInt64(seq) + 1))
            t.writeAnswered(seq, success: true, now: UInt64(seq) + 1)
        }
        #expect(chosen == (0..<20).map(t.preferredSecret(for:)), "nothing in the way: the preferred secrets")
        // A poll that sees the last write of a secret marks all three, not the next group's.
        var u = LagTracker(secrets: 4, writes: 8, hot: 2)
        for seq in 0..<8 {
            u.send(seq, now: 10)
            u.writeAnswered(seq, success: true, now: 20)
        }
        while let s = u.nextPoll(now: 30) { u.pollAnswered(s, seen: [0: 2, 1: 3, 2: 6, 3: 7][s], now: 40) }
        #expect(u.isSettled && u.summary().lag.count == 8 && u.anomalies == 0)
        // The quota holds even when secrets are busy: a full secret is never chosen.
        var v = LagTracker(secrets: 2, writes: 4, hot: 1)
        #expect(v.perSecret == 2)
        v.send(0, now: 1)
        v.writeAnswered(0, success: true, now: 2)
        v.send(1, now: 3)
        v.writeAnswered(1, success: true, now: 4)
        #expect(v.chooseSecret(for: 2) == 1, "secret 0 took its two writes")
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
