import Cryptography
import JSON

/// The signature of a finished trail file, stored beside it as `audit-000001.jsonl.sig`:
///
///     {"version":1,"file":"audit-000001.jsonl","firstSequence":1,"lastSequence":42,
///      "recordCount":42,"sha256":"<hex>","lastRecordHash":"<hex>","hmac":"<hex>"}
///
/// (one line). `sha256` covers the file's bytes; `lastRecordHash` is the SHA-256 of its last
/// record's line, as the trail computed it when writing (so an edit made to the file before it
/// was sealed still shows). `hmac` is HMAC-SHA256 under the trail's signing key over
/// ``canonicalBytes``: the label `strongroom-audit-seal-v1` and a newline, then the same object
/// without `hmac`, compact, members in the order above. The verifier rebuilds those bytes from
/// the parsed fields, so the `.sig` file's own formatting does not matter.
struct AuditSeal: Equatable {
    static let version: UInt64 = 1
    static let label = Array("strongroom-audit-seal-v1\n".utf8)

    var file: String
    var firstSequence: UInt64
    var lastSequence: UInt64
    var recordCount: Int
    var sha256: [UInt8]
    var lastRecordHash: [UInt8]

    /// The object without `hmac`, members in canonical order.
    private var members: [(key: String, value: JSONValue)] {
        [
            (key: "version", value: .number(String(Self.version))),
            (key: "file", value: .string(file)),
            (key: "firstSequence", value: .number(String(firstSequence))),
            (key: "lastSequence", value: .number(String(lastSequence))),
            (key: "recordCount", value: .number(String(recordCount))),
            (key: "sha256", value: .string(Hex.encode(sha256))),
            (key: "lastRecordHash", value: .string(Hex.encode(lastRecordHash))),
        ]
    }

    /// What the HMAC covers.
    var canonicalBytes: [UInt8] { Self.label + Array(JSONValue.object(members).serialized().utf8) }

    /// HMAC-SHA256 of ``canonicalBytes`` under `key`.
    func authenticationCode(key: SecureBytes) -> [UInt8] {
        HMACSHA256.authenticate(canonicalBytes, key: key)
    }

    /// The `.sig` file's contents: the object with `hmac`, and a newline.
    func signedBytes(key: SecureBytes) -> [UInt8] {
        let object = JSONValue.object(members + [(key: "hmac", value: .string(Hex.encode(authenticationCode(key: key))))])
        return Array(object.serialized().utf8) + [0x0A]
    }

    /// Why a `.sig` file does not parse.
    struct ParseError: Error {
        var reason: String
    }

    /// Parses a `.sig` file into the seal and the HMAC it claims.
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> (seal: AuditSeal, hmac: [UInt8]) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ParseError(reason: "not JSON (\(error))")
        }
        guard document["version"]?.unsignedValue == version else { throw ParseError(reason: "unknown version") }
        guard let file = document["file"]?.stringValue,
              let first = document["firstSequence"]?.unsignedValue,
              let last = document["lastSequence"]?.unsignedValue,
              let count = document["recordCount"]?.unsignedValue, count <= UInt64(Int.max),
              let sha = document["sha256"]?.stringValue.flatMap(AuditFormat.hexDigest),
              let lastHash = document["lastRecordHash"]?.stringValue.flatMap(AuditFormat.hexDigest),
              let hmac = document["hmac"]?.stringValue.flatMap(AuditFormat.hexDigest)
        else { throw ParseError(reason: "a member is missing or malformed") }
        let seal = AuditSeal(file: file, firstSequence: first, lastSequence: last, recordCount: Int(count), sha256: sha, lastRecordHash: lastHash)
        return (seal, hmac)
    }

    /// Whether `hmac` is this seal's under `key` (constant-time comparison).
    func isAuthentic(hmac: [UInt8], key: SecureBytes) -> Bool {
        ConstantTime.equals(authenticationCode(key: key), hmac)
    }
}
