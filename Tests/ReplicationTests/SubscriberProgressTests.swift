import Testing
import Replication

@Suite struct SubscriberProgressTests {
    static func p(_ lsn: UInt64, epoch: UInt64 = 1) -> LogPosition { LogPosition(epoch: epoch, lsn: lsn) }

    @Test func lagInRecordsFollowsAcks() throws {
        var progress = SubscriberProgress(nodeId: "b", region: "eu-west-1", position: Self.p(10), source: Self.p(10), nowMillis: 0)
        #expect(progress.lagRecords(sourceLSN: 10) == 0)
        #expect(progress.lagRecords(sourceLSN: 25) == 15)
        progress.recordShipped(through: Self.p(20))
        #expect(progress.inFlightRecords == 10)
        try progress.recordAck(Self.p(18), atMillis: 5)
        #expect(progress.acked == Self.p(18))
        #expect(progress.lastAckAtMillis == 5)
        #expect(progress.lagRecords(sourceLSN: 25) == 7)
        #expect(progress.inFlightRecords == 2)
        // A source behind the ack (a stale reading) is no lag, not a wrap-around.
        #expect(progress.lagRecords(sourceLSN: 3) == 0)
    }

    @Test func lagInMillisIsTheAgeOfTheOldestUnackedRecord() throws {
        var progress = SubscriberProgress(nodeId: "b", region: "r", position: Self.p(10), source: Self.p(10), nowMillis: 0)
        #expect(progress.lagMillis(nowMillis: 1000) == 0)
        progress.sourceAdvanced(to: Self.p(11), atMillis: 100)
        progress.sourceAdvanced(to: Self.p(12), atMillis: 110)
        progress.sourceAdvanced(to: Self.p(13), atMillis: 120)
        progress.sourceAdvanced(to: Self.p(12), atMillis: 130)  // stale: ignored
        #expect(progress.source == Self.p(13))
        #expect(progress.lagMillis(nowMillis: 150) == 50)
        progress.recordShipped(through: Self.p(13))
        try progress.recordAck(Self.p(11), atMillis: 140)
        #expect(progress.lagMillis(nowMillis: 150) == 40)
        try progress.recordAck(Self.p(13), atMillis: 160)
        #expect(progress.lagMillis(nowMillis: 200) == 0)
        // A clock going back is no lag rather than a negative one.
        progress.sourceAdvanced(to: Self.p(14), atMillis: 300)
        #expect(progress.lagMillis(nowMillis: 250) == 0)
        #expect(progress.lagMillis(nowMillis: .min) == 0)
        #expect(progress.lagMillis(nowMillis: .max) > 0)
    }

    @Test func startingBehindCountsFromTheStart() {
        let progress = SubscriberProgress(nodeId: "b", region: "r", position: .start, source: Self.p(500), nowMillis: 1000)
        #expect(progress.lagRecords(sourceLSN: 500) == 500)
        #expect(progress.lagMillis(nowMillis: 1500) == 500)
    }

    /// With the notes full, the lag is overstated, never understated.
    @Test func fullSamplesOverstate() throws {
        var progress = SubscriberProgress(nodeId: "b", region: "r", position: .start, source: .start, nowMillis: 0)
        for lsn in 1...UInt64(SubscriberProgress.maximumSamples + 100) {
            progress.sourceAdvanced(to: Self.p(lsn), atMillis: Int64(lsn) * 10)
        }
        progress.recordShipped(through: progress.source)
        for ack in stride(from: UInt64(0), through: UInt64(SubscriberProgress.maximumSamples + 100), by: 7) {
            try progress.recordAck(Self.p(ack), atMillis: 5000)
            // The oldest unacked record, LSN ack + 1, was written at (ack + 1) * 10.
            let trueAge = 10_000 - Int64(ack + 1) * 10
            let lag = progress.lagMillis(nowMillis: 10_000)
            if ack < progress.source.lsn { #expect(lag >= trueAge, "ack \(ack)") } else { #expect(lag == 0) }
        }
    }

    @Test func acksMustMoveForwardWithinWhatWasShipped() throws {
        var progress = SubscriberProgress(nodeId: "b", region: "r", position: Self.p(10), source: Self.p(30), nowMillis: 0)
        #expect(throws: ProgressError.self) { try progress.recordAck(Self.p(11), atMillis: 1) }
        progress.recordShipped(through: Self.p(20))
        try progress.recordAck(Self.p(15), atMillis: 2)
        try progress.recordAck(Self.p(15), atMillis: 3)  // a repeat is fine
        #expect(throws: ProgressError.self) { try progress.recordAck(Self.p(14), atMillis: 4) }
        #expect(throws: ProgressError.self) { try progress.recordAck(Self.p(16, epoch: 0), atMillis: 4) }
        #expect(progress.acked == Self.p(15))
        #expect(progress.lastAckAtMillis == 3)
    }

    /// A snapshot link starts at `.start`, ships the snapshot's position, and the ack of it is
    /// accepted even when the subscriber's hello named a later epoch.
    @Test func snapshotLink() throws {
        var progress = SubscriberProgress(nodeId: "b", region: "r", position: .start, source: Self.p(100, epoch: 3), nowMillis: 0)
        progress.recordShipped(through: Self.p(100, epoch: 3))
        try progress.recordAck(Self.p(100, epoch: 3), atMillis: 10)
        #expect(progress.lagRecords(sourceLSN: 100) == 0)
        #expect(progress.lagMillis(nowMillis: 20) == 0)
    }

    @Test func silence() throws {
        var progress = SubscriberProgress(nodeId: "b", region: "r", position: .start, source: .start, nowMillis: 0)
        #expect(progress.lastHeardAtMillis == nil)
        #expect(progress.silentMillis(nowMillis: 700, sinceMillis: 200) == 500)
        progress.heard(atMillis: 1000)
        progress.heard(atMillis: 900)  // out of order: the later stands
        #expect(progress.lastHeardAtMillis == 1000)
        #expect(progress.silentMillis(nowMillis: 1600, sinceMillis: 0) == 600)
        #expect(progress.silentMillis(nowMillis: 10, sinceMillis: 0) == 0)
        #expect(progress.silentMillis(nowMillis: .max, sinceMillis: 0) > 0)
        progress.recordShipped(through: Self.p(1))
        try progress.recordAck(Self.p(1), atMillis: 2000)
        #expect(progress.lastHeardAtMillis == 2000)
    }
}
