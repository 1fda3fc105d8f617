/// A secret value sealed by `Envelope`: the value under a one-time data key, and that data key
/// wrapped under a keyring key. Nothing in it is secret; it is what the journal stores.
///
/// The description shows the key id and sizes only, so a sealed value in a log line is harmless
/// and short.
public struct SealedSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The keyring key that wrapped the data key.
    public var keyId: String
    /// The 32-byte data key, sealed with AES-256-GCM under the keyring key.
    public var wrappedDataKey: [UInt8]
    /// The nonce used to wrap the data key.
    public var dataKeyNonce: [UInt8]
    /// The tag over the wrapped data key, its nonce, the key id and the context.
    public var dataKeyTag: [UInt8]
    /// The nonce used to seal the value under the data key.
    public var nonce: [UInt8]
    /// The value, sealed under the data key.
    public var ciphertext: [UInt8]
    /// The tag over the ciphertext, its nonce and the context.
    public var tag: [UInt8]

    public init(keyId: String, wrappedDataKey: [UInt8], dataKeyNonce: [UInt8], dataKeyTag: [UInt8],
                nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        self.keyId = keyId
        self.wrappedDataKey = wrappedDataKey
        self.dataKeyNonce = dataKeyNonce
        self.dataKeyTag = dataKeyTag
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.tag = tag
    }

    // MARK: - Limits

    /// The version byte `encoded()` writes; decoding refuses any other.
    public static let formatVersion: UInt8 = 1
    /// Longest key id, in UTF-8 bytes. KMS key ids are 36-character UUIDs; this leaves headroom
    /// for our own names while bounding what a corrupt record can make us allocate.
    public static let maximumKeyIdByteCount = 256
    /// Largest sealed value. AWS caps a secret value at 65,536 bytes and the API enforces that;
    /// this is the storage format's own bound, with headroom, so a corrupt length cannot ask for
    /// gigabytes.
    public static let maximumCiphertextByteCount = 1 << 20

    // MARK: - Shape

    /// Checks every field's length, so that a value built by hand or decoded from storage never
    /// reaches AES-GCM's preconditions.
    /// - Throws: `CryptoError` with code `.malformed`, naming the field (never its contents).
    public func validateShape() throws(CryptoError) {
        func malformed(_ message: String) -> CryptoError {
            CryptoError(operation: "SealedSecret", message: message, code: .malformed)
        }
        let keyIdBytes = keyId.utf8.count
        guard keyIdBytes > 0, keyIdBytes <= Self.maximumKeyIdByteCount else {
            throw malformed("key id is \(keyIdBytes) bytes; it must be 1 to \(Self.maximumKeyIdByteCount)")
        }
        let fixed: [(String, Int, Int)] = [
            ("wrappedDataKey", wrappedDataKey.count, AESGCM.keyByteCount),
            ("dataKeyNonce", dataKeyNonce.count, AESGCM.nonceByteCount),
            ("dataKeyTag", dataKeyTag.count, AESGCM.tagByteCount),
            ("nonce", nonce.count, AESGCM.nonceByteCount),
            ("tag", tag.count, AESGCM.tagByteCount),
        ]
        for (name, actual, expected) in fixed where actual != expected {
            throw malformed("\(name) is \(actual) bytes; it must be \(expected)")
        }
        guard ciphertext.count <= Self.maximumCiphertextByteCount else {
            throw malformed("ciphertext is \(ciphertext.count) bytes; the limit is \(Self.maximumCiphertextByteCount)")
        }
    }

    // MARK: - Description

    public var description: String {
        "SealedSecret(keyId: \(keyId), ciphertext: \(ciphertext.count) bytes)"
    }
    public var debugDescription: String { description }
}
