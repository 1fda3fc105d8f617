import Cryptography
import JSON

/// The trail's on-disk format: file names, record lines and their `chain` member.
///
/// A trail is a directory of JSON-lines files `audit-000001.jsonl`, `audit-000002.jsonl`, …
/// Each line is one record: the caller's CloudTrail-shaped event object with one member appended,
///
///     "chain":{"sequence":N,"previousHash":"<64 hex digits>"}
///
/// where `sequence` counts records from 1 across all files without a gap, and `previousHash` is
/// the SHA-256 of the previous record's line bytes (without its newline; 64 zeros for sequence 1).
/// A sealed file has a `.sig` beside it (see ``AuditSeal``); bytes cut from a torn tail on
/// recovery are kept in `.torn` files.
enum AuditFormat {
    static let filePrefix = "audit-"
    static let fileSuffix = ".jsonl"
    static let signatureSuffix = ".sig"
    static let tornSuffix = ".torn"
    /// The member the trail appends to every event.
    static let chainKey = "chain"
    /// A record line (without its newline) is at most this long; larger events are cut down by
    /// ``line(event:chain:)``.
    static let maximumRecordBytes = 64 * 1024
    /// `previousHash` of the first record ever.
    static let zeroHash = [UInt8](repeating: 0, count: SHA256.byteCount)
    /// Files larger than this are not read whole by the verifier and the query (a trail's files
    /// are at most `maxFileBytes` plus a few records).
    static let maximumReadableFileBytes = 1 << 30

    /// `audit-000042.jsonl` for 42.
    static func fileName(_ number: Int) -> String {
        precondition(number >= 1, "file numbers start at 1")
        let digits = String(number)
        return filePrefix + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + fileSuffix
    }

    /// The number of a trail file name (`audit-` + at least six digits + `.jsonl`), else nil.
    static func fileNumber(_ name: String) -> Int? {
        guard name.hasPrefix(filePrefix), name.hasSuffix(fileSuffix) else { return nil }
        let digits = name.dropFirst(filePrefix.count).dropLast(fileSuffix.count)
        guard digits.count >= 6, digits.count <= 12, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let number = Int(digits), number >= 1 else { return nil }
        return number
    }

    /// The SHA-256 of a record's line bytes (without the newline).
    static func hash(_ line: some Collection<UInt8>) -> [UInt8] { SHA256.hash(line) }

    /// A record's position in the chain.
    struct Chain: Equatable {
        var sequence: UInt64
        var previousHash: [UInt8]
    }

    /// The `chain` member of a parsed record, or nil when it is missing or malformed.
    static func chain(of record: JSONValue) -> Chain? {
        guard let member = record[chainKey], let sequence = member["sequence"]?.unsignedValue, sequence >= 1,
              let text = member["previousHash"]?.stringValue, let previous = hexDigest(text) else { return nil }
        return Chain(sequence: sequence, previousHash: previous)
    }

