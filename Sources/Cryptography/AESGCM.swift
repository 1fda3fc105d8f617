internal import COpenSSL

/// AES-256-GCM through libcrypto's `EVP_CIPHER_CTX` interface, one shot per call.
///
/// Nonces are the caller's responsibility: a (key, nonce) pair must never seal twice. `Envelope`
/// meets that by drawing a fresh data key and random 96-bit nonces for every seal.
public enum AESGCM {
    /// Key length in bytes (AES-256).
    public static let keyByteCount = 32
    /// Nonce length in bytes: the 96-bit IV GCM is designed around (no GHASH of the IV).
    public static let nonceByteCount = 12
    /// Tag length in bytes: the full 128-bit tag; truncated tags are never produced or accepted.
    public static let tagByteCount = 16
    /// The largest plaintext or associated data one call takes; OpenSSL counts lengths in `Int32`.
    public static let maximumInputByteCount = Int(Int32.max) - 64

    /// Encrypts and authenticates `plaintext`, and authenticates `associatedData`.
    ///
    /// - Precondition: `key` is 32 bytes and `nonce` is 12 bytes (programming errors, not input).
    /// - Returns: the ciphertext (as long as the plaintext) and the 16-byte tag.
    /// - Throws: `CryptoError` with code `.library` if libcrypto fails.
    public static func seal(
        _ plaintext: SecureBytes, key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        try plaintext.withUnsafeBytes { (p) throws(CryptoError) in
            try seal(p, key: key, nonce: nonce, associatedData: associatedData)
        }
    }

    /// Encrypts and authenticates a plaintext that is not itself secret (for example a test
    /// vector); otherwise as `seal(_:key:nonce:associatedData:)` for `SecureBytes`.
    public static func seal(
        _ plaintext: [UInt8], key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        // Array's `withUnsafeBytes` rethrows untyped errors: take the pointer, then throw outside.
        let result: Result<(ciphertext: [UInt8], tag: [UInt8]), CryptoError> = plaintext.withUnsafeBytes { p in
            Result { () throws(CryptoError) in try seal(p, key: key, nonce: nonce, associatedData: associatedData) }
        }
        return try result.get()
    }

    /// Verifies the tag and decrypts.
    ///
    /// - Precondition: `key` is 32 bytes and `nonce` is 12 bytes.
    /// - Returns: the plaintext, only if the tag verifies over ciphertext, nonce and associated data.
    /// - Throws: `CryptoError` with code `.authenticationFailed` (operation "AES-GCM open",
    ///   message "authentication failed") when the tag does not verify, including a tag of the
    ///   wrong length; no plaintext is returned and the partial output is zeroised.
    public static func open(
        ciphertext: [UInt8], tag: [UInt8], key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws(CryptoError) -> SecureBytes {
        checkParameters(key: key, nonce: nonce)
        precondition(ciphertext.count <= maximumInputByteCount && associatedData.count <= maximumInputByteCount,
                     "AES-GCM input exceeds \(maximumInputByteCount) bytes")
        // A tag of another length is an input problem (corrupt record), not a programming error.
        guard tag.count == tagByteCount else { throw authenticationFailure() }

        OpenSSLErrorQueue.clear()
        let context = try CipherContext()
        try context.initialise(decrypt: true, key: key, nonce: nonce)
        try context.addAssociatedData(associatedData, decrypt: true)

        // Written in place and never resized, so no stray copy of the plaintext is left behind by
        // a reallocation; zeroised if the tag does not verify.
        var output = [UInt8](repeating: 0, count: ciphertext.count)
        var produced = 0
        let verified: Bool
        do throws(CryptoError) {
            produced = try ciphertext.withUnsafeBytes { c in
                output.withUnsafeMutableBytes { o in context.update(input: c, output: o, decrypt: true) }
            }.get()
            var expectedTag = tag
            let setTag = expectedTag.withUnsafeMutableBytes { t in
                EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), t.baseAddress)
            }
            guard setTag == 1 else { throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_ctrl(GCM_SET_TAG)") }
            verified = output.withUnsafeMutableBytes { o in
                var finalLength: Int32 = 0
                let status = EVP_DecryptFinal_ex(
                    context.pointer, o.baseAddress?.advanced(by: produced).assumingMemoryBound(to: UInt8.self), &finalLength)
                return status == 1 && finalLength == 0
            }
        } catch {
            zeroise(&output)
            throw error
        }
        guard verified else {
            zeroise(&output)
            throw authenticationFailure()
        }
        precondition(produced == ciphertext.count, "AES-GCM produced \(produced) of \(ciphertext.count) bytes")
        return SecureBytes(output)
    }

    // MARK: - Internals

