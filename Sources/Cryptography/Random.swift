internal import COpenSSL
import Synchronization

/// Cryptographically secure randomness from OpenSSL's DRBG (`RAND_bytes`).
///
/// Core modules never call this directly: they take a `RandomSource` so that tests and the
/// simulator can pass a seeded one.
public enum Random {
    /// `count` random bytes.
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard ok == 1 else { throw CryptoError.fromOpenSSL("RAND_bytes") }
        return out
    }

    /// A uniformly distributed integer in `0..<upperBound`, by rejection sampling (no modulo bias).
    public static func uniform(below upperBound: UInt32) throws(CryptoError) -> UInt32 {
        try uniform(below: upperBound, using: SystemRandomSource())
    }

    /// A uniformly distributed integer in `0..<upperBound` drawn from `source`.
    public static func uniform(below upperBound: UInt32, using source: some RandomSource) throws(CryptoError) -> UInt32 {
        precondition(upperBound > 0, "empty range")
        // Largest multiple of upperBound that fits in 2^32; values at or above it are redrawn.
        let limit = UInt64(1) << 32 - (UInt64(1) << 32) % UInt64(upperBound)
        while true {
            let raw = try source.bytes(4)
            let value = UInt64(raw[0]) | UInt64(raw[1]) << 8 | UInt64(raw[2]) << 16 | UInt64(raw[3]) << 24
            if value < limit { return UInt32(value % UInt64(upperBound)) }
        }
    }
}

extension Random {
    /// A random (version 4) UUID in lower case, as AWS prints request ids and KMS key ids.
    public static func uuidString(using source: any RandomSource) throws(CryptoError) -> String {
        var b = try source.bytes(16)
        precondition(b.count == 16, "random source returned \(b.count) bytes for 16")
        b[6] = b[6] & 0x0F | 0x40
        b[8] = b[8] & 0x3F | 0x80
        let digits = Hex.digits
        // 8-4-4-4-12 hex digits: a dash before bytes 4, 6, 8 and 10.
        return String(unsafeUninitializedCapacity: 36) { out in
            var i = 0
            for (n, byte) in b.enumerated() {
                if n == 4 || n == 6 || n == 8 || n == 10 {
                    out[i] = UInt8(ascii: "-")
                    i += 1
                }
                out[i] = digits[Int(byte >> 4)]
                out[i + 1] = digits[Int(byte & 0xF)]
                i += 2
            }
            return i
        }
    }
}

/// Where randomness comes from; injected into every module that needs it.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) throws(CryptoError) -> [UInt8]
}

/// The production source: OpenSSL's CSPRNG.
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func bytes(_ count: Int) throws(CryptoError) -> [UInt8] { try Random.bytes(count) }
}

/// Randomness drawn from `base` in 4 KiB batches and handed out in small pieces: for request
/// and event ids, two per request, where a call into the DRBG each (its lock and a `getpid`
/// fork check) cost more than the id. Bytes are handed out once and wiped from the batch.
/// Not for key material: keys come from the base source directly.
public final class BatchedRandomSource: RandomSource {
    private let base: any RandomSource
    private let batchBytes: Int
    private let state = Mutex<(batch: [UInt8], next: Int)>(([], 0))

    public init(base: any RandomSource, batchBytes: Int = 4096) {
        precondition(batchBytes > 0, "empty batch")
        self.base = base
        self.batchBytes = batchBytes
    }

    public func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        if count > batchBytes { return try base.bytes(count) }
        return try state.withLock { (state: inout (batch: [UInt8], next: Int)) throws(CryptoError) -> [UInt8] in
            if state.batch.count - state.next < count {
                for i in state.batch.indices { state.batch[i] = 0 }
                state.batch = try base.bytes(batchBytes)
                state.next = 0
                // A source that returned short: serve this call from it directly.
                if state.batch.count < count { return try base.bytes(count) }
            }
            let range = state.next..<(state.next + count)
            let out = Array(state.batch[range])
            for i in range { state.batch[i] = 0 }
            state.next += count
            return out
        }
    }
}
