/// The storage encoding of a sealed value:
///
///     version: UInt8 (= 1)
///     7 × { length: UInt32 big-endian, bytes }   in the order keyId (UTF-8), wrappedDataKey,
///                                                  dataKeyNonce, dataKeyTag, nonce, ciphertext, tag
///
/// Deterministic (one encoding per value) and self-delimiting; decoding takes exactly one record
/// and refuses trailing bytes. Every length is checked against what remains before anything is
/// allocated, and the shape is asserted when encoding and checked again after decoding.
extension SealedSecret {
    /// The record's bytes.
    /// - Precondition: `validateShape()` passes (a value from `Envelope` always does).
    public func encoded() -> [UInt8] {
        do { try validateShape() } catch { preconditionFailure("encoding a malformed SealedSecret: \(error)") }
        let fields: [[UInt8]] = [Array(keyId.utf8), wrappedDataKey, dataKeyNonce, dataKeyTag, nonce, ciphertext, tag]
        var out: [UInt8] = []
        out.reserveCapacity(1 + fields.reduce(0) { $0 + 4 + $1.count })
        out.append(Self.formatVersion)
        for field in fields {
            let length = UInt32(field.count)
            out.append(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
            out.append(contentsOf: field)
        }
        return out
    }

    /// Decodes one record produced by `encoded()`.
    /// - Throws: `CryptoError` with code `.malformed` for any other input (wrong version,
    ///   truncation, a length past the end or over a limit, invalid UTF-8, trailing bytes); never
    ///   traps on garbage.
    public init(decoding bytes: some Collection<UInt8>) throws(CryptoError) {
        var reader = Reader(bytes: Array(bytes))
        guard let version = reader.byte() else { throw Self.malformed("empty input") }
        guard version == Self.formatVersion else { throw Self.malformed("unknown format version \(version)") }

        let keyIdBytes = try reader.field("keyId", limit: Self.maximumKeyIdByteCount)
        guard let keyId = String(validating: keyIdBytes, as: UTF8.self) else { throw Self.malformed("keyId is not UTF-8") }
        let wrappedDataKey = try reader.field("wrappedDataKey", limit: AESGCM.keyByteCount)
        let dataKeyNonce = try reader.field("dataKeyNonce", limit: AESGCM.nonceByteCount)
        let dataKeyTag = try reader.field("dataKeyTag", limit: AESGCM.tagByteCount)
        let nonce = try reader.field("nonce", limit: AESGCM.nonceByteCount)
        let ciphertext = try reader.field("ciphertext", limit: Self.maximumCiphertextByteCount)
        let tag = try reader.field("tag", limit: AESGCM.tagByteCount)
        guard reader.isAtEnd else { throw Self.malformed("\(reader.remaining) trailing bytes") }

        self.init(keyId: keyId, wrappedDataKey: wrappedDataKey, dataKeyNonce: dataKeyNonce, dataKeyTag: dataKeyTag,
                  nonce: nonce, ciphertext: ciphertext, tag: tag)
        try validateShape()
    }

    fileprivate static func malformed(_ message: String) -> CryptoError {
        CryptoError(operation: "SealedSecret decoding", message: message, code: .malformed)
    }
}

/// A bounds-checked cursor over the record; every read says how far it got.
private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A length-prefixed field of at most `limit` bytes.
    mutating func field(_ name: String, limit: Int) throws(CryptoError) -> [UInt8] {
        guard remaining >= 4 else { throw SealedSecret.malformed("truncated before the length of \(name)") }
        let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        offset += 4
        guard length <= limit else { throw SealedSecret.malformed("\(name) claims \(length) bytes; the limit is \(limit)") }
        guard length <= remaining else {
            throw SealedSecret.malformed("\(name) claims \(length) bytes but only \(remaining) remain")
        }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }
}
