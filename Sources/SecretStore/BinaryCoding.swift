/// Why bytes did not decode. Decoding never traps on bad input.
public struct SecretStoreDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    /// Byte offset where decoding stopped.
    public var offset: Int

    public init(reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "cannot decode at byte \(offset): \(reason)" }
}

/// Appends the deterministic binary encoding: LEB128 varints, zigzag for signed, length-prefixed
/// UTF-8 and bytes, one byte for flags and optionals. The same value always gives the same bytes.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []
    /// The layout being written (see `ByteReader.layout`): 2 leaves out the access days, 3 the
    /// secrets' `everTagged`.
    var layout: UInt8 = 4

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func int(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func count(_ value: Int) {
        precondition(value >= 0)
        varint(UInt64(value))
    }

    mutating func bool(_ value: Bool) { byte(value ? 1 : 0) }

    mutating func raw(_ value: some Collection<UInt8>) {
        count(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { raw(Array(value.utf8)) }

    mutating func optional<T>(_ value: T?, _ body: (inout ByteWriter, T) -> Void) {
        if let value {
            byte(1)
            body(&self, value)
        } else {
            byte(0)
        }
    }

    mutating func array<T>(_ values: [T], _ body: (inout ByteWriter, T) -> Void) {
        count(values.count)
        for value in values { body(&self, value) }
    }
}

/// Reads what `ByteWriter` wrote; every read checks the bytes remain and are well formed.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0
    /// The layout being read: 1 before replication (no `boundARN`, `primaryRegion`, `replicas`),
    /// 2 before replicas' access days (no `ReplicaStatus.lastAccessedDate`,
    /// `ReplicaNotice.accessedDay`), 3 before `Secret.everTagged` (derived from the tags then), 4
    /// since. Set from the format byte or magic of what is decoded.
    var layout: UInt8 = 4
    /// The last keyring key id read. Nearly every version names one of a few keys: handing back
    /// this one string (its storage shared) instead of decoding a new one saves a heap object
    /// per version, in memory and in a restart's time.
    private var lastKeyId = ""
    private var lastKeyIdBytes: [UInt8] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    func failure(_ reason: String) -> SecretStoreDecodingError {
        SecretStoreDecodingError(reason: reason, offset: offset)
    }

    mutating func byte() throws(SecretStoreDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw failure("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(SecretStoreDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            if shift == 63 && next > 1 { throw failure("varint overflows 64 bits") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 {
                if next == 0 && shift > 0 { throw failure("varint not in shortest form") }
                return result
            }
            shift += 7
            if shift > 63 { throw failure("varint too long") }
        }
    }

    mutating func int() throws(SecretStoreDecodingError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A count of items that each take at least one byte: never more than the bytes left, so
    /// garbage cannot make us allocate.
    mutating func count() throws(SecretStoreDecodingError) -> Int {
        let raw = try varint()
        guard raw <= UInt64(bytes.count - offset) else { throw failure("count \(raw) exceeds the bytes left") }
        return Int(raw)
    }

    mutating func bool() throws(SecretStoreDecodingError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        default: throw failure("bad flag")
        }
    }

    mutating func raw() throws(SecretStoreDecodingError) -> [UInt8] {
        let length = try count()
        defer { offset += length }
        return Array(bytes[offset..<(offset + length)])
    }

    /// Whether every byte is below 0x80, eight at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= bytes.count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(bytes[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    mutating func string() throws(SecretStoreDecodingError) -> String {
        let start = offset
        let length = try count()
        let begin = offset
        offset += length
        // `String(validating:as:)` runs unspecialized (generic metadata lookups on every call:
        // a tenth of a restart). Decoding repairs invalid UTF-8 with U+FFFD instead, so the
        // text is valid exactly when its UTF-8 is the input's bytes.
        let text = bytes.withUnsafeBufferPointer { buffer -> String? in
            let slice = UnsafeBufferPointer(rebasing: buffer[begin..<(begin + length)])
            var decoded = String(decoding: slice, as: UTF8.self)
            // ASCII (ARNs, names, ids: nearly every string) is valid as it stands.
            if Self.isASCII(slice) { return decoded }
            let valid = decoded.withUTF8 { $0.elementsEqual(slice) }
            return valid ? decoded : nil
        }
        guard let text else { throw SecretStoreDecodingError(reason: "invalid UTF-8", offset: start) }
        return text
    }

    mutating func optional<T>(_ body: (inout ByteReader) throws(SecretStoreDecodingError) -> T)
        throws(SecretStoreDecodingError) -> T? {
        try bool() ? try body(&self) : nil
    }

    mutating func array<T>(_ body: (inout ByteReader) throws(SecretStoreDecodingError) -> T)
        throws(SecretStoreDecodingError) -> [T] {
        let n = try count()
        var result: [T] = []
        result.reserveCapacity(n)
        for _ in 0..<n { result.append(try body(&self)) }
        return result
    }

    func expectEnd() throws(SecretStoreDecodingError) {
        guard isAtEnd else { throw failure("\(bytes.count - offset) trailing bytes") }
    }
}

