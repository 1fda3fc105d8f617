/// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
/// Jitter"): the n-th delay is uniform in [0, min(cap, base × 2ⁿ)). The randomness is passed in,
/// so a test replays it.
public struct Backoff: Sendable {
    /// The first ceiling, in seconds.
    public let base: Double
    /// The largest ceiling, in seconds.
    public let cap: Double
    /// Delays handed out since the last reset.
    public private(set) var attempt = 0

    /// A backoff starting at `base` seconds and doubling up to `cap` seconds.
    public init(base: Double = 0.1, cap: Double = 5) {
        precondition(base.isFinite && base > 0, "backoff base \(base) must be positive")
        precondition(cap.isFinite && cap >= base, "backoff cap \(cap) must be at least the base \(base)")
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the next delay: min(cap, base × 2^attempt).
    public var ceiling: Double {
        // 2^attempt is exact for any attempt we reach (it stops growing once at the cap).
        min(cap, base * Double(sign: .plus, exponent: attempt, significand: 1))
    }

    /// The next delay in seconds, in [0, ``ceiling``), from 64 random bits; then the ceiling
    /// doubles (up to the cap).
    public mutating func next(random: UInt64) -> Double {
        let current = ceiling
        // Rounding cannot reach the ceiling (the fraction is below 1 by at least half an ulp of
        // any product); the guard keeps the half-open promise without that argument.
        let delay = min(current * Self.unitInterval(random), current.nextDown)
        // Once at the cap the exponent stops, so it never overflows however long a link stays down.
        if current < cap { attempt += 1 }
        return delay
    }

    /// Back to the first ceiling (after a link stayed up).
    public mutating func reset() { attempt = 0 }

    /// The top 53 bits of `random` as a fraction in [0, 1).
    static func unitInterval(_ random: UInt64) -> Double {
        Double(random >> 11) * 0x1p-53
    }
}
