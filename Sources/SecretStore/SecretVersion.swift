/// An encrypted value as the API layer sealed it. The core never sees plaintext: it stores these
/// bytes, compares `equalityToken`s for ClientRequestToken idempotency, and hands them back.
public struct SealedValue: Sendable, Hashable {
    /// Whether the client sent `SecretString` or `SecretBinary`.
    public enum Kind: UInt8, Sendable, Hashable {
        case string = 1
        case binary = 2
    }

    public var kind: Kind
    /// The envelope and then the equality token, in one buffer: a version held them as two heap
    /// objects (the token's 32 bytes took an 80-byte block of their own).
    private var bytes: [UInt8]
    /// The equality token's length, at the end of `bytes`.
    private var tokenCount: UInt16
    /// The keyring key that wraps the data key.
    public var keyId: String
    /// The ARN the value is bound to (its sealing context) when it is not the secret's own: a
    /// replica's versions stay bound to the ARN they were sealed under in the primary region,
    /// since replication re-wraps the data key and leaves the value's ciphertext alone.
    public var boundARN: String?

    /// The sealed record (value ciphertext, wrapped data key, nonces and tags) in the encoding
    /// of the API's envelope; the core stores and returns it and never looks inside. A copy:
    /// `envelopeBytes` reads it in place.
    public var envelope: [UInt8] {
        get { Array(envelopeBytes) }
        set { self = SealedValue(kind: kind, envelope: newValue, keyId: keyId, equalityToken: equalityToken, boundARN: boundARN) }
    }

    /// The envelope, in place.
    public var envelopeBytes: ArraySlice<UInt8> { bytes[..<(bytes.count - Int(tokenCount))] }

    /// A keyed digest of the plaintext (an HMAC under a node key, computed by the API): equal
    /// tokens mean equal values, without the core learning anything about the value.
    public var equalityToken: [UInt8] {
        get { Array(tokenBytes) }
        set { self = SealedValue(kind: kind, envelope: envelope, keyId: keyId, equalityToken: newValue, boundARN: boundARN) }
    }

    var tokenBytes: ArraySlice<UInt8> { bytes[(bytes.count - Int(tokenCount))...] }

    public init(kind: Kind, envelope: [UInt8], keyId: String, equalityToken: [UInt8], boundARN: String? = nil) {
        precondition(equalityToken.count <= Int(UInt16.max), "an equality token of \(equalityToken.count) bytes")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(envelope.count + equalityToken.count)
        bytes += envelope
        bytes += equalityToken
        self.init(kind: kind, bytes: bytes, tokenCount: UInt16(equalityToken.count), keyId: keyId, boundARN: boundARN)
    }

    /// From the envelope and token already in one buffer (decoding).
    init(kind: Kind, bytes: [UInt8], tokenCount: UInt16, keyId: String, boundARN: String?) {
        self.kind = kind
        self.bytes = bytes
        self.tokenCount = tokenCount
        self.keyId = keyId
        self.boundARN = boundARN
    }

    /// True when both were sealed from the same plaintext of the same kind.
    public func sameValue(as other: SealedValue) -> Bool {
        kind == other.kind && tokenBytes.elementsEqual(other.tokenBytes)
    }
}

/// One immutable version of a secret. Only its staging labels ever change.
public struct SecretVersion: Sendable, Hashable {
    /// The VersionId, packed (16 bytes for a canonical UUID; see `VersionID`).
    var id: VersionID
    /// Staging labels, in the order they were attached. Empty: the version is deprecated.
    public var stages: [String]
    /// Milliseconds since the epoch.
    public var createdDate: Int64
    public var sealed: SealedValue
    /// The day (midnight UTC) this version was last read in this region; nil before the first.
    public var lastAccessedDate: Int64?

    /// The VersionId's text (made from the packed form on each read: compare with `id` in loops).
    public var versionId: String {
        get { id.text }
        set { id = VersionID(newValue) }
    }

    public init(versionId: String, stages: [String], createdDate: Int64, sealed: SealedValue, lastAccessedDate: Int64? = nil) {
        self.init(id: VersionID(versionId), stages: stages, createdDate: createdDate, sealed: sealed, lastAccessedDate: lastAccessedDate)
    }

    init(id: VersionID, stages: [String], createdDate: Int64, sealed: SealedValue, lastAccessedDate: Int64? = nil) {
        self.id = id
        self.stages = stages
        self.createdDate = createdDate
        self.sealed = sealed
        self.lastAccessedDate = lastAccessedDate
    }

    /// A version without staging labels: listed only with IncludeDeprecated, removable.
    public var isDeprecated: Bool { stages.isEmpty }
}

/// One staging label's move decided by the primary: detached from `from` (if any), attached to
/// `to` (if any). Applying a list of moves in order is the whole of a label change.
public struct LabelMove: Sendable, Hashable {
    public var label: String
    public var from: String?
    public var to: String?

    public init(label: String, from: String?, to: String?) {
        self.label = label
        self.from = from
        self.to = to
    }
}

/// A labelled version's value sealed again under another keyring key (UpdateSecret changing
/// `KmsKeyId`): same VersionId, same plaintext, new wrap.
public struct ResealedValue: Sendable, Hashable {
    public var versionId: String
    public var sealed: SealedValue

    public init(versionId: String, sealed: SealedValue) {
        self.versionId = versionId
        self.sealed = sealed
    }
}
