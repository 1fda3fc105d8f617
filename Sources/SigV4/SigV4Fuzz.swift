public import AWSProtocol
import Cryptography
public import Foundation

/// The fuzz entry point of SigV4: the `Authorization` header and query-string parsing of
/// ``SigV4/Verifier``, ``SigV4/credentialRegion(of:)`` and the canonical request, for the
/// libFuzzer driver in `FuzzTesting/` and for replaying its corpus in the unit tests.
///
/// The input is one request, in a line format a fuzzer mutates easily:
///
///     METHOD \n PATH \n QUERY \n Name: value \n … \n \n BODY
///
/// (headers up to the first empty line after the query; a line without `:` is a header with
/// an empty value). Checks, trapping on a violation:
/// - verifying the request as given never succeeds for anyone but the known key, and then only
///   for its own scope; ``SigV4/credentialRegion(of:)`` fails exactly as `verify` does on the
///   same malformed request (the front proxy routes on one, the node answers with the other);
/// - the canonical URI is `/`-rooted, percent-encoded with upper-case digits, and has no empty,
///   `.` or `..` segment; the canonical query string is sorted `name=value` pairs, is its own
///   canonical form, and does not depend on the order of the parameters;
/// - the same request, made into what an SDK would send (a `Host`, no stale authentication
///   headers) and signed by ``SigV4/sign(_:accessKeyId:secretAccessKey:region:service:now:sessionToken:)``,
///   verifies; with one more body byte, or under another key, it does not.
public enum SigV4Fuzz {
    /// Inputs longer than this are cut: a request line, a few headers and a small body.
    public static let maxInputBytes = 4096
    /// At most this many header lines are read.
    public static let maxHeaders = 16

    static let accessKeyId = "AKIDEXAMPLE"
    static let secret = SecureBytes(Array("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".utf8))
    static let otherSecret = SecureBytes(Array("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ".utf8))
    static let region = "us-east-1"
    static let service = "secretsmanager"
    /// 2015-08-30T12:36:00Z, the SigV4 test suite's time, so that its requests make good seeds.
    public static let now = Date(timeIntervalSince1970: 1_440_938_160)
    static let verifier = SigV4.Verifier(region: region, service: service)

    /// Decodes `data` as a request and checks the properties above.
    public static func run(_ data: [UInt8]) {
        let request = request(from: Array(data.prefix(maxInputBytes)))
        checkAsGiven(request)
        checkCanonicalURI(request.path)
        checkCanonicalQuery(request.query)
        checkSignedRoundTrip(request)
    }

    /// The request `data` encodes (see the type's documentation).
    public static func request(from data: [UInt8]) -> AWSRequest {
        var fields: [ArraySlice<UInt8>] = []
        var rest = data[...]
        var body: [UInt8] = []
        while let newline = rest.firstIndex(of: 0x0A) {
            let line = rest[..<newline]
            rest = rest[(newline + 1)...]
            // Method, path and query may be empty; after them an empty line ends the headers.
            if fields.count >= 3 && line.isEmpty {
                body = Array(rest)
                rest = []
                break
            }
            fields.append(line)
        }
        if !rest.isEmpty { fields.append(rest) }
        func text(_ index: Int) -> String {
            index < fields.count ? String(decoding: fields[index], as: UTF8.self) : ""
        }
        var headers: [(name: String, value: String)] = []
        for line in fields.dropFirst(3).prefix(maxHeaders) {
            if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let value = line[(colon + 1)...].drop { $0 == UInt8(ascii: " ") }
                headers.append((name: String(decoding: line[..<colon], as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            } else {
                headers.append((name: String(decoding: line, as: UTF8.self), value: ""))
            }
        }
        return AWSRequest(method: text(0), path: text(1), query: text(2), headers: headers, body: body)
    }

    /// The key lookup of the fuzz verifier: one long-term key, whatever token comes with it.
    static func lookup(_ key: SecureBytes) -> (String, String?) -> SecureBytes? {
        { id, _ in id == accessKeyId ? key : nil }
    }

    static func verify(_ request: AWSRequest, key: SecureBytes = secret, at time: Date = now) -> Result<SigV4.Verified, AWSError> {
        do throws(AWSError) {
            return .success(try verifier.verify(request, now: time, secretAccessKey: lookup(key)))
        } catch {
            return .failure(error)
        }
    }

    /// The request exactly as the fuzzer wrote it, signature and all.
    static func checkAsGiven(_ request: AWSRequest) {
        let verified = verify(request)
        let routed: Result<String, AWSError>
        do throws(AWSError) {
            routed = .success(try SigV4.credentialRegion(of: request))
        } catch {
            routed = .failure(error)
        }
        switch (routed, verified) {
        case (.failure(let routing), .failure(let verifying)):
            precondition(routing == verifying, "credentialRegion and verify refuse differently: \(routing) vs \(verifying)")
        case (.failure(let routing), .success):
            preconditionFailure("verify accepted a request whose credential credentialRegion refused: \(routing)")
        case (.success(let routedRegion), .success(let result)):
            precondition(result.accessKeyId == accessKeyId, "verified an unknown access key")
            precondition(routedRegion == region && result.scope.region == region && result.scope.service == service,
                         "verified a request scoped to another region or service")
        case (.success, .failure(let error)):
            precondition(error.message.map { !$0.isEmpty } ?? false, "a refused signature must say why")
        }
    }

    static func checkCanonicalURI(_ path: String) {
        let uri = Array(SigV4.canonicalURI(path).utf8)
        precondition(uri.first == UInt8(ascii: "/"), "canonical URI does not start with /")
        checkPercentEncoded(uri, allowing: [UInt8(ascii: "/")])
        if uri.count > 1 {
            let segments = uri.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            // Only a trailing slash may leave an empty last segment.
            for (index, segment) in segments.enumerated() {
                precondition(!segment.isEmpty || index == segments.count - 1, "canonical URI has an empty segment")
                precondition(!segment.elementsEqual(".".utf8) && !segment.elementsEqual("..".utf8), "canonical URI keeps a dot segment")
            }
        }
    }

    static func checkCanonicalQuery(_ query: String) {
        let canonical = SigV4.canonicalQueryString(query)
        precondition(SigV4.canonicalQueryString(canonical) == canonical, "the canonical query string is not its own canonical form")
        let reversed = query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false).reversed()
            .map { String(Substring($0)) }.joined(separator: "&")
        precondition(SigV4.canonicalQueryString(reversed) == canonical, "the canonical query string depends on parameter order")
        guard !canonical.isEmpty else { return }
        let pairs = Array(canonical.utf8).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false)
        for pair in pairs {
            precondition(pair.count { $0 == UInt8(ascii: "=") } == 1, "a canonical query pair without exactly one =")
            checkPercentEncoded(Array(pair), allowing: [UInt8(ascii: "=")])
        }
        let keys = pairs.map { pair in pair.split(separator: UInt8(ascii: "="), omittingEmptySubsequences: false).map(Array.init) }
        for (a, b) in zip(keys, keys.dropFirst()) {
            precondition(!b.lexicographicallyPrecedes(a) { $0.lexicographicallyPrecedes($1) }, "canonical query pairs out of order")
        }
    }

