import Testing
@testable import Cryptography
import TestSupport

/// Shamir's secret sharing: the field is the AES field, any `threshold` shares recover the
/// secret and fewer do not, and malformed input is refused.
@Suite struct ShamirTests {
    /// The AES field's multiplication, the textbook way (a log/antilog table over generator 3),
    /// as the reference for the constant-time one.
    static let reference: (exp: [UInt8], log: [Int]) = {
        var exp = [UInt8](repeating: 0, count: 510), log = [Int](repeating: 0, count: 256)
        var x: UInt8 = 1
        for i in 0..<255 {
            exp[i] = x
            exp[i + 255] = x
            log[Int(x)] = i
            // x · 3 = x · 2 ⊕ x
            let doubled = (x << 1) ^ ((x & 0x80) != 0 ? 0x1B : 0)
            x = doubled ^ x
        }
        return (exp, log)
    }()

    @Test func multiplicationAndInverseAreTheAESFields() {
        for a in 0...255 {
            for b in 0...255 {
                let expected: UInt8 = a == 0 || b == 0 ? 0 : Self.reference.exp[Self.reference.log[a] + Self.reference.log[b]]
                #expect(Shamir.multiply(UInt8(a), UInt8(b)) == expected)
            }
            if a != 0 { #expect(Shamir.multiply(UInt8(a), Shamir.inverse(UInt8(a))) == 1) }
        }
        // FIPS 197, 4.2: {57} · {83} = {c1}.
        #expect(Shamir.multiply(0x57, 0x83) == 0xC1)
    }

    /// A deterministic source for the coefficients.
    struct Seeded: RandomSource {
        let seed: UInt64
        func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
            var rng = SplitMix64(seed: seed &+ UInt64(count))
            return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
    }

    @Test(arguments: 0..<40)
    func anyThresholdOfSharesRecoversTheSecretAndFewerDoNot(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let length = 1 + Int(rng.next() % 64)
        let secret = SecureBytes((0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let count = 2 + Int(rng.next() % 9)
        let threshold = 2 + Int(rng.next() % UInt64(count - 1))
        let shares = try Shamir.split(secret, count: count, threshold: threshold, random: SystemRandomSource())
        #expect(shares.map(\.index) == (1...count).map { UInt8($0) })
        #expect(shares.allSatisfy { $0.bytes.count == length && $0.bytes != secret })
        for _ in 0..<10 {
            let chosen = Array(shares.shuffled(using: &rng).prefix(threshold + Int(rng.next() % UInt64(count - threshold + 1))))
            #expect(try Shamir.combine(chosen) == secret)
            let tooFew = Array(chosen.prefix(threshold - 1))
            if tooFew.count >= 2, length >= 4 {
                #expect(try Shamir.combine(tooFew) != secret, "\(threshold - 1) of \(count) shares gave the secret (seed \(seed))")
            }
        }
    }

    /// With fixed coefficients the shares are fixed: a split made today combines the same way
    /// in any later version.
    @Test func sharesAreAFunctionOfTheSecretAndTheCoefficients() throws {
        let secret = SecureBytes(Array("correct horse battery staple 32b".utf8))
        let first = try Shamir.split(secret, count: 5, threshold: 3, random: Seeded(seed: 9))
        let again = try Shamir.split(secret, count: 5, threshold: 3, random: Seeded(seed: 9))
        #expect(first == again)
        #expect(try Shamir.combine([first[4], first[0], first[2]]) == secret)
        // A share changed in one byte gives another secret: the caller's AEAD says no.
        var bytes = first[1].bytes.unsafeCopiedBytes
        bytes[0] ^= 1
        #expect(try Shamir.combine([first[0], Shamir.Share(index: 2, bytes: SecureBytes(bytes)), first[2]]) != secret)
    }

    @Test func malformedRequestsAreRefused() throws {
        let secret = SecureBytes([1, 2, 3])
        for (count, threshold) in [(3, 1), (2, 3), (256, 3), (1, 1)] {
            #expect(throws: CryptoError.self) { try Shamir.split(secret, count: count, threshold: threshold, random: SystemRandomSource()) }
        }
        #expect(throws: CryptoError.self) { try Shamir.split(SecureBytes([]), count: 3, threshold: 2, random: SystemRandomSource()) }
        let shares = try Shamir.split(secret, count: 3, threshold: 2, random: SystemRandomSource())
        #expect(throws: CryptoError.self) { try Shamir.combine([shares[0]]) }
        #expect(throws: CryptoError.self) { try Shamir.combine([shares[0], shares[0]]) }
        #expect(throws: CryptoError.self) { try Shamir.combine([shares[0], Shamir.Share(index: 0, bytes: shares[1].bytes)]) }
        #expect(throws: CryptoError.self) { try Shamir.combine([shares[0], Shamir.Share(index: 2, bytes: SecureBytes([1, 2]))]) }
    }
}

/// scrypt against RFC 7914's test vectors (section 12), and its limits.
@Suite struct ScryptTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var chars = Array(text.filter { !$0.isWhitespace })
        while chars.count >= 2 {
            bytes.append(UInt8(String(chars[0..<2]), radix: 16)!)
            chars.removeFirst(2)
        }
        return bytes
    }

    @Test func rfc7914Vectors() throws {
        let empty = try Scrypt.deriveKey(passphrase: SecureBytes([]), salt: [], parameters: Scrypt.Parameters(n: 16, r: 1, p: 1), length: 64)
        #expect(empty.unsafeCopiedBytes == Self.hex("""
            77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
            fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06
            """))
        let password = try Scrypt.deriveKey(passphrase: SecureBytes(Array("password".utf8)), salt: Array("NaCl".utf8),
                                            parameters: Scrypt.Parameters(n: 1024, r: 8, p: 16), length: 64)
        #expect(password.unsafeCopiedBytes == Self.hex("""
            fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
            2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40
            """))
    }

    @Test func parametersOutsideTheLimitsAreRefused() {
        for parameters in [Scrypt.Parameters(n: 1000, r: 8, p: 1), Scrypt.Parameters(n: 1 << 23, r: 8, p: 1),
                           Scrypt.Parameters(n: 1 << 20, r: 16, p: 1), Scrypt.Parameters(n: 16, r: 0, p: 1)] {
            #expect(throws: CryptoError.self) {
                try Scrypt.deriveKey(passphrase: SecureBytes([1]), salt: [2], parameters: parameters, length: 32)
            }
        }
        #expect(Scrypt.Parameters.interactive.isAcceptable)
        #expect(throws: CryptoError.self) {
            try Scrypt.deriveKey(passphrase: SecureBytes([1]), salt: [2], parameters: Scrypt.Parameters(n: 16, r: 1, p: 1), length: 0)
        }
    }
}
