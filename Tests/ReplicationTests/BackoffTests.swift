import Testing
import Replication
import TestSupport

@Suite struct BackoffTests {
    @Test func ceilingDoublesUpToTheCap() {
        var backoff = Backoff(base: 0.1, cap: 5)
        var ceilings: [Double] = []
        for _ in 0..<10 {
            ceilings.append(backoff.ceiling)
            _ = backoff.next(random: 0)
        }
        let expected = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5, 5, 5]
        for (ceiling, want) in zip(ceilings, expected) { #expect(abs(ceiling - want) < 1e-12) }
        #expect(backoff.attempt == 6)
    }

    @Test func delaysStayInsideTheirCeiling() {
        var random = SplitMix64(seed: 42)
        var backoff = Backoff(base: 0.05, cap: 2)
        var sum = 0.0
        for round in 0..<10_000 {
            if round % 50 == 0 { backoff.reset() }
            let ceiling = backoff.ceiling
            let delay = backoff.next(random: random.next())
            #expect(delay >= 0 && delay < ceiling)
            sum += delay / ceiling
        }
        // Full jitter: uniform over the ceiling, so the mean fraction is about a half.
        #expect(abs(sum / 10_000 - 0.5) < 0.02)
    }

    @Test func extremesOfTheRandomBits() {
        for (base, cap) in [(0.1, 5.0), (1.0, 1.0), (0.3, 7.7), (1e-9, 1e9)] {
            var backoff = Backoff(base: base, cap: cap)
            for _ in 0..<100 {
                let ceiling = backoff.ceiling
                var low = backoff
                #expect(low.next(random: 0) == 0)
                let high = backoff.next(random: .max)
                #expect(high < ceiling && high > ceiling * 0.999_999)
            }
            #expect(backoff.ceiling == cap)
        }
    }

    @Test func resetStartsOver() {
        var backoff = Backoff()
        for _ in 0..<20 { _ = backoff.next(random: 7) }
        #expect(backoff.ceiling == 5)
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.ceiling == 0.1)
    }

    /// A link down for a very long time: the exponent stops at the cap, nothing overflows.
    @Test func manyAttemptsStayAtTheCap() {
        var backoff = Backoff(base: 1e-300, cap: 1e300)
        for _ in 0..<5000 { #expect(backoff.next(random: .max).isFinite) }
        #expect(backoff.ceiling == 1e300)
        #expect(backoff.attempt < 2100)
    }
}
