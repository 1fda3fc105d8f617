/// xorshift64* (Vigna 2016): a tiny, fast, seeded generator for choosing keys and filling
/// values. Not for secrets: the same seed always gives the same sequence, which is the point
/// (runs with the same `--seed` pick the same keys in the same order per thread).
public struct Xorshift64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator for `seed`; seeds are spread with SplitMix64 so that 0, 1, 2… give unrelated
    /// streams (and the state is never zero, which xorshift cannot leave).
    public init(seed: UInt64) {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        state = z == 0 ? 0x2545_F491_4F6C_DD1D : z
    }

    public mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// A uniform integer in 0..<bound (Lemire's multiply-shift; the bias is below 2^-32 for
    /// the bounds a benchmark uses).
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// `count` lower-case hexadecimal digits.
    public mutating func hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count)
        var word = next()
        for i in 0..<count {
            if i % 16 == 0 && i > 0 { word = next() }
            out.append(digits[Int(word & 0xF)])
            word >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}
