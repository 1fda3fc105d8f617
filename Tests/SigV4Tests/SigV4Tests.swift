import AWSTestSupport
import Cryptography
import Foundation
import Testing
import AWSProtocol
@testable import SigV4

@Suite struct SigV4TestSuiteTests {
    static let secret = SecureBytes(Array(SigV4TestSuite.secretAccessKey.utf8))
    static let scope = SigV4.Scope(date: "20150830", region: SigV4TestSuite.region, service: SigV4TestSuite.service)

    @Test func hasEnoughVectors() {
        #expect(SigV4TestSuite.vectors.count >= 12)
    }

    @Test(arguments: SigV4TestSuite.vectors)
    func canonicalRequestStringToSignAndAuthorization(_ vector: SigV4TestVector) {
        let request = parseTestSuiteRequest(vector.req)
        let signedHeaders = Set(request.headers.map { $0.name.lowercased() }).sorted()
        let result = SigV4.signature(
            for: request, accessKeyId: SigV4TestSuite.accessKeyId, secretAccessKey: Self.secret,
            scope: Self.scope, amzDate: SigV4TestSuite.amzDate, signedHeaders: signedHeaders
        )
        #expect(result.canonicalRequest == vector.creq)
        #expect(result.stringToSign == vector.sts)
        #expect(result.authorization == vector.authz)
    }

    @Test(arguments: SigV4TestSuite.vectors)
    func signAddsTheSuiteAuthorization(_ vector: SigV4TestVector) {
        let signed = SigV4.sign(
            parseTestSuiteRequest(vector.req), accessKeyId: SigV4TestSuite.accessKeyId, secretAccessKey: Self.secret,
            region: SigV4TestSuite.region, service: SigV4TestSuite.service, now: Fixture.now
        )
        #expect(signed.header("Authorization") == vector.authz)
        #expect(signed.headerValues("X-Amz-Date") == [SigV4TestSuite.amzDate])
    }

    /// The verifier accepts every vector's signed request; the session-token vector's token is
    /// handed to the key lookup with its access key id.
    @Test(arguments: SigV4TestSuite.vectors)
    func verifierAcceptsTheSuiteRequests(_ vector: SigV4TestVector) throws {
        var request = parseTestSuiteRequest(vector.req)
        request.headers.append((name: "Authorization", value: vector.authz))
        let verifier = SigV4.Verifier(region: SigV4TestSuite.region, service: SigV4TestSuite.service)
        let token = request.header("X-Amz-Security-Token")
        let lookup: (String, String?) -> SecureBytes? = { id, sent in
            id == SigV4TestSuite.accessKeyId && sent == token ? Self.secret : nil
        }
        let verified = try verifier.verify(request, now: Fixture.now, secretAccessKey: lookup)
        #expect(verified.accessKeyId == SigV4TestSuite.accessKeyId)
        #expect(verified.scope == Self.scope)
        #expect(verified.sessionToken == token)
    }

    @Test func signingKeyMatchesTheDocumentedExample() {
        // AWS's documented derivation example (IAM user guide, "Derive a signing key"):
        // secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
        let key = SigV4.signingKey(
            secretAccessKey: Self.secret, scope: SigV4.Scope(date: "20120215", region: "us-east-1", service: "iam")
        )
        #expect(Hex.encode(key.unsafeCopiedBytes) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test(arguments: [
        ("", "/"), ("/", "/"), ("//", "/"), ("/a/./b/../c", "/a/c"), ("/a b", "/a%20b"),
        ("/%2F", "/%252F"), ("/a//b/", "/a/b/"), ("/..", "/"),
    ])
    func canonicalURI(_ raw: String, _ expected: String) {
        #expect(SigV4.canonicalURI(raw) == expected)
    }

    @Test(arguments: [
        ("b=2&a=1", "a=1&b=2"), ("a", "a="), ("a=%20b", "a=%20b"), ("a=+", "a=%2B"), ("a=%7e", "a=~"),
        ("&&a=1&", "a=1"), ("a=b=c", "a=b%3Dc"), ("a=%zz", "a=%25zz"),
    ])
    func canonicalQuery(_ raw: String, _ expected: String) {
        #expect(SigV4.canonicalQueryString(raw) == expected)
    }
}