// MARK: Value types

extension ByteWriter {
    mutating func tag(_ tag: SecretTag) {
        string(tag.key)
        string(tag.value)
    }

    mutating func sealed(_ value: SealedValue) {
        byte(value.kind.rawValue)
        raw(value.envelopeBytes)
        string(value.keyId)
        raw(value.tokenBytes)
        optional(value.boundARN) { $0.string($1) }
    }

    mutating func replica(_ replica: ReplicaStatus) {
        string(replica.region)
        optional(replica.kmsKeyId) { $0.string($1) }
        byte(replica.state.rawValue)
        optional(replica.message) { $0.string($1) }
        if layout >= 3 { optional(replica.lastAccessedDate) { $0.int($1) } }
    }

    mutating func notice(_ notice: ReplicaNotice) {
        byte(notice.kind.rawValue)
        optional(notice.message) { $0.string($1) }
        if layout >= 3 { optional(notice.accessedDay) { $0.int($1) } }
    }

    mutating func version(_ version: SecretVersion) {
        string(version.id.text)
        array(version.stages) { $0.string($1) }
        int(version.createdDate)
        sealed(version.sealed)
        if layout >= 4 { optional(version.lastAccessedDate) { $0.int($1) } }
    }

    mutating func move(_ move: LabelMove) {
        string(move.label)
        optional(move.from) { $0.string($1) }
        optional(move.to) { $0.string($1) }
    }

    mutating func rotation(_ rotation: Rotation) {
        bool(rotation.enabled)
        optional(rotation.lambdaARN) { $0.string($1) }
        optional(rotation.rules) { writer, rules in
            writer.optional(rules.automaticallyAfterDays) { $0.int($1) }
            writer.optional(rules.scheduleExpression) { $0.string($1) }
            writer.optional(rules.duration) { $0.string($1) }
        }
        optional(rotation.nextRotationDate) { $0.int($1) }
        optional(rotation.lastRotatedDate) { $0.int($1) }
    }

    mutating func secret(_ secret: Secret) {
        string(secret.arn)
        string(secret.name)
        string(secret.accountId)
        optional(secret.description) { $0.string($1) }
        optional(secret.kmsKeyId) { $0.string($1) }
        array(secret.tags) { $0.tag($1) }
        optional(secret.resourcePolicy) { $0.string($1) }
        int(secret.createdDate)
        int(secret.lastChangedDate)
        optional(secret.lastAccessedDate) { $0.int($1) }
        optional(secret.deletedDate) { $0.int($1) }
        rotation(secret.rotation)
        array(secret.versions) { $0.version($1) }
        optional(secret.primaryRegion) { $0.string($1) }
        array(secret.replicas) { $0.replica($1) }
        if layout >= 4 { bool(secret.everTagged) }
    }
}

extension ByteReader {
    mutating func optionalString() throws(SecretStoreDecodingError) -> String? {
        try optional { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.string() }
    }

    mutating func optionalInt() throws(SecretStoreDecodingError) -> Int64? {
        try optional { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.int() }
    }

