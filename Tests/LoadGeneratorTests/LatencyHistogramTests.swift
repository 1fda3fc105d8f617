import Foundation
@testable import LoadGenerator
import Testing
import TestSupport

@Suite struct LatencyHistogramTests {
    static let percentiles = [0.0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]

    /// The exact nearest-rank percentile of sorted samples.
    func exact(_ sorted: [UInt64], _ percent: Double) -> UInt64 {
        let rank = max(1, Int((percent / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    /// Log-uniform samples from 1 µs to 60 s: every bucket size the benchmark meets.
    func samples(count: Int, seed: UInt64) -> [UInt64] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt64(exp(Double.random(in: log(1_000)...log(60e9), using: &random))) }
    }

    @Test(arguments: [1, 2, 3, 4])
    func percentilesAreWithinOnePercentOfTheExactOnes(seed: UInt64) {
        let values = samples(count: [1, 10, 1_000, 100_000][Int(seed) - 1], seed: seed)
        var histogram = LatencyHistogram()
        values.forEach { histogram.record($0) }
        let sorted = values.sorted()
        for p in Self.percentiles {
            let expected = Double(exact(sorted, p))
            let got = Double(histogram.value(atPercentile: p))
            #expect(abs(got - expected) <= expected * 0.01, "p\(p): \(got) vs exact \(expected)")
        }
        #expect(histogram.count == UInt64(values.count))
        #expect(histogram.min == sorted.first && histogram.max == sorted.last)
        let mean = Double(values.reduce(0, +)) / Double(values.count)
        #expect(abs(histogram.mean - mean) <= mean * 1e-9)
    }

    @Test func smallValuesAreExactAndHugeOnesClamped() {
        var histogram = LatencyHistogram()
        for v in 0..<256 { histogram.record(UInt64(v)) }
        #expect(histogram.value(atPercentile: 50) == 127)
        #expect(histogram.value(atPercentile: 0) == 0)
        let big = UInt64(1) << 50
        var huge = LatencyHistogram()
        huge.record(big)
        huge.record(1_000)
        #expect(huge.value(atPercentile: 100) == big, "the maximum is exact")
        #expect(huge.value(atPercentile: 99) <= big, "clamped values stay within min…max")
        #expect(huge.value(atPercentile: 99) >= LatencyHistogram.maximumTrackable / 2)
        #expect(LatencyHistogram().value(atPercentile: 99) == 0 && LatencyHistogram().mean == 0)
    }

    @Test func everyBucketMapsBackToItsRange() {
        for index in 0..<LatencyHistogram.bucketCount {
            let (lower, width) = LatencyHistogram.bucketRange(index)
            #expect(LatencyHistogram.bucketIndex(lower) == index)
            #expect(LatencyHistogram.bucketIndex(lower + width - 1) == index)
            if lower >= 256 { #expect(Double(width) / Double(lower) <= 1.0 / 128) }
        }
        #expect(LatencyHistogram.bucketIndex(LatencyHistogram.maximumTrackable) == LatencyHistogram.bucketCount - 1)
    }

    @Test func mergingEqualsRecordingEverythingInOne() {
        let values = samples(count: 10_000, seed: 9)
        var whole = LatencyHistogram()
        var parts = [LatencyHistogram](repeating: LatencyHistogram(), count: 3)
        for (i, v) in values.enumerated() {
            whole.record(v)
            parts[i % 3].record(v)
        }
        var merged = LatencyHistogram()
        parts.forEach { merged.merge($0) }
        merged.merge(LatencyHistogram())
        #expect(merged == whole)
        #expect(Self.percentiles.allSatisfy { merged.value(atPercentile: $0) == whole.value(atPercentile: $0) })
    }
}