@Suite struct SigV4VerifierTests {
    static let verifier = SigV4.Verifier(region: Fixture.region, service: "secretsmanager")
    static let secret = SecureBytes(Array(Fixture.secretAccessKey.utf8))

    func verify(_ request: AWSRequest, now: Date = Fixture.now) throws(AWSError) -> SigV4.Verified {
        try Self.verifier.verify(request, now: now) { id, token in id == Fixture.accessKeyId && token == nil ? Self.secret : nil }
    }

    func expectError(_ request: AWSRequest, now: Date = Fixture.now, _ code: AWSError.Code, _ message: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: AWSError(code, message), sourceLocation: sourceLocation) { try self.verify(request, now: now) }
    }

    /// A request with `Authorization` replaced by `value`.
    func withAuthorization(_ value: String?, _ request: AWSRequest = Fixture.signed("ListSecrets")) -> AWSRequest {
        var r = request
        r.headers.removeAll { $0.name == "Authorization" }
        if let value { r.headers.append((name: "Authorization", value: value)) }
        return r
    }

    /// Signs the fixture call with a hand-picked list of signed headers and scope.
    func signedWith(signedHeaders: [String], scopeDate: String = "20150830", headers extra: [(name: String, value: String)] = [],
                    dropAmzDate: Bool = false) -> AWSRequest {
        var request = Fixture.call("ListSecrets", extraHeaders: extra)
        if !dropAmzDate { request.headers.append((name: "X-Amz-Date", value: "20150830T123600Z")) }
        let scope = SigV4.Scope(date: scopeDate, region: Fixture.region, service: "secretsmanager")
        let sig = SigV4.signature(for: request, accessKeyId: Fixture.accessKeyId, secretAccessKey: Self.secret,
                                  scope: scope, amzDate: "20150830T123600Z", signedHeaders: signedHeaders)
        request.headers.append((name: "Authorization", value: sig.authorization))
        return request
    }

    @Test func acceptsAValidSignature() throws {
        let verified = try verify(Fixture.signed("ListSecrets"))
        #expect(verified.accessKeyId == Fixture.accessKeyId)
    }

    @Test func missingAuthorization() {
        expectError(withAuthorization(nil), .missingAuthenticationToken, "Missing Authentication Token")
    }

    @Test(arguments: ["Basic dXNlcjpwYXNz", "AWS4", "AWS AKIAIOSFODNN7EXAMPLE:abc", ""])
    func nonSigV4AuthorizationIsNoToken(_ header: String) {
        expectError(withAuthorization(header), .missingAuthenticationToken, "Missing Authentication Token")
    }

    @Test func incompleteHeaderListsEveryMissingPart() {
        var request = withAuthorization("AWS4-")
        request.headers.removeAll { $0.name == "X-Amz-Date" }
        expectError(request, .incompleteSignature,
                    "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-")
    }

    @Test func incompleteHeaderMissingSignedHeaders() {
        expectError(withAuthorization("AWS4- Signature=b, Credential=a"), .incompleteSignature,
                    "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b, Credential=a")
    }

    @Test func tokenWithoutEqualSign() {
        let header = "AWS4-HMAC-SHA256 Credential= AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=abc"
        expectError(withAuthorization(header), .incompleteSignature,
                    "'AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/secretsmanager/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: '\(header)'.")
    }

    @Test func unsupportedAlgorithm() {
        let header = "AWS4-HMAC-SHA512 Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
        expectError(withAuthorization(header), .incompleteSignature, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'")
    }

    @Test func credentialWithoutFiveParts() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1, SignedHeaders=host;x-amz-date, Signature=abc"
        expectError(withAuthorization(header), .incompleteSignature,
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIAIOSFODNN7EXAMPLE/20150830/us-east-1'")
    }

    @Test func malformedAmzDate() {
        var request = Fixture.signed("ListSecrets")
        request.headers = request.headers.map { $0.name == "X-Amz-Date" ? (name: $0.name, value: "2015-08-30T12:36:00Z") : $0 }
        expectError(request, .incompleteSignature,
                    "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601")
    }

    @Test func unknownAccessKey() {
        expectError(Fixture.signed("ListSecrets", accessKeyId: "AKIAUNKNOWNKEY000000"), .unrecognizedClient,
                    "The security token included in the request is invalid.")
    }

    @Test func unknownSessionTokenIsRefused() {
        let request = SigV4.sign(Fixture.call("ListSecrets"), accessKeyId: Fixture.accessKeyId, secretAccessKey: Self.secret,
                                 region: Fixture.region, service: "secretsmanager", now: Fixture.now, sessionToken: "FQoGZXIvYXdzEXAMPLE")
        expectError(request, .unrecognizedClient, "The security token included in the request is invalid.")
    }

    @Test func wrongSecretOrTamperedBody() {
        let mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        expectError(Fixture.signed("ListSecrets", secret: "not-the-secret"), .invalidSignature, mismatch)
        var tampered = Fixture.signed("ListSecrets", body: "{}")
        tampered.body = Array(#"{"MaxResults": 1}"#.utf8)
        expectError(tampered, .invalidSignature, mismatch)
        var retargeted = Fixture.signed("ListSecrets")
        retargeted.headers = retargeted.headers.map { $0.name == "X-Amz-Target" ? (name: $0.name, value: "secretsmanager.DeleteSecret") : $0 }
        expectError(retargeted, .invalidSignature, mismatch)
    }

    @Test func signatureExpired() {
        expectError(Fixture.signed("ListSecrets"), now: AWSTimestamp.parseBasic("20150830T130100Z")!, .invalidSignature,
                    "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z (20150830T130100Z - 15 min.)")
    }

    @Test func signatureNotYetCurrent() {
        expectError(Fixture.signed("ListSecrets"), now: AWSTimestamp.parseBasic("20150830T122000Z")!, .invalidSignature,
                    "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T122000Z + 15 min.)")
    }

    @Test(arguments: ["20150830T122100Z", "20150830T125100Z"])
    func exactlyFifteenMinutesOfSkewIsAccepted(_ now: String) throws {
        _ = try verify(Fixture.signed("ListSecrets"), now: AWSTimestamp.parseBasic(now)!)
    }

    @Test func wrongRegion() {
        expectError(Fixture.signed("ListSecrets", region: "eu-west-1"), .invalidSignature, "Credential should be scoped to a valid region. ")
    }

    @Test func wrongService() {
        expectError(Fixture.signed("ListSecrets", service: "ssm"), .invalidSignature,
                    "Credential should be scoped to correct service: 'secretsmanager'. ")
    }

    @Test func wrongRegionAndServiceTogether() {
        expectError(Fixture.signed("ListSecrets", region: "eu-west-1", service: "ssm"), .invalidSignature,
                    "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'secretsmanager'. ")
    }

    @Test func scopeDateMustMatchRequestDay() {
        expectError(signedWith(signedHeaders: ["host", "x-amz-date"], scopeDate: "20150831"), .invalidSignature,
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'. ")
    }

    @Test func hostMustBeSigned() {
        expectError(signedWith(signedHeaders: ["x-amz-date"]), .invalidSignature,
                    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    }

    @Test func amzDateMustBeSigned() {
        expectError(signedWith(signedHeaders: ["content-type", "host"]), .invalidSignature,
                    "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
    }

    @Test func dateHeaderCanCarryTheTime() throws {
        let request = signedWith(signedHeaders: ["date", "host", "x-amz-target"], headers: [(name: "Date", value: "Sun, 30 Aug 2015 12:36:00 GMT")], dropAmzDate: true)
        _ = try verify(request)
    }

    // MARK: Hostile requests: what a captured signature must not be stretched to cover

    /// A read signed without `x-amz-target`, replayed as a delete: refused before the
    /// signature is even computed, whatever the target says.
    @Test(arguments: ["secretsmanager.ListSecrets", "secretsmanager.DeleteSecret"])
    func targetMustBeSigned(_ target: String) {
        var request = signedWith(signedHeaders: ["content-type", "host", "x-amz-date"])
        request.headers = request.headers.map { $0.name == "X-Amz-Target" ? (name: $0.name, value: target) : $0 }
        expectError(request, .invalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
    }

    @Test(arguments: ["X-Amz-Content-Sha256", "x-amz-user-agent", "X-AMZ-ANYTHING"])
    func everyAmzHeaderMustBeSigned(_ name: String) {
        let request = signedWith(signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"], headers: [(name: name, value: "x")])
        expectError(request, .invalidSignature, "'\(name)' must be a 'SignedHeader' in the AWS Authorization.")
    }

    @Test func amznHeadersNeedNoSignature() throws {
        let request = signedWith(signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"],
                                 headers: [(name: "X-Amzn-Trace-Id", value: "Root=1-5759e988-bd862e3fe1be46a994272793")])
        _ = try verify(request)
    }

    @Test func signedAmzHeadersAreAccepted() throws {
        let request = signedWith(signedHeaders: ["content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"],
                                 headers: [(name: "X-Amz-Content-Sha256", value: "UNSIGNED-PAYLOAD")])
        _ = try verify(request)
    }

    @Test(arguments: ["Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target"])
    func repeatedAuthenticationHeadersAreRefused(_ name: String) {
        var request = Fixture.signed("ListSecrets")
        let value = request.header(name) ?? "x"
        request.headers.append((name: name, value: value))
        if request.headerValues(name).count == 1 { request.headers.append((name: name, value: value)) }
        expectError(request, .incompleteSignature, "The request must not carry more than one '\(name)' header.")
    }

    @Test(arguments: ["Credential", "SignedHeaders", "Signature"])
    func repeatedAuthorizationParametersAreRefused(_ parameter: String) throws {
        let request = Fixture.signed("ListSecrets")
        let header = try #require(request.header("Authorization"))
        let start = try #require(header.range(of: "\(parameter)="))
        let end = header[start.upperBound...].firstIndex(of: ",") ?? header.endIndex
        let repeated = header + ", " + header[start.lowerBound..<end]
        expectError(withAuthorization(repeated, request), .incompleteSignature,
                    "Authorization header has a duplicate '\(parameter)' parameter. Authorization=" + repeated)
    }

    @Test func theFirstSignatureDoesNotWinEither() throws {
        // The valid signature first and a forged one last, and the other way round: both refused.
        let request = Fixture.signed("ListSecrets")
        let header = try #require(request.header("Authorization"))
        let forged = String(repeating: "0", count: 64)
        for variant in [header + ", Signature=" + forged, header.replacingOccurrences(of: "Signature=", with: "Signature=\(forged), Signature=")] {
            #expect(throws: AWSError.self) { try self.verify(self.withAuthorization(variant, request)) }
        }
    }

    @Test func emptySessionTokenWithLongTermKeysIsRefused() {
        var request = Fixture.call("ListSecrets", extraHeaders: [(name: "X-Amz-Security-Token", value: "")])
        request = SigV4.sign(request, accessKeyId: Fixture.accessKeyId, secretAccessKey: Self.secret,
                             region: Fixture.region, service: "secretsmanager", now: Fixture.now)
        expectError(request, .unrecognizedClient, "The security token included in the request is invalid.")
    }

    @Test(arguments: ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Date"])
    func repeatedQueryAuthenticationParametersAreRefused(_ parameter: String) {
        var request = Fixture.call("ListSecrets")
        request.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=b&\(parameter)=c"
        expectError(request, .incompleteSignature, "AWS query-string parameters must not repeat '\(parameter)'. Re-examine the query-string parameters.")
    }

    @Test func bothHeaderAndQueryAuthentication() {
        var request = Fixture.signed("ListSecrets")
        request.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        expectError(request, .invalidSignature, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
    }

    @Test func incompleteQueryAuthentication() {
        var request = withAuthorization(nil)
        request.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z"
        expectError(request, .incompleteSignature,
                    "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")
    }

    @Test func queryStringAuthentication() throws {
        var request = Fixture.call("ListSecrets")
        let credential = SigV4.uriEncode("\(Fixture.accessKeyId)/20150830/us-east-1/secretsmanager/aws4_request")
        request.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(credential)&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bx-amz-target"
        let scope = SigV4.Scope(date: "20150830", region: Fixture.region, service: "secretsmanager")
        let sig = SigV4.signature(for: request, accessKeyId: Fixture.accessKeyId, secretAccessKey: Self.secret,
                                  scope: scope, amzDate: "20150830T123600Z", signedHeaders: ["host", "x-amz-target"])
        request.query += "&X-Amz-Signature=\(sig.signature)"
        #expect(try verify(request).accessKeyId == Fixture.accessKeyId)
        // The query form binds the target too.
        var unbound = request
        unbound.query = request.query.replacingOccurrences(of: "SignedHeaders=host%3Bx-amz-target", with: "SignedHeaders=host")
        #expect(throws: AWSError(.invalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")) { try self.verify(unbound) }
        request.query = request.query.replacingOccurrences(of: "SignedHeaders=host%3Bx-amz-target", with: "SignedHeaders=content-type;host;x-amz-target")
        #expect(throws: AWSError.self) { try self.verify(request) }
    }
}

@Suite struct SigV4HeaderValueTests {
    /// SigV4's value normalization: trimmed, inner runs of spaces and tabs collapsed to one space;
    /// anything else (non-ASCII included) untouched.
    @Test(arguments: [("a b", "a b"), ("  a   b  ", "a b"), ("\ta\t\tb\t", "a b"), ("", ""), ("   ", ""), ("x", "x"),
                      ("é  ☃", "é ☃"), ("application/x-amz-json-1.1", "application/x-amz-json-1.1"), ("a \t b", "a b")])
    func normalizes(_ raw: String, _ expected: String) {
        #expect(SigV4.normalizeHeaderValue(raw) == expected)
    }
}

/// The byte-level canonicalization against a plain String reference (the implementation it
/// replaced), over random paths, queries and header values.
@Suite struct SigV4CanonicalFormProperties {
    static let alphabet: [String] = ["a", "Z", "0", "-", "_", ".", "~", "/", "//", "..", ".", "%", "%2F", "%zz", "%4", "=", "&",
                                     "+", " ", "  ", "\t", "é", "日", ";", ",", ":", "?"]

    static func reference(uri rawPath: String) -> String {
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
        var out = "/" + segments.map { SigV4.uriEncode(String($0)) }.joined(separator: "/")
        if path.hasSuffix("/") { out += "/" }
        return out
    }

    static func reference(query rawQuery: String) -> String {
        var pairs: [(String, String)] = []
        for part in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: "=")
            let name = eq.map { part[..<$0] } ?? part
            let value = eq.map { part[part.index(after: $0)...] } ?? ""
            pairs.append((SigV4.uriEncode(SigV4.percentDecode(name)), SigV4.uriEncode(SigV4.percentDecode(value))))
        }
        pairs.sort { lhs, rhs in
            lhs.0 == rhs.0 ? Array(lhs.1.utf8).lexicographicallyPrecedes(Array(rhs.1.utf8))
                : Array(lhs.0.utf8).lexicographicallyPrecedes(Array(rhs.0.utf8))
        }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func reference(headerValue value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    @Test func byteFormsMatchTheReference() {
        var rng = SystemRandomNumberGenerator()
        func text() -> String {
            (0..<Int.random(in: 0...12, using: &rng)).map { _ in Self.alphabet.randomElement(using: &rng)! }.joined()
        }
        for _ in 0..<3000 {
            let path = text(), query = text(), value = text()
            #expect(SigV4.canonicalURI(path) == Self.reference(uri: path), "path \(path.debugDescription)")
            #expect(SigV4.canonicalQueryString(query) == Self.reference(query: query), "query \(query.debugDescription)")
            #expect(SigV4.normalizeHeaderValue(value) == Self.reference(headerValue: value), "value \(value.debugDescription)")
            let headers = [(name: "Host", value: value), (name: "X-Amz-Date", value: "20150830T123600Z"), (name: "host", value: path)]
            #expect(SigV4.canonicalHeaders(headers, signedHeaders: ["host", "x-amz-date"])
                    == "host:\(Self.reference(headerValue: value)),\(Self.reference(headerValue: path))\nx-amz-date:20150830T123600Z\n")
        }
    }
}