    private static func seal(
        _ plaintext: UnsafeRawBufferPointer, key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        checkParameters(key: key, nonce: nonce)
        precondition(plaintext.count <= maximumInputByteCount && associatedData.count <= maximumInputByteCount,
                     "AES-GCM input exceeds \(maximumInputByteCount) bytes")
        OpenSSLErrorQueue.clear()
        let context = try CipherContext()
        try context.initialise(decrypt: false, key: key, nonce: nonce)
        try context.addAssociatedData(associatedData, decrypt: false)

        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        let produced = try ciphertext.withUnsafeMutableBytes { o in
            context.update(input: plaintext, output: o, decrypt: false)
        }.get()
        var finalLength: Int32 = 0
        // GCM is a stream mode: Final writes nothing, but it must still be given a valid pointer.
        var scratch = [UInt8](repeating: 0, count: 16)
        let finished = scratch.withUnsafeMutableBufferPointer { s in
            EVP_EncryptFinal_ex(context.pointer, s.baseAddress, &finalLength)
        }
        guard finished == 1, finalLength == 0 else { throw CryptoError.fromOpenSSL("EVP_EncryptFinal_ex") }
        precondition(produced == plaintext.count, "AES-GCM produced \(produced) of \(plaintext.count) bytes")

        var tag = [UInt8](repeating: 0, count: tagByteCount)
        let gotTag = tag.withUnsafeMutableBytes { t in
            EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), t.baseAddress)
        }
        guard gotTag == 1 else { throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_ctrl(GCM_GET_TAG)") }
        return (ciphertext, tag)
    }

    private static func checkParameters(key: SecureBytes, nonce: [UInt8]) {
        precondition(key.count == keyByteCount, "AES-256-GCM key must be \(keyByteCount) bytes, not \(key.count)")
        precondition(nonce.count == nonceByteCount, "AES-GCM nonce must be \(nonceByteCount) bytes, not \(nonce.count)")
    }

    private static func authenticationFailure() -> CryptoError {
        // Whatever libcrypto queued (often nothing for a bad tag) goes with it, as every error does.
        let queued = OpenSSLErrorQueue.drain()
        return CryptoError(operation: "AES-GCM open",
                           message: queued.isEmpty ? "authentication failed" : "authentication failed; \(queued)",
                           code: .authenticationFailed)
    }

    private static func zeroise(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
        }
    }
}

/// AES-256-GCM fetched from the default provider once. Passing `EVP_aes_256_gcm()` makes
/// OpenSSL 3 fetch the implementation again at every initialisation (a locked lookup).
private struct FetchedCipher: @unchecked Sendable {
    // Safety: an EVP_CIPHER fetched once and never freed is immutable and shareable.
    let pointer: OpaquePointer
}

private let aes256GCM: FetchedCipher = {
    guard let pointer = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
        preconditionFailure("AES-256-GCM is not available: \(OpenSSLErrorQueue.drain())")
    }
    return FetchedCipher(pointer: pointer)
}()

/// An owned `EVP_CIPHER_CTX*`, freed (which also cleanses its key schedule) on every path,
/// including thrown errors, when the value goes out of scope.
private struct CipherContext: ~Copyable {
    let pointer: OpaquePointer

    init() throws(CryptoError) {
        guard let pointer = EVP_CIPHER_CTX_new() else { throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_new") }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }

    /// Selects AES-256-GCM with a 96-bit IV, then sets key and nonce.
    func initialise(decrypt: Bool, key: SecureBytes, nonce: [UInt8]) throws(CryptoError) {
        let cipherOK = decrypt
            ? EVP_DecryptInit_ex(pointer, aes256GCM.pointer, nil, nil, nil)
            : EVP_EncryptInit_ex(pointer, aes256GCM.pointer, nil, nil, nil)
        guard cipherOK == 1 else { throw CryptoError.fromOpenSSL(decrypt ? "EVP_DecryptInit_ex" : "EVP_EncryptInit_ex") }
        guard EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_ctrl(GCM_SET_IVLEN)")
        }
        let keyOK = key.withUnsafeBytes { k in
            nonce.withUnsafeBufferPointer { n in
                let keyPointer = k.baseAddress?.assumingMemoryBound(to: UInt8.self)
                return decrypt
                    ? EVP_DecryptInit_ex(pointer, nil, nil, keyPointer, n.baseAddress)
                    : EVP_EncryptInit_ex(pointer, nil, nil, keyPointer, n.baseAddress)
            }
        }
        guard keyOK == 1 else { throw CryptoError.fromOpenSSL(decrypt ? "EVP_DecryptInit_ex(key)" : "EVP_EncryptInit_ex(key)") }
    }

    /// Feeds associated data (an update with no output buffer). Empty data needs no call.
    func addAssociatedData(_ data: [UInt8], decrypt: Bool) throws(CryptoError) {
        if data.isEmpty { return }
        var length: Int32 = 0
        let ok = data.withUnsafeBufferPointer { a in
            decrypt
                ? EVP_DecryptUpdate(pointer, nil, &length, a.baseAddress, Int32(a.count))
                : EVP_EncryptUpdate(pointer, nil, &length, a.baseAddress, Int32(a.count))
        }
        guard ok == 1 else { throw CryptoError.fromOpenSSL(decrypt ? "EVP_DecryptUpdate(AAD)" : "EVP_EncryptUpdate(AAD)") }
    }

    /// Encrypts or decrypts all of `input` into `output` (same length); returns the bytes written.
    /// Returns a `Result` rather than throwing because it runs inside Array's untyped-rethrowing
    /// `withUnsafe…Bytes` closures.
    func update(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, decrypt: Bool) -> Result<Int, CryptoError> {
        precondition(output.count >= input.count, "AES-GCM output buffer too small")
        if input.isEmpty { return .success(0) }
        var length: Int32 = 0
        let inPointer = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let outPointer = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let ok = decrypt
            ? EVP_DecryptUpdate(pointer, outPointer, &length, inPointer, Int32(input.count))
            : EVP_EncryptUpdate(pointer, outPointer, &length, inPointer, Int32(input.count))
        guard ok == 1 else { return .failure(CryptoError.fromOpenSSL(decrypt ? "EVP_DecryptUpdate" : "EVP_EncryptUpdate")) }
        return .success(Int(length))
    }
}
