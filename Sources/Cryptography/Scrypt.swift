internal import COpenSSL

/// scrypt (RFC 7914) from libcrypto: a key from a passphrase, costly in memory and time so that
/// guessing passphrases is too. For the sealed keyring's passphrase (issue 23); the parameters
/// are stored beside what the key seals, so they can be raised later without breaking old files.
public enum Scrypt {
    /// The parameters: N (a power of two above 1), r and p, as RFC 7914 names them.
    public struct Parameters: Sendable, Equatable {
        public var n: UInt64
        public var r: UInt64
        public var p: UInt64

        public init(n: UInt64, r: UInt64, p: UInt64) {
            self.n = n
            self.r = r
            self.p = p
        }

        /// N = 2^17, r = 8, p = 1: 128 MiB and about a third of a second here; the cost OWASP's
        /// password storage guidance recommends for scrypt.
        public static let interactive = Parameters(n: 1 << 17, r: 8, p: 1)

        /// The memory the derivation needs, in bytes (128 · r · N · p plus the p blocks).
        public var memoryBytes: UInt64 { 128 &* r &* n &* p &+ 128 &* r &* p }

        /// Whether libcrypto will take them, and they are within what a node should spend:
        /// N a power of two from 2 to 2^22, r and p from 1 to 64, at most 1 GiB.
        public var isAcceptable: Bool {
            n >= 2 && n <= 1 << 22 && n & (n - 1) == 0 && (1...64).contains(r) && (1...64).contains(p)
                && memoryBytes <= Self.maximumMemoryBytes
        }

        public static let maximumMemoryBytes: UInt64 = 1 << 30
    }

    /// `length` bytes derived from `passphrase` and `salt`.
    /// - Throws: `.malformed` for parameters outside `isAcceptable` or a length outside 1…1024;
    ///   `.library` when libcrypto fails.
    public static func deriveKey(passphrase: SecureBytes, salt: [UInt8], parameters: Parameters, length: Int) throws(CryptoError) -> SecureBytes {
        guard parameters.isAcceptable, (1...1024).contains(length) else {
            throw CryptoError(operation: "scrypt", message: "parameters N=\(parameters.n) r=\(parameters.r) p=\(parameters.p), length \(length) refused",
                              code: .malformed)
        }
        var key = [UInt8](repeating: 0, count: length)
        OpenSSLErrorQueue.clear()
        let ok = passphrase.withUnsafeBytes { pass in
            salt.withUnsafeBufferPointer { saltBytes in
                key.withUnsafeMutableBufferPointer { out in
                    EVP_PBE_scrypt(pass.baseAddress?.assumingMemoryBound(to: CChar.self), pass.count,
                                   saltBytes.baseAddress, saltBytes.count, parameters.n, parameters.r, parameters.p,
                                   parameters.memoryBytes + (1 << 20), out.baseAddress, out.count)
                }
            }
        }
        guard ok == 1 else {
            OPENSSL_cleanse(&key, key.count)
            throw CryptoError.fromOpenSSL("scrypt")
        }
        return SecureBytes(key)
    }
}