    /// Every byte is unreserved, one of `allowing`, or starts a `%XX` escape in upper case.
    static func checkPercentEncoded(_ bytes: [UInt8], allowing: Set<UInt8>) {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let upperHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) }
                precondition(index + 2 < bytes.count && upperHex(bytes[index + 1]) && upperHex(bytes[index + 2]), "malformed percent escape")
                index += 3
                continue
            }
            let unreserved = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || [UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~")].contains(byte)
            precondition(unreserved || allowing.contains(byte), "byte \(byte) left unencoded")
            index += 1
        }
    }

    // MARK: Signed round trip

    /// Headers a signer sets itself: a request carrying stale ones is not what an SDK sends.
    static let signerHeaders: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]
    /// Headers the verifier accepts at most once.
    static let singleHeaders: Set<String> = ["x-amz-target"]

    /// `request` as an SDK would send it: header names that are HTTP tokens (the HTTP layer
    /// admits no others), a `Host`, one of each single header, no authentication headers or
    /// query parameters of its own (`X-Amz-Algorithm` selects query authentication).
    static func sendable(_ request: AWSRequest) -> AWSRequest {
        var clean = request
        var seen = Set<String>()
        clean.headers = request.headers.filter { header in
            let name = SigV4.Verifier.lowercasedASCII(header.name)
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte), !signerHeaders.contains(name) else { return false }
            defer { seen.insert(name) }
            return !(singleHeaders.contains(name) && seen.contains(name))
        }
        if !clean.headers.contains(where: { SigV4.Verifier.lowercasedASCII($0.name) == "host" }) {
            clean.headers.append((name: "Host", value: "secretsmanager.us-east-1.amazonaws.com"))
        }
        clean.query = SigV4.queryParameters(request.query, omittingEmpty: false)
            .filter { SigV4.percentDecode($0.name) != "X-Amz-Algorithm" }
            .map { parameter in parameter.value.map { "\(parameter.name)=\($0)" } ?? String(parameter.name) }.joined(separator: "&")
        return clean
    }

    static func checkSignedRoundTrip(_ request: AWSRequest) {
        let signed = SigV4.sign(sendable(request), accessKeyId: accessKeyId, secretAccessKey: secret,
                                region: region, service: service, now: now)
        switch verify(signed) {
        case .success(let result):
            precondition(result.accessKeyId == accessKeyId && result.scope.region == region, "verified as someone else")
        case .failure(let error):
            preconditionFailure("a request signed by SigV4.sign does not verify: \(error)")
        }
        var tampered = signed
        tampered.body.append(0x20)
        guard case .failure(let error) = verify(tampered), error.code == .invalidSignature else {
            preconditionFailure("a signed request verified with a byte added to its body")
        }
        guard case .failure = verify(signed, key: otherSecret) else {
            preconditionFailure("a signed request verified under another key")
        }
        guard case .failure = verify(signed, at: now.addingTimeInterval(verifier.allowedSkew + 1)) else {
            preconditionFailure("a signed request verified after its time had passed")
        }
    }

    /// RFC 9110 `tchar`: the bytes a header name may hold.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}
