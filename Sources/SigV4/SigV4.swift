public import AWSProtocol
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
        var out: [UInt8] = []
        appendCanonicalURI(rawPath, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendCanonicalURI(_ rawPath: String, to out: inout [UInt8]) {
        // The JSON protocols always post to `/`.
        if rawPath == "/" || rawPath.isEmpty {
            out.append(UInt8(ascii: "/"))
            return
        }
        var segments: [Substring] = []
        // On bytes, as `queryParameters` splits: a `/` before a combining mark still separates.
        for segment in rawPath.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Substring.init) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        if segments.isEmpty {
            out.append(UInt8(ascii: "/"))
            return
        }
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            appendURIEncoded(segment.utf8, to: &out)
        }
        if rawPath.utf8.last == UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
    }

    /// The canonical query string of a raw query: parameters percent-decoded, re-encoded with
    /// the SigV4 unreserved set, and sorted by name then value. `excluding` drops parameters by
    /// their decoded name (the verifier drops `X-Amz-Signature` for query-string auth).
    public static func canonicalQueryString(_ rawQuery: String, excluding: Set<String> = []) -> String {
        var out: [UInt8] = []
        appendCanonicalQueryString(rawQuery, excluding: excluding, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The raw query's parameters, split on the bytes `&` and `=` as AWS splits them: on
    /// `String`'s characters, an `&` or `=` followed by a combining mark is one grapheme with it
    /// and would not split (the SigV4 fuzzer found a query whose canonical form then depended
    /// on the order of its parameters). `value` is nil for a parameter without `=`; with
    /// `omittingEmpty`, empty parameters (`&&`) are left out.
    static func queryParameters(_ rawQuery: String, omittingEmpty: Bool = true) -> [(name: Substring, value: Substring?)] {
        rawQuery.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: omittingEmpty).map { part in
            guard let eq = part.firstIndex(of: UInt8(ascii: "=")) else { return (Substring(part), nil) }
            return (Substring(part[..<eq]), Substring(part[part.index(after: eq)...]))
        }
    }

    static func appendCanonicalQueryString(_ rawQuery: String, excluding: Set<String>, to out: inout [UInt8]) {
        if rawQuery.isEmpty { return }
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        for (name, value) in queryParameters(rawQuery) {
            let decodedName = percentDecode(name)
            if excluding.contains(decodedName) { continue }
            var encodedName: [UInt8] = []
            var encodedValue: [UInt8] = []
            appendURIEncoded(decodedName.utf8, to: &encodedName)
            appendURIEncoded(percentDecode(value ?? "").utf8, to: &encodedValue)
            pairs.append((encodedName, encodedValue))
        }
        pairs.sort { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.lexicographicallyPrecedes(rhs.value) : lhs.name.lexicographicallyPrecedes(rhs.name)
        }
        for (i, pair) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: pair.name)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: pair.value)
        }
    }

    /// The canonical headers block for `signedHeaders` (lower-case names): each header's values
    /// trimmed, inner runs of spaces collapsed, repeated headers joined with `,`; one
    /// `name:value\n` line per signed header.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)], signedHeaders: [String]) -> String {
        var out: [UInt8] = []
        appendCanonicalHeaders(headers, signedHeaders: signedHeaders, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendCanonicalHeaders(_ headers: [(name: String, value: String)], signedHeaders: [String], to out: inout [UInt8]) {
        for name in signedHeaders {
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: ":"))
            var first = true
            for header in headers where AWSRequest.sameName(header.name, name) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendNormalizedHeaderValue(header.value, to: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }
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
        String(decoding: canonicalRequestBytes(method: method, path: path, query: query, headers: headers,
                                               signedHeaders: signedHeaders, payloadHash: payloadHash,
                                               excludingQueryParameters: excludingQueryParameters),
               as: UTF8.self)
    }

    /// The canonical request as the UTF-8 bytes that are hashed.
    static func canonicalRequestBytes(
        method: String,
        path: String,
        query: String,
        headers: [(name: String, value: String)],
        signedHeaders: [String],
        payloadHash: String,
        excludingQueryParameters: Set<String> = []
    ) -> [UInt8] {
        let newline = UInt8(ascii: "\n")
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(contentsOf: method.utf8)
        out.append(newline)
        appendCanonicalURI(path, to: &out)
        out.append(newline)
        appendCanonicalQueryString(query, excluding: excludingQueryParameters, to: &out)
        out.append(newline)
        appendCanonicalHeaders(headers, signedHeaders: signedHeaders, to: &out)
        out.append(newline)
        for (i, name) in signedHeaders.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ";")) }
            out.append(contentsOf: name.utf8)
        }
        out.append(newline)
        out.append(contentsOf: payloadHash.utf8)
        return out
    }

    /// The string to sign: algorithm, request time, scope and the hash of the canonical request.
    public static func stringToSign(amzDate: String, scope: Scope, canonicalRequest: String) -> String {
        String(decoding: stringToSignBytes(amzDate: amzDate, scope: scope, canonicalRequest: Array(canonicalRequest.utf8)),
               as: UTF8.self)
    }

    static func stringToSignBytes(amzDate: String, scope: Scope, canonicalRequest: [UInt8]) -> [UInt8] {
        let newline = UInt8(ascii: "\n")
        var out: [UInt8] = []
        out.reserveCapacity(160)
        out.append(contentsOf: algorithm.utf8)
        out.append(newline)
        out.append(contentsOf: amzDate.utf8)
        out.append(newline)
        out.append(contentsOf: scope.date.utf8)
        out.append(UInt8(ascii: "/"))
        out.append(contentsOf: scope.region.utf8)
        out.append(UInt8(ascii: "/"))
        out.append(contentsOf: scope.service.utf8)
        out.append(UInt8(ascii: "/"))
        out.append(contentsOf: terminator.utf8)
        out.append(newline)
        Hex.append(SHA256.hash(canonicalRequest), to: &out)
        return out
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
        var out: [UInt8] = []
        appendURIEncoded(text.utf8, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    static func appendURIEncoded(_ bytes: some Collection<UInt8>, to out: inout [UInt8]) {
        for b in bytes {
            if isUnreserved(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(upperHexDigits[Int(b >> 4)])
                out.append(upperHexDigits[Int(b & 0xF)])
            }
        }
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
        var out: [UInt8] = []
        appendNormalizedHeaderValue(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value` trimmed, with every run of spaces and tabs collapsed to one space.
    /// Spaces and tabs are ASCII, so the work is done on UTF-8 bytes (no grapheme breaking).
    static func appendNormalizedHeaderValue(_ value: String, to out: inout [UInt8]) {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var pendingSpace = false
        var wroteAny = false
        for byte in value.utf8 {
            if byte == space || byte == tab {
                pendingSpace = wroteAny
            } else {
                if pendingSpace { out.append(space) }
                pendingSpace = false
                wroteAny = true
                out.append(byte)
            }
        }
    }
}
