/// A log-linear latency histogram in nanoseconds, in the manner of HdrHistogram: constant memory,
/// O(1) recording, mergeable across threads.
///
/// Guarantees:
/// - Values below 256 ns are counted exactly. Above, each power-of-two range [2^e, 2^(e+1)) is
///   cut into 128 equal buckets, so a bucket's width is at most 1/128 of its lower bound; a
///   percentile is reported as its bucket's midpoint, clamped to the exact minimum and maximum,
///   and so is within 0.4% (< 1%) of the exact nearest-rank value for any value up to
///   `maximumTrackable` (about 18 minutes, far above the 60 s the benchmark needs).
/// - Larger values are clamped into the last bucket; `max` stays exact.
/// - `count`, `min`, `max` and the sum (hence `mean`) are exact.
/// - Merging two histograms gives the histogram of the union of their samples.
public struct LatencyHistogram: Sendable, Equatable {
    /// log2 of the buckets per power of two: 2^7 = 128 (relative bucket width ≤ 1/128).
    static let subBucketBits = 7
    static let subBucketCount = 1 << subBucketBits
    /// Values below this are their own bucket.
    static let exactLimit: UInt64 = 1 << UInt64(subBucketBits + 1)
    /// Powers of two tracked above `exactLimit`: up to 2^40 ns.
    static let highestPower = 40
    /// The largest value recorded without clamping: 2^40 − 1 ns ≈ 1,100 s.
    public static let maximumTrackable: UInt64 = (1 << UInt64(highestPower)) - 1
    static let bucketCount = Int(exactLimit) + (highestPower - subBucketBits - 1) * subBucketCount

    private var counts: [UInt64]
    /// Samples recorded.
    public private(set) var count: UInt64 = 0
    /// The exact sum of the samples, for the mean (UInt64 ns: 584 years of latency).
    public private(set) var sum: UInt64 = 0
    /// The exact smallest sample (UInt64.max while empty).
    public private(set) var min: UInt64 = .max
    /// The exact largest sample (0 while empty).
    public private(set) var max: UInt64 = 0

    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    /// The bucket a value falls in.
    static func bucketIndex(_ value: UInt64) -> Int {
        let v = Swift.min(value, maximumTrackable)
        if v < exactLimit { return Int(v) }
        let power = 63 - v.leadingZeroBitCount  // ≥ subBucketBits + 1
        let sub = Int(v >> UInt64(power - subBucketBits)) - subBucketCount  // 0..<128
        return Int(exactLimit) + (power - subBucketBits - 1) * subBucketCount + sub
    }

    /// The smallest value of bucket `index` and the bucket's width.
    static func bucketRange(_ index: Int) -> (lower: UInt64, width: UInt64) {
        if index < Int(exactLimit) { return (UInt64(index), 1) }
        let offset = index - Int(exactLimit)
        let power = offset / subBucketCount + subBucketBits + 1
        let sub = UInt64(offset % subBucketCount + subBucketCount)
        let shift = UInt64(power - subBucketBits)
        return (sub << shift, 1 << shift)
    }

    /// Records one sample.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        counts[Self.bucketIndex(nanoseconds)] &+= 1
        count &+= 1
        sum &+= nanoseconds
        if nanoseconds < min { min = nanoseconds }
        if nanoseconds > max { max = nanoseconds }
    }

    /// Adds every sample of `other`.
    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for i in 0..<counts.count where other.counts[i] != 0 { counts[i] &+= other.counts[i] }
        count &+= other.count
        sum &+= other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The mean in nanoseconds; 0 when empty.
    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    /// The nearest-rank percentile: the value of the ⌈p/100 · count⌉-th smallest sample, within
    /// the histogram's precision. `percent` in 0...100; 0 when empty; 100 gives the exact max.
    public func value(atPercentile percent: Double) -> UInt64 {
        precondition(percent >= 0 && percent <= 100, "percentile \(percent) outside 0...100")
        guard count > 0 else { return 0 }
        if percent >= 100 { return max }
        let rank = Swift.max(1, UInt64((percent / 100 * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for i in 0..<counts.count where counts[i] != 0 {
            seen &+= counts[i]
            if seen >= rank {
                let (lower, width) = Self.bucketRange(i)
                let middle = lower + (width - 1) / 2
                return Swift.min(Swift.max(middle, min), max)
            }
        }
        return max
    }
}
