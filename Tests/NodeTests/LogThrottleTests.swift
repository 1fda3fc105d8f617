@testable import Node
import TestSupport
import Testing
@testable import Logging

/// The log's bounds, with time passed in: repeated events summarized per key, lines rate
/// limited, the number of keys bounded.
@Suite struct LogThrottleTests {
    @Test func aRepeatedEventIsWrittenOnceAWindowAndThenCounted() {
        var throttle = LogThrottle(window: 10)
        #expect(throttle.admitRepeated(key: "refused from A", now: 0) == (true, nil))
        for i in 1...999 { #expect(throttle.admitRepeated(key: "refused from A", now: Double(i) / 100).write == false) }
        #expect(throttle.dueSummaries(now: 9.9).isEmpty)
        #expect(throttle.dueSummaries(now: 10.5) == ["refused from A: 999 more in the last 10 s"])
        // Nothing left to say, and the key is forgotten.
        #expect(throttle.dueSummaries(now: 30).isEmpty)
        #expect(throttle.followedKeys == 0)
    }

    @Test func aNewWindowBringsThePreviousWindowsSummary() {
        var throttle = LogThrottle(window: 10)
        _ = throttle.admitRepeated(key: "k", now: 0)
        _ = throttle.admitRepeated(key: "k", now: 1)
        _ = throttle.admitRepeated(key: "k", now: 2)
        let next = throttle.admitRepeated(key: "k", now: 12)
        #expect(next.write)
        #expect(next.summary == "k: 2 more in the last 12 s")
        // A window with nothing suppressed has nothing to summarize.
        #expect(throttle.admitRepeated(key: "k", now: 25) == (true, nil))
    }

    @Test func keysAreIndependent() {
        var throttle = LogThrottle(window: 10)
        #expect(throttle.admitRepeated(key: "from A", now: 0).write)
        #expect(throttle.admitRepeated(key: "from B", now: 0.1).write)
        #expect(!throttle.admitRepeated(key: "from A", now: 0.2).write)
    }

    @Test func pastMaxKeysEventsShareOneKey() {
        var throttle = LogThrottle(window: 10, maxKeys: 3)
        var written = 0
        for i in 0..<1_000 where throttle.admitRepeated(key: "from 10.0.\(i / 256).\(i % 256)", now: 0).write { written += 1 }
        #expect(written == 4)  // three keys, then the overflow key once
        #expect(throttle.followedKeys == 3 + 1)
        #expect(throttle.dueSummaries(now: 11) == ["\(LogThrottle.overflowKey): 996 more in the last 11 s"])
    }

    @Test func linesAreRateLimitedAndTheDropsReported() {
        var throttle = LogThrottle(burst: 200, linesPerSecond: 20)
        var preamble: [String] = []
        var admitted = 0
        for _ in 0..<10_000 where throttle.admitLine(now: 0, preamble: &preamble) { admitted += 1 }
        #expect(admitted == 200)
        #expect(preamble.isEmpty)
        #expect(throttle.dropped == 9_800)
        // A second later: 20 tokens, one spent on the report of the drops.
        var later = 0
        for _ in 0..<100 where throttle.admitLine(now: 1, preamble: &preamble) { later += 1 }
        #expect(preamble == ["9800 log lines dropped: more than 20 a second"])
        #expect(later == 19)
    }

    @Test func aLongFloodWritesBoundedBytes() {
        // Ten minutes of 5,000 refusals a second from 50 addresses, with a line of each kind
        // written through the rate limit: the bytes written stay a small, fixed budget.
        var throttle = LogThrottle()
        var preamble: [String] = []
        var lines = 0
        var rng = SplitMix64(seed: 42)
        for tick in 0..<(600 * 10) {
            let now = Double(tick) / 10
            for _ in 0..<500 {
                let key = "refused from 10.0.0.\(Int.random(in: 0..<50, using: &rng))"
                let (write, summary) = throttle.admitRepeated(key: key, now: now)
                for line in [summary, write ? key : nil].compactMap({ $0 }) {
                    _ = line
                    if throttle.admitLine(now: now, preamble: &preamble) { lines += 1 }
                }
            }
        }
        // 50 keys, two lines each per 10 s window: about 6,000 lines, against 3 million events
        // (and below the 20 lines/s ceiling of 12,000).
        #expect(lines <= 600 / 10 * 50 * 2 + 200)
        #expect(lines >= 600 / 10 * 50)
    }
}