    /// 64 lower-case hex digits as 32 bytes, else nil.
    static func hexDigest(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 64, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            return nil
        }
        return Hex.decode(text)
    }

    /// Members of events whose values can be large; replaced by `{"truncated":true}` first.
    static let bulkyMembers: Set<String> = ["requestParameters", "responseElements"]
    /// The CloudTrail members kept, with strings clipped, when replacing the bulky ones is not
    /// enough to fit ``maximumRecordBytes``.
    static let essentialMembers: Set<String> = [
        "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
        "userIdentity", "requestParameters", "responseElements", "errorCode", "errorMessage", "requestID",
        "eventID", "readOnly", "recipientAccountId", "eventType", "managementEvent", "eventCategory",
    ]
    static let essentialIdentityMembers: Set<String> = [
        "type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy",
    ]
    /// Strings are clipped to this many UTF-8 bytes in the last resort.
    static let clippedStringBytes = 256

    /// The line for `event` at `chain`: the event's members in order, then `chain`, compact.
    ///
    /// A line longer than ``maximumRecordBytes`` is cut down, in two steps: `requestParameters` and
    /// `responseElements` become `{"truncated":true}`; if that is not enough, only the CloudTrail
    /// members are kept, `userIdentity` reduced to its identifying members and every string
    /// clipped to 256 bytes with a "...[truncated]" mark. The result always fits: a record is
    /// written for every request, however large its parameters. The first step is also taken
    /// when the full line does not parse back (parameters nested deeper than the JSON parser's
    /// limit of 64), so that `verify` and `query` can read every record.
    ///
    /// - Throws: `.invalidEvent` when `event` is not an object, already has a `chain` member, or
    ///   does not serialize to one valid JSON line (a `.number` with text that is not a number).
    static func line(event: JSONValue, chain: Chain) throws(AuditError) -> [UInt8] {
        line(try prepare(event: event), chain: chain)
    }

    /// An event serialized up to (without) its closing brace, already checked and cut down as
    /// ``line(event:chain:)`` describes, so that only the `chain` member is added under the
    /// trail's lock (serializing was most of the time the lock was held).
    struct PreparedEvent {
        var head: [UInt8]
        var hasMembers: Bool
    }

    /// The longest `chain` member there can be (a 20-digit sequence, with its comma): events are
    /// sized against it, so a prepared event fits whatever its sequence turns out to be.
    static let maximumChainMemberBytes = chainMember(Chain(sequence: .max, previousHash: zeroHash), comma: true).count

    /// `,"chain":{"sequence":N,"previousHash":"…"}`: what the JSON writer makes of the object
    /// `{"sequence": N, "previousHash": "<hex>"}` as an object's last member (compact).
    static func chainMember(_ chain: Chain, comma: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(120)
        if comma { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: #""chain":{"sequence":"#.utf8)
        out.append(contentsOf: String(chain.sequence).utf8)
        out.append(contentsOf: #","previousHash":""#.utf8)
        Hex.append(chain.previousHash, to: &out)
        out.append(contentsOf: #""}"#.utf8)
        return out
    }

    /// The record line of a prepared event at `chain`.
    static func line(_ prepared: PreparedEvent, chain: Chain) -> [UInt8] {
        var out = prepared.head
        out.append(contentsOf: chainMember(chain, comma: prepared.hasMembers))
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Serializes `event` for ``line(_:chain:)``: see ``line(event:chain:)``.
    static func prepare(event: JSONValue) throws(AuditError) -> PreparedEvent {
        guard case .object(let members) = event else {
            throw AuditError(.invalidEvent, "an audit event must be a JSON object")
        }
        guard !members.contains(where: { $0.key == chainKey }) else {
            throw AuditError(.invalidEvent, "an audit event must not have a '\(chainKey)' member: the trail adds it")
        }
        // A line is written only if it reads back: one line (the writer escapes control
        // characters, so only a malformed number text could break it) and well-formed JSON.
        // The chain member is well-formed and fixed in shape: only its room is counted here.
        func serialized(_ members: [(key: String, value: JSONValue)]) -> (bytes: PreparedEvent, count: Int, readable: Bool) {
            let value = JSONValue.object(members)
            var bytes = value.serializedBytes()
            let readable = value.isWellFormed && !bytes.contains(0x0A) && !bytes.contains(0x0D)
            bytes.removeLast()  // the closing brace
            return (PreparedEvent(head: bytes, hasMembers: !members.isEmpty), bytes.count + maximumChainMemberBytes + 1, readable)
        }
        let (full, fullCount, fullReadable) = serialized(members)
        if fullCount <= maximumRecordBytes && fullReadable { return full }
        // Too large, or not valid JSON (parameters nested deeper than the parser's limit): the
        // bulky members go first.
        let marker = JSONValue.object([(key: "truncated", value: .bool(true))])
        let lighter = members.map { bulkyMembers.contains($0.key) ? (key: $0.key, value: marker) : $0 }
        let (reduced, reducedCount, reducedReadable) = serialized(lighter)
        if reducedCount <= maximumRecordBytes {
            if reducedReadable { return reduced }
            throw AuditError(.invalidEvent, "the audit event does not serialize to one valid JSON line (a malformed number?)")
        }
        let essential = lighter.compactMap { member -> (key: String, value: JSONValue)? in
            guard essentialMembers.contains(member.key) else { return nil }
            if bulkyMembers.contains(member.key) { return member }
            if member.key == "userIdentity", case .object(let identity) = member.value {
                let kept = identity.compactMap { inner -> (key: String, value: JSONValue)? in
                    guard essentialIdentityMembers.contains(inner.key), let value = clipped(inner.value) else { return nil }
                    return (key: inner.key, value: value)
                }
                return (key: member.key, value: .object(kept))
            }
            return clipped(member.value).map { (key: member.key, value: $0) }
        }
        let (minimal, minimalCount, minimalReadable) = serialized(essential)
        // At most 19 members with values of at most 6 × 256 + 14 bytes (escaping) each, and an
        // identity of 7 such: well under 64 KiB.
        precondition(minimalCount <= maximumRecordBytes, "a reduced audit record is \(minimalCount) bytes")
        guard minimalReadable else {
            throw AuditError(.invalidEvent, "the audit event does not serialize to one valid JSON line (a malformed number?)")
        }
        return minimal
    }

    /// Our serializer escapes control characters inside strings, but writes a `.number`'s text
    /// as given: a line is checked to be one valid JSON document with no line break in it.
    /// A scalar with strings clipped to ``clippedStringBytes``; nil for arrays, objects and
    /// overlong number texts, which the last resort drops.
    private static func clipped(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null, .bool: return value
        case .number(let text): return text.utf8.count <= 32 ? value : nil
        case .string(let text):
            guard text.utf8.count > clippedStringBytes else { return value }
            var kept = String.UnicodeScalarView()
            var bytes = 0
            for scalar in text.unicodeScalars {
                bytes += String(scalar).utf8.count
                if bytes > clippedStringBytes { break }
                kept.append(scalar)
            }
            return .string(String(kept) + "...[truncated]")
        case .array, .object: return nil
        }
    }
}

extension JSONValue {
    /// The value of a number that is a plain unsigned decimal integer (no sign, fraction or
    /// exponent) fitting in 64 bits, else nil.
    var unsignedValue: UInt64? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(text)
    }
}
