/// Shamir's secret sharing (Shamir 1979) over GF(2^8), byte by byte, as Vault splits its unseal
/// key: a secret becomes `count` shares, any `threshold` of which give it back and fewer of which
/// say nothing about it. For the sealed keyring's key-encryption key (issue 23).
///
/// Each byte of the secret is the constant term of its own random polynomial of degree
/// `threshold - 1`; share `x` (1…255) holds every polynomial's value at `x`. Field arithmetic is
/// in the AES field (x^8 + x^4 + x^3 + x + 1) and constant time: multiplication by shifts and
/// masks, inversion as a^254, no table indexed by a secret byte.
public enum Shamir {
    /// One share: its x coordinate and the polynomials' values there.
    public struct Share: Sendable, Equatable {
        public var index: UInt8
        public var bytes: SecureBytes

        public init(index: UInt8, bytes: SecureBytes) {
            self.index = index
            self.bytes = bytes
        }
    }

    /// Splits `secret` into `count` shares (indices 1…count), any `threshold` of which recover it.
    /// - Throws: `.malformed` unless 2 ≤ threshold ≤ count ≤ 255 and the secret is not empty;
    ///   what `random` throws.
    public static func split(_ secret: SecureBytes, count: Int, threshold: Int, random: some RandomSource) throws(CryptoError) -> [Share] {
        guard (2...255).contains(threshold), (threshold...255).contains(count), !secret.isEmpty else {
            throw CryptoError(operation: "Shamir split", message: "\(threshold) of \(count) shares of \(secret.count) bytes refused", code: .malformed)
        }
        // coefficients[k][i]: the k-th coefficient (k ≥ 1) of byte i's polynomial.
        var coefficients: [[UInt8]] = []
        for _ in 1..<threshold {
            let drawn = try random.bytes(secret.count)
            precondition(drawn.count == secret.count, "RandomSource returned \(drawn.count) bytes, not \(secret.count)")
            coefficients.append(drawn)
        }
        defer {
            for k in coefficients.indices { coefficients[k].withUnsafeMutableBytes { zero($0) } }
        }
        return secret.withUnsafeBytes { secretBytes in
            (1...count).map { x in
                var values = [UInt8](repeating: 0, count: secretBytes.count)
                for i in 0..<secretBytes.count {
                    // Horner: ((c_{t-1} x + c_{t-2}) x + …) x + secret.
                    var y: UInt8 = 0
                    for k in stride(from: coefficients.count - 1, through: 0, by: -1) {
                        y = multiply(y ^ coefficients[k][i], UInt8(x))
                    }
                    values[i] = y ^ secretBytes[i]
                }
                return Share(index: UInt8(x), bytes: SecureBytes(values))
            }
        }
    }

    /// The secret `shares` (at least the threshold of them, any of them) recover. Fewer than the
    /// threshold give a wrong value, not an error: the caller learns that only when what the
    /// secret opens does not open.
    /// - Throws: `.malformed` for fewer than two shares, an index 0 or repeated, or shares of
    ///   different lengths.
    public static func combine(_ shares: [Share]) throws(CryptoError) -> SecureBytes {
        guard shares.count >= 2, let length = shares.first?.bytes.count, length > 0 else {
            throw CryptoError(operation: "Shamir combine", message: "at least two shares are needed", code: .malformed)
        }
        guard shares.allSatisfy({ $0.index != 0 && $0.bytes.count == length }),
              Set(shares.map(\.index)).count == shares.count else {
            throw CryptoError(operation: "Shamir combine", message: "shares must have distinct non-zero indices and one length",
                              code: .malformed)
        }
        // Lagrange at x = 0: secret = Σ y_j · Π_{m≠j} x_m / (x_m − x_j); in GF(2^8), − is ⊕.
        var basis: [UInt8] = []
        for (j, share) in shares.enumerated() {
            var numerator: UInt8 = 1, denominator: UInt8 = 1
            for (m, other) in shares.enumerated() where m != j {
                numerator = multiply(numerator, other.index)
                denominator = multiply(denominator, other.index ^ share.index)
            }
            basis.append(multiply(numerator, inverse(denominator)))
        }
        var secret = [UInt8](repeating: 0, count: length)
        for (j, share) in shares.enumerated() {
            share.bytes.withUnsafeBytes { y in
                for i in 0..<length { secret[i] ^= multiply(y[i], basis[j]) }
            }
        }
        return SecureBytes(secret)
    }

    /// a · b in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, without branches on the values.
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a, b = b, product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))
            let carry = a >> 7
            a = (a << 1) ^ (0x1B & (0 &- carry))
            b >>= 1
        }
        return product
    }

    /// a^-1 as a^254 (0 for 0), by square and multiply over the fixed exponent.
    static func inverse(_ a: UInt8) -> UInt8 {
        var result: UInt8 = 1, power = a
        for bit in 0..<8 {
            if (254 >> bit) & 1 == 1 { result = multiply(result, power) }
            power = multiply(power, power)
        }
        return result
    }

    private static func zero(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        SecureBytes.cleanse(base, buffer.count)
    }
}