    mutating func strings() throws(SecretStoreDecodingError) -> [String] {
        try array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.string() }
    }

    mutating func tag() throws(SecretStoreDecodingError) -> SecretTag {
        SecretTag(key: try string(), value: try string())
    }

    mutating func tags() throws(SecretStoreDecodingError) -> [SecretTag] {
        try array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.tag() }
    }

    mutating func sealed() throws(SecretStoreDecodingError) -> SealedValue {
        guard let kind = SealedValue.Kind(rawValue: try byte()) else { throw failure("bad value kind") }
        // The envelope and the token go into one buffer, as the value holds them.
        let envelope = try rawRange()
        let keyId = try keyId()
        let token = try rawRange()
        guard token.count <= Int(UInt16.max) else { throw failure("an equality token of \(token.count) bytes") }
        var packed: [UInt8] = []
        packed.reserveCapacity(envelope.count + token.count)
        packed += bytes[envelope]
        packed += bytes[token]
        return SealedValue(kind: kind, bytes: packed, tokenCount: UInt16(token.count), keyId: keyId,
                           boundARN: layout >= 2 ? try optionalString() : nil)
    }

    /// Where the next length-prefixed bytes are, skipped over.
    mutating func rawRange() throws(SecretStoreDecodingError) -> Range<Int> {
        let length = try count()
        defer { offset += length }
        return offset..<(offset + length)
    }

    /// A VersionId, packed straight from the bytes (no string made for a UUID or 32 hex digits).
    mutating func versionID() throws(SecretStoreDecodingError) -> VersionID {
        let start = offset
        let length = try count()
        let packed = bytes.withUnsafeBytes { raw -> VersionID? in
            let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
            return (length == 36 || length == 32) && Self.isASCII(slice.bindMemory(to: UInt8.self)) ? VersionID(validUTF8: slice) : nil
        }
        if let packed {
            offset += length
            return packed
        }
        offset = start
        return VersionID(try string())
    }

    /// A string that is most often the last key id read (see `lastKeyId`).
    mutating func keyId() throws(SecretStoreDecodingError) -> String {
        let start = offset
        let length = try count()
        if lastKeyIdBytes.count == length, Self.equal(bytes, at: offset, lastKeyIdBytes) {
            offset += length
            return lastKeyId
        }
        offset = start
        lastKeyId = try string()
        lastKeyIdBytes = Array(lastKeyId.utf8)
        return lastKeyId
    }

    /// Whether `bytes` holds `expected` at `offset` (a plain loop over the buffers: the generic
    /// `elementsEqual` was half of reading a key id).
    static func equal(_ bytes: [UInt8], at offset: Int, _ expected: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            expected.withUnsafeBufferPointer { wanted in
                for i in 0..<wanted.count where buffer[offset + i] != wanted[i] { return false }
                return true
            }
        }
    }

    mutating func replica() throws(SecretStoreDecodingError) -> ReplicaStatus {
        let region = try string()
        let kmsKeyId = try optionalString()
        guard let state = ReplicaStatus.State(rawValue: try byte()) else { throw failure("bad replication status") }
        return ReplicaStatus(region: region, kmsKeyId: kmsKeyId, state: state, message: try optionalString(),
                             lastAccessedDate: layout >= 3 ? try optionalInt() : nil)
    }

    mutating func replicas() throws(SecretStoreDecodingError) -> [ReplicaStatus] {
        try array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.replica() }
    }

    mutating func notice() throws(SecretStoreDecodingError) -> ReplicaNotice {
        guard let kind = ReplicaNotice.Kind(rawValue: try byte()), layout >= 3 || kind != .accessed else {
            throw failure("bad replica notice kind")
        }
        return ReplicaNotice(kind: kind, message: try optionalString(), accessedDay: layout >= 3 ? try optionalInt() : nil)
    }

    mutating func version() throws(SecretStoreDecodingError) -> SecretVersion {
        var version = SecretVersion(id: try versionID(), stages: try strings(), createdDate: try int(), sealed: try sealed())
        if layout >= 4 { version.lastAccessedDate = try optionalInt() }
        return version
    }

    mutating func move() throws(SecretStoreDecodingError) -> LabelMove {
        LabelMove(label: try string(), from: try optionalString(), to: try optionalString())
    }

    mutating func moves() throws(SecretStoreDecodingError) -> [LabelMove] {
        try array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.move() }
    }

    mutating func rotation() throws(SecretStoreDecodingError) -> Rotation {
        let enabled = try bool()
        let lambda = try optionalString()
        let rules = try optional { (reader: inout ByteReader) throws(SecretStoreDecodingError) in
            RotationRules(automaticallyAfterDays: try reader.optionalInt(),
                          scheduleExpression: try reader.optionalString(), duration: try reader.optionalString())
        }
        return Rotation(enabled: enabled, lambdaARN: lambda, rules: rules, nextRotationDate: try optionalInt(),
                        lastRotatedDate: try optionalInt())
    }

    mutating func secret() throws(SecretStoreDecodingError) -> Secret {
        var secret = Secret(
            arn: try string(), name: try string(), accountId: try string(), description: try optionalString(),
            kmsKeyId: try optionalString(), tags: try tags(), resourcePolicy: try optionalString(),
            createdDate: try int(), lastChangedDate: try int(), lastAccessedDate: try optionalInt(),
            deletedDate: try optionalInt(), rotation: try rotation(),
            versions: try array { (reader: inout ByteReader) throws(SecretStoreDecodingError) in try reader.version() })
        if layout >= 2 {
            secret.primaryRegion = try optionalString()
            secret.replicas = try replicas()
        }
        // Before layout 4 a secret had tags listed exactly when it had tags.
        secret.everTagged = layout >= 4 ? try bool() : !secret.tags.isEmpty
        return secret
    }
}
