/// Envelope encryption of secret values, as KMS does it for Secrets Manager.
///
/// Each seal draws a fresh 32-byte data key and seals the value under it with AES-256-GCM; the
/// data key is then sealed ("wrapped") under a keyring key. Changing a secret's `KmsKeyId`, or
/// replicating it to a region with other keys, re-wraps the 32-byte data key and leaves the value's
/// ciphertext alone.
///
/// Binding: the value's associated data is `context` (the caller passes, for example, the secret
/// ARN and VersionId), so a sealed value copied onto another version does not open. The data
/// key's associated data is `UInt32(keyId.utf8.count) big-endian ‖ keyId ‖ context`: the length
/// prefix keeps (keyId, context) pairs from colliding, and the key id being authenticated means a
/// record relabelled with another key id fails rather than being tried under the wrong key.
///
/// Nonces are random 96-bit values. The data key is used once, so its nonce can never repeat; a
/// keyring key wraps one data key per seal, and random nonces keep the collision chance negligible
/// until about 2^32 wraps under one key (NIST SP 800-38D, section 8.3).
///
/// Plaintext data keys exist only in `SecureBytes`, never in an error or description.
public enum Envelope {
    /// Seals `plaintext` under a fresh data key wrapped by `key`.
    ///
    /// - Parameters:
    ///   - plaintext: the secret value; at most `SealedSecret.maximumCiphertextByteCount` bytes.
    ///   - key: the keyring key that wraps the data key (its material must be 32 bytes).
    ///   - context: bytes the value is bound to, e.g. secret ARN and VersionId; needed to open.
    ///   - random: where the data key and both nonces come from.
    /// - Throws: `CryptoError` if `random` or libcrypto fails.
    public static func seal(
        _ plaintext: SecureBytes, under key: Keyring.Key, context: [UInt8], random: some RandomSource
    ) throws(CryptoError) -> SealedSecret {
        precondition(plaintext.count <= SealedSecret.maximumCiphertextByteCount,
                     "value of \(plaintext.count) bytes exceeds \(SealedSecret.maximumCiphertextByteCount)")
        let dataKey = SecureBytes(try draw(AESGCM.keyByteCount, from: random))
        let nonce = try draw(AESGCM.nonceByteCount, from: random)
        let value = try AESGCM.seal(plaintext, key: dataKey, nonce: nonce, associatedData: context)
        let wrapped = try wrap(dataKey, under: key, context: context, random: random)
        let sealed = SealedSecret(keyId: key.keyId, wrappedDataKey: wrapped.ciphertext, dataKeyNonce: wrapped.nonce,
                                  dataKeyTag: wrapped.tag, nonce: nonce, ciphertext: value.ciphertext, tag: value.tag)
        do { try sealed.validateShape() } catch { preconditionFailure("Envelope.seal built a malformed record: \(error)") }
        return sealed
    }

    /// Opens a sealed value with the keyring key it names.
    ///
    /// - Parameters:
    ///   - sealed: the record; its shape is checked first.
    ///   - keyring: must hold the key named by `sealed.keyId`.
    ///   - context: the same bytes given to `seal`.
    /// - Returns: the value.
    /// - Throws: `CryptoError` with code `.unknownKey` (message naming the key id) when the
    ///   keyring lacks the key, `.authenticationFailed` when the data key or the value does not
    ///   verify (wrong key, wrong context, altered or swapped fields), `.malformed` for a record
    ///   of the wrong shape.
    ///   - cache: unwrapped data keys kept from earlier opens (`DataKeyCache`); a key found there
    ///     is used only while the keyring still holds the key that wrapped it.
    public static func open(
        _ sealed: SealedSecret, keyring: Keyring, context: [UInt8], cache: DataKeyCache? = nil
    ) throws(CryptoError) -> SecureBytes {
        try sealed.validateShape()
        let cacheKey = cache.map { _ in
            DataKeyCache.Key(keyId: sealed.keyId, wrap: sealed.dataKeyNonce + sealed.wrappedDataKey + sealed.dataKeyTag, context: context)
        }
        let dataKey: SecureBytes
        if let cache, let cacheKey, keyring.key(id: sealed.keyId) != nil, let cached = cache.lookup(cacheKey) {
            dataKey = cached
        } else {
            dataKey = try unwrap(sealed, keyring: keyring, context: context, operation: "Envelope open")
            if let cache, let cacheKey { cache.insert(cacheKey, dataKey: dataKey) }
        }
        do {
            return try AESGCM.open(ciphertext: sealed.ciphertext, tag: sealed.tag, key: dataKey,
                                   nonce: sealed.nonce, associatedData: context)
        } catch {
            throw CryptoError(operation: "Envelope open (value)", message: error.message, code: error.code)
        }
    }

