public import Cryptography
public import Foundation

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for services other than S3: canonical request,
/// string to sign, signing key and signature, shared by the verifier
/// (`SigV4+Verification.swift`) and by clients that sign (tests, a load generator).
///
/// Canonicalization follows the public SigV4 test suite (aws-sig-v4-test-suite): the URI path
/// is normalized (empty and `.` segments dropped, `..` resolved) and each segment is URI-encoded
/// as received, so an already percent-encoded path is encoded a second time, as AWS does for
/// every service except S3.
public enum SigV4 {
    /// The only algorithm this module speaks.
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The credential scope terminator.
    public static let terminator = "aws4_request"

    /// A credential scope: `YYYYMMDD/region/service/aws4_request`.
    public struct Scope: Sendable, Hashable, CustomStringConvertible {
        /// `YYYYMMDD`.
        public var date: String
        public var region: String
        public var service: String

        public init(date: String, region: String, service: String) {
            self.date = date
            self.region = region
            self.service = service
        }

        public var description: String { "\(date)/\(region)/\(service)/\(SigV4.terminator)" }
    }

    /// Every intermediate of one signature, so tests can compare each step with the test suite.
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        /// Lower-case hex HMAC of the string to sign.
        public var signature: String
        /// The complete `Authorization` header value.
        public var authorization: String
    }

    // MARK: Canonical request

    /// The canonical URI of a raw request path (non-S3 rules).
    public static func canonicalURI(_ rawPath: String) -> String {
        let path = rawPath.isEmpty ? "/" : rawPath
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        if segments.isEmpty { return "/" }
        var out = "/" + segments.map { uriEncode(String($0)) }.joined(separator: "/")
        if path.hasSuffix("/") { out += "/" }
        return out
    }

    /// The canonical query string of a raw query: parameters percent-decoded, re-encoded with
    /// the SigV4 unreserved set, and sorted by name then value. `excluding` drops parameters by
    /// their decoded name (the verifier drops `X-Amz-Signature` for query-string auth).
    public static func canonicalQueryString(_ rawQuery: String, excluding: Set<String> = []) -> String {
        var pairs: [(String, String)] = []
        for part in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let eq = part.firstIndex(of: "=") {
                name = part[..<eq]
                value = part[part.index(after: eq)...]
            } else {
                name = part
                value = ""
            }
            let decodedName = percentDecode(name)
            if excluding.contains(decodedName) { continue }
            pairs.append((uriEncode(decodedName), uriEncode(percentDecode(value))))
        }
        pairs.sort { lhs, rhs in
            lhs.0 == rhs.0 ? Array(lhs.1.utf8).lexicographicallyPrecedes(Array(rhs.1.utf8))
                : Array(lhs.0.utf8).lexicographicallyPrecedes(Array(rhs.0.utf8))
        }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The canonical headers block for `signedHeaders` (lower-case names): each header's values
    /// trimmed, inner runs of spaces collapsed, repeated headers joined with `,`; one
    /// `name:value\n` line per signed header.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)], signedHeaders: [String]) -> String {
        var out = ""
        for name in signedHeaders {
            let values = headers.filter { AWSRequest.sameName($0.name, name) }.map { normalizeHeaderValue($0.value) }
            out += name + ":" + values.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The canonical request of the SigV4 specification.
    public static func canonicalRequest(
        method: String,
        path: String,
        query: String,
        headers: [(name: String, value: String)],
        signedHeaders: [String],
        payloadHash: String,
        excludingQueryParameters: Set<String> = []
    ) -> String {
        [
            method,
            canonicalURI(path),
            canonicalQueryString(query, excluding: excludingQueryParameters),
            canonicalHeaders(headers, signedHeaders: signedHeaders),
            signedHeaders.joined(separator: ";"),
            payloadHash,
        ].joined(separator: "\n")
    }

    /// The string to sign: algorithm, request time, scope and the hash of the canonical request.
    public static func stringToSign(amzDate: String, scope: Scope, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope.description, Hex.encode(SHA256.hash(canonicalRequest))].joined(separator: "\n")
    }

    /// The signing key `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    public static func signingKey(secretAccessKey: SecureBytes, scope: Scope) -> SecureBytes {
        let seed = SecureBytes(Array("AWS4".utf8) + secretAccessKey.unsafeCopiedBytes)
        let kDate = SecureBytes(HMACSHA256.authenticate(Array(scope.date.utf8), key: seed))
        let kRegion = SecureBytes(HMACSHA256.authenticate(Array(scope.region.utf8), key: kDate))
        let kService = SecureBytes(HMACSHA256.authenticate(Array(scope.service.utf8), key: kRegion))
        return SecureBytes(HMACSHA256.authenticate(Array(terminator.utf8), key: kService))
    }

    /// Computes every step of the signature of `request` as it stands.
    ///
    /// - Parameters:
    ///   - amzDate: the request time in ISO 8601 basic format (the `X-Amz-Date` value).
    ///   - signedHeaders: lower-case header names, sorted.
    public static func signature(
        for request: AWSRequest,
        accessKeyId: String,
        secretAccessKey: SecureBytes,
        scope: Scope,
        amzDate: String,
        signedHeaders: [String]
    ) -> Signature {
        let creq = canonicalRequest(
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request.headers,
            signedHeaders: signedHeaders,
            payloadHash: Hex.encode(SHA256.hash(request.body))
        )
        let sts = stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: creq)
        let key = signingKey(secretAccessKey: secretAccessKey, scope: scope)
        let sig = Hex.encode(HMACSHA256.authenticate(Array(sts.utf8), key: key))
        let authorization = "\(algorithm) Credential=\(accessKeyId)/\(scope), SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(sig)"
        return Signature(canonicalRequest: creq, stringToSign: sts, signature: sig, authorization: authorization)
    }

    /// Signs `request` the way an SDK does: adds `X-Amz-Date` (from `now`) unless the request
    /// already has one, signs every header present (including `X-Amz-Security-Token` when
    /// `sessionToken` is given), and adds the `Authorization` header.
    public static func sign(
        _ request: AWSRequest,
        accessKeyId: String,
        secretAccessKey: SecureBytes,
        region: String,
        service: String,
        now: Date,
        sessionToken: String? = nil
    ) -> AWSRequest {
        var signed = request
        signed.headers.removeAll { $0.name.lowercased() == "authorization" }
        let amzDate: String
        if let existing = signed.header("X-Amz-Date") {
            amzDate = existing
        } else {
            amzDate = AWSTimestamp.basic(now)
            signed.headers.append((name: "X-Amz-Date", value: amzDate))
        }
        if let sessionToken, signed.header("X-Amz-Security-Token") == nil {
            signed.headers.append((name: "X-Amz-Security-Token", value: sessionToken))
        }
        let names = Set(signed.headers.map { $0.name.lowercased() }).sorted()
        let scope = Scope(date: String(amzDate.prefix(8)), region: region, service: service)
        let result = signature(
            for: signed, accessKeyId: accessKeyId, secretAccessKey: secretAccessKey,
            scope: scope, amzDate: amzDate, signedHeaders: names
        )
        signed.headers.append((name: "Authorization", value: result.authorization))
        return signed
    }

    // MARK: Encoding helpers

    /// URI-encodes per SigV4: every byte except `A-Z a-z 0-9 - . _ ~` becomes `%XX` (upper case).
    public static func uriEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            if isUnreserved(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Decodes `%XX` escapes; a malformed escape is kept literally. `+` stays `+`.
    static func percentDecode(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let decoded = Hex.decode(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self)) {
                out.append(decoded[0])
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Trims a header value and collapses every run of spaces to one.
    static func normalizeHeaderValue(_ value: String) -> String {
        // Spaces and tabs are ASCII, so the work is done on UTF-8 bytes (no grapheme breaking);
        // the common value (no tab, no run of spaces, nothing to trim) is returned as is.
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        let bytes = value.utf8
        var clean = bytes.first != space && bytes.last != space
        var previous: UInt8 = 0
        for byte in bytes where clean {
            if byte == tab || (byte == space && previous == space) { clean = false }
            previous = byte
        }
        if clean { return value }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var pendingSpace = false
        for byte in bytes {
            if byte == space || byte == tab {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(space) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
