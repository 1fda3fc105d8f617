internal import COpenSSL
internal import COpenSSLShims

/// SHA-256 and HMAC-SHA256 through libcrypto's one-shot functions.
public enum SHA256 {
    /// Length of a digest in bytes.
    public static let byteCount = 32

    /// The SHA-256 digest of `data`.
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        if let digest = data.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return digest }
        return Array(data).withUnsafeBytes { hash($0) }
    }

    /// The SHA-256 digest of a byte array (concrete: see `Hex`).
    public static func hash(_ data: [UInt8]) -> [UInt8] { data.withUnsafeBytes { hash($0) } }

    /// The SHA-256 digest of raw memory.
    public static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            COpenSSLShims_sha256(data.baseAddress, data.count, out.baseAddress)
            initialized = byteCount
        }
    }

    /// The SHA-256 digest of the UTF-8 bytes of `string`.
    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }

    /// A digest computed over data that arrives in pieces (an append-only file hashed as it is
    /// written). Not thread-safe: its owner serializes `update` and `finalize`.
    public final class Hasher: @unchecked Sendable {
        // Safety: the context is touched only through `update`/`finalize`, which the owner
        // calls under its own lock (the audit trail's state mutex).
        private let context: OpaquePointer
        /// Bytes hashed so far.
        public private(set) var byteCount = 0

        public init() {
            guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed: out of memory") }
            self.context = context
            precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(SHA-256) failed: \(OpenSSLErrorQueue.drain())")
        }

        deinit { EVP_MD_CTX_free(context) }

        public func update(_ data: some Collection<UInt8>) {
            let done: Void? = data.withContiguousStorageIfAvailable { buffer in
                precondition(EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
            }
            if done == nil { update(Array(data)) } else { byteCount += data.count }
        }

        /// The digest of everything passed to `update`; the hasher starts over afterwards.
        public func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: SHA256.byteCount)
            var length: UInt32 = 0
            out.withUnsafeMutableBufferPointer { o in
                precondition(EVP_DigestFinal_ex(context, o.baseAddress, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
            }
            precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(SHA-256) failed")
            byteCount = 0
            return out
        }
    }
}

public enum HMACSHA256 {
    /// HMAC-SHA256 of `message` under `key`.
    public static func authenticate(_ message: some Collection<UInt8>, key: some Collection<UInt8>) -> [UInt8] {
        if let tag = key.withContiguousStorageIfAvailable({ k in authenticate(message, rawKey: UnsafeRawBufferPointer(k)) }) {
            return tag
        }
        var copy = Array(key)
        defer { copy.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        return copy.withUnsafeBytes { authenticate(message, rawKey: $0) }
    }

    /// HMAC-SHA256 of a byte array under a byte-array key (concrete: see `Hex`).
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in run(m, key: k) } }
    }

    private static func run(_ message: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: SHA256.byteCount) { out, initialized in
            COpenSSLShims_hmac_sha256(key.baseAddress, key.count, message.baseAddress, message.count, out.baseAddress)
            initialized = SHA256.byteCount
        }
    }

    private static func authenticate(_ message: some Collection<UInt8>, rawKey key: UnsafeRawBufferPointer) -> [UInt8] {
        if let tag = message.withContiguousStorageIfAvailable({ run(UnsafeRawBufferPointer($0), key: key) }) { return tag }
        return Array(message).withUnsafeBytes { run($0, key: key) }
    }

    /// HMAC-SHA256 by OpenSSL's own `HMAC()`, which the tests hold the fast path to.
    static func openSSLAuthenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        key.withUnsafeBytes { kb in
            message.withUnsafeBufferPointer { mb in
                out.withUnsafeMutableBufferPointer { ob in
                    let result = HMAC(EVP_sha256(), kb.baseAddress, Int32(kb.count), mb.baseAddress, mb.count, ob.baseAddress, &length)
                    precondition(result != nil && length == 32, "HMAC-SHA256 failed: \(OpenSSLErrorQueue.drain())")
                }
            }
        }
        return out
    }

    /// HMAC-SHA256 of `message` under a key held in `SecureBytes`.
    public static func authenticate(_ message: some Collection<UInt8>, key: SecureBytes) -> [UInt8] {
        key.withUnsafeBytes { kb in authenticate(message, rawKey: UnsafeRawBufferPointer(kb)) }
    }

    /// HMAC-SHA256 of a byte array under a key held in `SecureBytes` (concrete: see `Hex`).
    public static func authenticate(_ message: [UInt8], key: SecureBytes) -> [UInt8] {
        key.withUnsafeBytes { kb in message.withUnsafeBytes { m in run(m, key: UnsafeRawBufferPointer(kb)) } }
    }
}

/// Lower-case hexadecimal encoding.
public enum Hex {
    /// The lower-case hex digits, by value.
    static let digits = Array("0123456789abcdef".utf8)

    // Generic functions of another module run unspecialized (a witness call per byte), so the
    // byte-array forms, the hot ones, are separate concrete functions.

    public static func encode(_ bytes: some Collection<UInt8>) -> String { encode(Array(bytes)) }

    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { input in
            String(unsafeUninitializedCapacity: input.count * 2) { buffer in
                var i = 0
                for b in input {
                    buffer[i] = digits[Int(b >> 4)]
                    buffer[i + 1] = digits[Int(b & 0xF)]
                    i += 2
                }
                return i
            }
        }
    }

    /// Appends the lower-case hex of `bytes` to `out`.
    public static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
    }

    /// Decodes hex (either case); nil for odd length or a non-hex character.
    public static func decode(_ string: String) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Comparisons whose running time does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when `a` and `b` have the same length and bytes. The length is not secret; the
    /// contents are compared with `CRYPTO_memcmp`.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let x = Array(a)
        let y = Array(b)
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { xb in
            y.withUnsafeBytes { yb in CRYPTO_memcmp(xb.baseAddress, yb.baseAddress, xb.count) == 0 }
        }
    }
}