    /// Re-wraps the data key under `key`, leaving the value's nonce, ciphertext and tag untouched.
    ///
    /// The old wrap is verified (so the context must match) but the value itself is not
    /// decrypted. Used when a secret's `KmsKeyId` changes and when replicating to a region whose
    /// keyring holds other keys. Re-wrapping under the same key draws a new wrap nonce.
    ///
    /// - Parameters:
    ///   - sealed: the record as sealed today.
    ///   - keyring: holds the key that wrapped it.
    ///   - key: the key to wrap under from now on.
    ///   - context: the same bytes given to `seal`; the new wrap is bound to them too.
    ///   - random: where the new wrap nonce comes from.
    /// - Throws: as `open` for the unwrap; `CryptoError` if `random` or libcrypto fails.
    public static func rewrap(
        _ sealed: SealedSecret, from keyring: Keyring, to key: Keyring.Key, context: [UInt8], random: some RandomSource
    ) throws(CryptoError) -> SealedSecret {
        try sealed.validateShape()
        let dataKey = try unwrap(sealed, keyring: keyring, context: context, operation: "Envelope rewrap")
        let wrapped = try wrap(dataKey, under: key, context: context, random: random)
        var result = sealed
        result.keyId = key.keyId
        result.wrappedDataKey = wrapped.ciphertext
        result.dataKeyNonce = wrapped.nonce
        result.dataKeyTag = wrapped.tag
        do { try result.validateShape() } catch { preconditionFailure("Envelope.rewrap built a malformed record: \(error)") }
        return result
    }

    // MARK: - Transfer between keyrings (replication)

    /// A sealed value in transfer form: the data key in clear with the value's nonce, tag and
    /// ciphertext (`dataKey ‖ nonce ‖ tag ‖ ciphertext`). It exists only to cross a mutual-TLS
    /// link to another region, whose keyring wraps the data key again (`importTransfer`); it
    /// must never be stored. The value's ciphertext is unchanged, so it stays bound to `context`.
    ///
    /// - Throws: as `open` for the unwrap.
    public static func exportTransfer(_ sealed: SealedSecret, keyring: Keyring, context: [UInt8]) throws(CryptoError) -> SecureBytes {
        try sealed.validateShape()
        let dataKey = try unwrap(sealed, keyring: keyring, context: context, operation: "Envelope export")
        return dataKey.withUnsafeBytes { key in
            SecureBytes(Array(key) + sealed.nonce + sealed.tag + sealed.ciphertext)
        }
    }

