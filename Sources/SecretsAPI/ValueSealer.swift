public import Cryptography
public import SecretStore
public import AWSProtocol

/// Seals and opens version values with the node's keyring (the KMS stand-in), the one place
/// where plaintext meets keys.
///
/// Each value is sealed by `Envelope` under a fresh data key wrapped by the secret's keyring
/// key, bound to `ARN ‖ 0x00 ‖ VersionId` so a sealed value moved onto another version or secret
/// does not open. The equality token that lets the core recognise a retried value is
/// `HMAC(equalityKey(account), kind ‖ plaintext)`, where the equality key is derived from the
/// account's default key (`alias/aws/secretsmanager`; for an account without one, the key
/// that seals the value): it reveals equality of values to whoever holds the keyring, nothing
/// else.
public struct ValueSealer: Sendable {
    public let keyring: Keyring
    private let random: any RandomSource
    /// Unwrapped data keys of recently read versions (nil: every read unwraps).
    public let dataKeys: DataKeyCache?

    /// - Parameter dataKeys: a cache of unwrapped data keys for `open`, bound to this keyring.
    public init(keyring: Keyring, random: any RandomSource, dataKeys: DataKeyCache? = nil) {
        self.keyring = keyring
        self.random = random
        self.dataKeys = dataKeys
    }

    /// The key a secret's `KmsKeyId` names in `account`, or the account's default key when nil.
    /// - Throws: AWS's error for a key that does not exist.
    public func key(for kmsKeyId: String?, account: String, region: String) throws(AWSError) -> Keyring.Key {
        if let kmsKeyId {
            guard let key = keyring.key(named: kmsKeyId, account: account) else { throw AWSError.kmsKeyNotFound(kmsKeyId) }
            return key
        }
        guard let key = keyring.key(named: Keyring.defaultAlias, account: account) else {
            throw AWSError.kmsKeyNotFound(Keyring.defaultAlias)
        }
        return key
    }

    /// Whether a caller of `callerAccount` may have Secrets Manager use the key `keyId` of a
    /// secret owned by `ownerAccount`, as KMS would decide: the owner always; another account
    /// never through the owner's default key (AWS's InvalidRequestException), otherwise only
    /// when the key policy names it (AWS reports KMS's refusal as AccessDeniedException).
    public func checkKeyAccess(_ keyId: String, owner ownerAccount: String, caller callerAccount: String) throws(AWSError) {
        guard callerAccount != ownerAccount else { return }
        if isDefaultKey(keyId, account: ownerAccount) { throw AWSError.crossAccountDefaultKey }
        guard let key = keyring.key(id: keyId), key.allows(account: callerAccount) else { throw AWSError.kmsAccessDenied }
    }

    /// Whether `keyId` is the account's default key (`alias/aws/secretsmanager`).
    public func isDefaultKey(_ keyId: String, account: String) -> Bool {
        keyring.key(named: Keyring.defaultAlias, account: account)?.keyId == keyId
    }

    /// The ARN of a keyring key, for listings; the id itself when the key is gone.
    public func keyARN(_ keyId: String) -> String {
        keyring.key(id: keyId)?.arn ?? keyId
    }

    /// The ARN a stored value of the secret `arn` is bound to: its own, or (a replica's, or a
    /// promoted replica's) the same secret's ARN in the region it was sealed in. Anything else
    /// would let a value moved into another secret's record open there: refused.
    static func boundARN(of value: SealedValue, arn: String) throws(AWSError) -> String {
        guard let bound = value.boundARN else { return arn }
        guard let region = Names.region(of: arn), Names.arn(bound, inRegion: region) == arn else { throw AWSError.internalFailure }
        return bound
    }

    /// The bytes a value is bound to.
    static func context(arn: String, versionId: String) -> [UInt8] {
        Array(arn.utf8) + [0] + Array(versionId.utf8)
    }

    /// Seals a new version's value.
    public func seal(
        _ plaintext: SecureBytes, kind: SealedValue.Kind, key: Keyring.Key, account: String, arn: String, versionId: String
    ) throws(AWSError) -> NewValue {
        let sealed: SealedSecret
        do {
            sealed = try Envelope.seal(plaintext, under: key, context: Self.context(arn: arn, versionId: versionId), random: random)
        } catch {
            throw AWSError.internalFailure
        }
        let value = SealedValue(kind: kind, envelope: sealed.encoded(), keyId: key.keyId,
                                equalityToken: equalityToken(plaintext, kind: kind, account: account, fallback: key))
        return NewValue(sealed: value, plaintextSize: plaintext.count)
    }