    /// Seals a transfer-form value (`exportTransfer`) under `key` of this keyring: the value is
    /// opened first (so a damaged transfer is refused, not stored), then its data key wrapped.
    ///
    /// - Returns: the record to store, and the value itself (for the caller's equality token).
    /// - Throws: `.malformed` for a transfer of the wrong shape, `.authenticationFailed` when the
    ///   value does not verify under its data key and `context`.
    public static func importTransfer(
        _ transfer: SecureBytes, under key: Keyring.Key, context: [UInt8], random: some RandomSource
    ) throws(CryptoError) -> (sealed: SealedSecret, plaintext: SecureBytes) {
        let head = AESGCM.keyByteCount + AESGCM.nonceByteCount + AESGCM.tagByteCount
        guard transfer.count >= head, transfer.count - head <= SealedSecret.maximumCiphertextByteCount else {
            throw CryptoError(operation: "Envelope import", message: "transfer is \(transfer.count) bytes", code: .malformed)
        }
        let (dataKey, nonce, tag, ciphertext) = transfer.withUnsafeBytes { bytes in
            (SecureBytes(Array(bytes[0..<AESGCM.keyByteCount])),
             Array(bytes[AESGCM.keyByteCount..<(AESGCM.keyByteCount + AESGCM.nonceByteCount)]),
             Array(bytes[(AESGCM.keyByteCount + AESGCM.nonceByteCount)..<head]),
             Array(bytes[head...]))
        }
        let plaintext: SecureBytes
        do {
            plaintext = try AESGCM.open(ciphertext: ciphertext, tag: tag, key: dataKey, nonce: nonce, associatedData: context)
        } catch {
            throw CryptoError(operation: "Envelope import (value)", message: error.message, code: error.code)
        }
        let wrapped = try wrap(dataKey, under: key, context: context, random: random)
        let sealed = SealedSecret(keyId: key.keyId, wrappedDataKey: wrapped.ciphertext, dataKeyNonce: wrapped.nonce,
                                  dataKeyTag: wrapped.tag, nonce: nonce, ciphertext: ciphertext, tag: tag)
        try sealed.validateShape()
        return (sealed, plaintext)
    }

    // MARK: - Internals

    private static func wrap(
        _ dataKey: SecureBytes, under key: Keyring.Key, context: [UInt8], random: some RandomSource
    ) throws(CryptoError) -> (nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        precondition(key.material.count == AESGCM.keyByteCount, "keyring key '\(key.keyId)' is not \(AESGCM.keyByteCount) bytes")
        let nonce = try draw(AESGCM.nonceByteCount, from: random)
        let sealed = try AESGCM.seal(dataKey, key: key.material, nonce: nonce,
                                     associatedData: wrapAssociatedData(keyId: key.keyId, context: context))
        return (nonce, sealed.ciphertext, sealed.tag)
    }

    private static func unwrap(
        _ sealed: SealedSecret, keyring: Keyring, context: [UInt8], operation: String
    ) throws(CryptoError) -> SecureBytes {
        guard let key = keyring.key(id: sealed.keyId) else {
            throw CryptoError(operation: operation, message: "key '\(sealed.keyId)' is not in the keyring", code: .unknownKey)
        }
        precondition(key.material.count == AESGCM.keyByteCount, "keyring key '\(key.keyId)' is not \(AESGCM.keyByteCount) bytes")
        let dataKey: SecureBytes
        do {
            dataKey = try AESGCM.open(ciphertext: sealed.wrappedDataKey, tag: sealed.dataKeyTag, key: key.material,
                                      nonce: sealed.dataKeyNonce,
                                      associatedData: wrapAssociatedData(keyId: sealed.keyId, context: context))
        } catch {
            throw CryptoError(operation: "\(operation) (data key under '\(sealed.keyId)')", message: error.message, code: error.code)
        }
        precondition(dataKey.count == AESGCM.keyByteCount, "unwrapped data key is \(dataKey.count) bytes")
        return dataKey
    }

    /// `UInt32(keyId.utf8.count) big-endian ‖ keyId ‖ context`.
    private static func wrapAssociatedData(keyId: String, context: [UInt8]) -> [UInt8] {
        let id = Array(keyId.utf8)
        let length = UInt32(id.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + id + context
    }

    /// `count` bytes from `random`; a source that returns another count is a bug in the source.
    private static func draw(_ count: Int, from random: some RandomSource) throws(CryptoError) -> [UInt8] {
        let bytes = try random.bytes(count)
        precondition(bytes.count == count, "RandomSource returned \(bytes.count) bytes, not \(count)")
        return bytes
    }
}