    /// Opens a stored version's value.
    /// - Throws: InternalServiceError when the keyring lacks the key or the record does not
    ///   verify (the stored bytes or the keyring changed under us); the message names no value.
    public func open(_ value: SealedValue, arn: String, versionId: String) throws(AWSError) -> SecureBytes {
        let bound = try Self.boundARN(of: value, arn: arn)
        do {
            let sealed = try SealedSecret(decoding: value.envelopeBytes)
            return try Envelope.open(sealed, keyring: keyring, context: Self.context(arn: bound, versionId: versionId), cache: dataKeys)
        } catch {
            if error.code == .unknownKey { throw AWSError.kmsKeyUnavailable(value.keyId) }
            throw AWSError.internalFailure
        }
    }

    /// The value re-wrapped under `key` (UpdateSecret changing `KmsKeyId`); the value's own
    /// ciphertext is unchanged and the plaintext is never produced.
    public func reseal(_ value: SealedValue, under key: Keyring.Key, arn: String, versionId: String) throws(AWSError) -> SealedValue {
        let bound = try Self.boundARN(of: value, arn: arn)
        do {
            let sealed = try SealedSecret(decoding: value.envelopeBytes)
            let rewrapped = try Envelope.rewrap(sealed, from: keyring, to: key,
                                                context: Self.context(arn: bound, versionId: versionId),
                                                random: random)
            var result = value
            result.envelope = rewrapped.encoded()
            result.keyId = key.keyId
            return result
        } catch {
            if error.code == .unknownKey { throw AWSError.kmsKeyUnavailable(value.keyId) }
            throw AWSError.internalFailure
        }
    }

    /// The `keyId` of a value in transfer form (never a keyring key's id).
    public static let transferKeyId = "strongroom:transfer"

    /// A stored value in transfer form, for shipping to a replica region inside mutual TLS only:
    /// the data key in clear, the value's ciphertext unchanged and bound to the ARN it was sealed
    /// under (`boundARN`).
    public func exportForReplication(_ value: SealedValue, arn: String, versionId: String) throws(AWSError) -> SealedValue {
        let bound = try Self.boundARN(of: value, arn: arn)
        do {
            let sealed = try SealedSecret(decoding: value.envelopeBytes)
            let transfer = try Envelope.exportTransfer(sealed, keyring: keyring, context: Self.context(arn: bound, versionId: versionId))
            let bytes = transfer.withUnsafeBytes { Array($0) }
            return SealedValue(kind: value.kind, envelope: bytes, keyId: Self.transferKeyId, equalityToken: [], boundARN: bound)
        } catch {
            if error.code == .unknownKey { throw AWSError.kmsKeyUnavailable(value.keyId) }
            throw AWSError.internalFailure
        }
    }

    /// A value received in transfer form, sealed for this region: its data key wrapped under
    /// `kmsKeyId` of `account` (nil: the account's default key), its equality token this
    /// region's. The value is verified on the way.
    public func importReplicated(
        _ value: SealedValue, versionId: String, kmsKeyId: String?, account: String, region: String
    ) -> Result<SealedValue, ReplicaSealingFailure> {
        guard value.keyId == Self.transferKeyId, let bound = value.boundARN else {
            return .failure(ReplicaSealingFailure("the value did not arrive in transfer form"))
        }
        let key: Keyring.Key
        do {
            key = try self.key(for: kmsKeyId, account: account, region: region)
        } catch {
            return .failure(ReplicaSealingFailure("the KMS key \(kmsKeyId ?? Keyring.defaultAlias) does not exist in region \(region)."))
        }
        do {
            let imported = try Envelope.importTransfer(SecureBytes(value.envelope), under: key,
                                                       context: Self.context(arn: bound, versionId: versionId), random: random)
            let token = equalityToken(imported.plaintext, kind: value.kind, account: account, fallback: key)
            return .success(SealedValue(kind: value.kind, envelope: imported.sealed.encoded(), keyId: key.keyId,
                                        equalityToken: token, boundARN: bound))
        } catch {
            return .failure(ReplicaSealingFailure("the value of version \(versionId) did not verify"))
        }
    }

    private func equalityToken(_ plaintext: SecureBytes, kind: SealedValue.Kind, account: String, fallback: Keyring.Key) -> [UInt8] {
        let root = keyring.key(named: Keyring.defaultAlias, account: account) ?? fallback
        let equalityKey = SecureBytes(HMACSHA256.authenticate(Array("strongroom value equality v1".utf8), key: root.material))
        return plaintext.withUnsafeBytes { bytes in
            HMACSHA256.authenticate([kind.rawValue] + Array(bytes), key: equalityKey)
        }
    }
}
