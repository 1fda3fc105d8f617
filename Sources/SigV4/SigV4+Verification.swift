public import AWSProtocol
public import Cryptography
public import Foundation

extension SigV4 {
    /// What a successful verification established about the caller.
    public struct Verified: Sendable {
        /// The access key id the request was signed with.
        public var accessKeyId: String
        /// The credential scope the request was signed for.
        public var scope: Scope
        /// `X-Amz-Security-Token`, for session credentials.
        public var sessionToken: String?
    }

    /// Verifies SigV4-signed requests (an `Authorization` header, or query-string parameters)
    /// for one region and service, answering with the errors AWS's JSON frontend gives.
    ///
    /// Checks, in order: which auth form is present; the `Authorization` header's parameters;
    /// the algorithm; the credential's shape; the request time (15 minutes of skew either way);
    /// the credential scope (region, service, terminator, day of the request time); that `host`
    /// and the header carrying the time are signed; the session token; the access key; then
    /// the signature itself, compared in constant time.
    public struct Verifier: Sendable {
        /// The region every credential scope must name.
        public var region: String
        /// The signing name every credential scope must name.
        public var service: String
        /// How far the request time may be from `now`, either way.
        public var allowedSkew: TimeInterval

        public init(region: String, service: String, allowedSkew: TimeInterval = 15 * 60) {
            self.region = region
            self.service = service
            self.allowedSkew = allowedSkew
        }

        /// The AWS message for a signature that does not match.
        public static let signatureMismatchMessage = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        /// The AWS message for an unknown access key or session token.
        public static let unrecognizedClientMessage = "The security token included in the request is invalid."

        /// Verifies `request` at time `now`.
        ///
        /// - Parameter secretAccessKey: returns the secret key of an access key id and the
        ///   session token sent with it (nil for long-term keys), or nil when the pair is unknown.
        /// - Throws: the `AWSError` AWS answers for the first failed check.
        public func verify(
            _ request: AWSRequest,
            now: Date,
            signingKeys: SigningKeyCache? = nil,
            secretAccessKey: (String, String?) -> SecureBytes?
        ) throws(AWSError) -> Verified {
            let parsed = try Self.parse(request)
            let parts = try Self.credentialParts(parsed.credential)

            // Request time and skew.
            guard let requestTime = parsed.time else {
                throw AWSError(.incompleteSignature, "Date must be in ISO-8601 'basic format'. Got '\(parsed.timeText)'. See http://en.wikipedia.org/wiki/ISO_8601")
            }
            let amzDate = AWSTimestamp.basic(requestTime)
            let minutes = Int(allowedSkew / 60)
            if requestTime < now.addingTimeInterval(-allowedSkew) {
                throw AWSError(.invalidSignature, "Signature expired: \(amzDate) is now earlier than \(AWSTimestamp.basic(now.addingTimeInterval(-allowedSkew))) (\(AWSTimestamp.basic(now)) - \(minutes) min.)")
            }
            if requestTime > now.addingTimeInterval(allowedSkew) {
                throw AWSError(.invalidSignature, "Signature not yet current: \(amzDate) is still later than \(AWSTimestamp.basic(now.addingTimeInterval(allowedSkew))) (\(AWSTimestamp.basic(now)) + \(minutes) min.)")
            }

            // Scope. AWS reports every scope problem at once, each sentence ending in ". ".
            var scopeErrors = ""
            if parts[2] != region { scopeErrors += "Credential should be scoped to a valid region. " }
            if parts[3] != service { scopeErrors += "Credential should be scoped to correct service: '\(service)'. " }
            if parts[4] != SigV4.terminator {
                scopeErrors += "Credential should be scoped with a valid terminator: '\(SigV4.terminator)', not '\(parts[4])'. "
            }
            let day = String(amzDate.prefix(8))
            if parts[1] != day {
                scopeErrors += "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(parts[1])' != '\(day)', from '\(amzDate)'. "
            }
            if !scopeErrors.isEmpty { throw AWSError(.invalidSignature, scopeErrors) }

            // Headers that must be covered by the signature.
            let signedHeaders = Self.split(parsed.signedHeaders, on: UInt8(ascii: ";"))
            if !signedHeaders.contains("host") {
                throw AWSError(.invalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
            }
            if let timeHeader = parsed.timeHeader, !signedHeaders.contains(timeHeader.lowercased()) {
                throw AWSError(.invalidSignature, "'\(timeHeader)' must be a 'SignedHeader' in the AWS Authorization.")
            }

            // Every `x-amz-*` header the request carries must be signed too (AWS's rule): an
            // unsigned `X-Amz-Target` would let a captured, signed read be replayed as a delete.
            for header in request.headers where Self.mustBeSigned(header.name) {
                let name = Self.lowercasedASCII(header.name)
                if !signedHeaders.contains(name) {
                    throw AWSError(.invalidSignature, "'\(header.name)' must be a 'SignedHeader' in the AWS Authorization.")
                }
            }
            if let token = parsed.sessionToken, token.isEmpty {
                // An empty token is no token: refused rather than taken for long-term keys.
                throw AWSError(.unrecognizedClient, Self.unrecognizedClientMessage)
            }

            let accessKeyId = parts[0]
            guard let secret = secretAccessKey(accessKeyId, parsed.sessionToken) else {
                throw AWSError(.unrecognizedClient, Self.unrecognizedClientMessage)
            }

            let scope = Scope(date: parts[1], region: parts[2], service: parts[3])
            let creq = SigV4.canonicalRequestBytes(
                method: request.method,
                path: request.path,
                query: request.query,
                headers: request.headers,
                signedHeaders: signedHeaders,
                payloadHash: Hex.encode(SHA256.hash(request.body)),
                excludingQueryParameters: parsed.fromQuery ? ["X-Amz-Signature"] : []
            )
            let sts = SigV4.stringToSignBytes(amzDate: parsed.timeText, scope: scope, canonicalRequest: creq)
            let key = signingKeys?.signingKey(accessKeyId: accessKeyId, secretAccessKey: secret, scope: scope)
                ?? SigV4.signingKey(secretAccessKey: secret, scope: scope)
            var expected: [UInt8] = []
            Hex.append(HMACSHA256.authenticate(sts, key: key), to: &expected)
            // Hex digits compared case-insensitively, as AWS accepts an upper-case signature.
            let provided = parsed.signature.utf8.map { (0x41...0x46).contains($0) ? $0 | 0x20 : $0 }
            guard ConstantTime.equals(expected, provided) else {
                throw AWSError(.invalidSignature, Self.signatureMismatchMessage)
            }
            return Verified(accessKeyId: accessKeyId, scope: scope, sessionToken: parsed.sessionToken)
        }

        /// The authentication parameters of a request, from whichever form it used.
        fileprivate struct Parsed {
            var credential: String
            var signedHeaders: String
            var signature: String
            /// The request time as sent (header or query value).
            var timeText: String
            var time: Date?
            /// The header the time came from (`X-Amz-Date` or `Date`); nil for query auth.
            var timeHeader: String?
            var sessionToken: String?
            var fromQuery: Bool
        }

        /// The credential's five elements: keyid/date/region/service/terminator.
        static func credentialParts(_ credential: String) throws(AWSError) -> [String] {
            let parts = split(credential, on: UInt8(ascii: "/"))
            guard parts.count == 5 else {
                throw AWSError(.incompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '\(credential)'")
            }
            return parts
        }

        fileprivate static func parse(_ request: AWSRequest) throws(AWSError) -> Parsed {
            // One of each: with two, the verifier and whatever reads the request next could
            // disagree about which one counts.
            for name in Self.singleHeaders where request.headerValues(name).count > 1 {
                throw AWSError(.incompleteSignature, "The request must not carry more than one '\(name)' header.")
            }
            let authorization = request.header("Authorization")
            let (query, repeatedInQuery) = Self.queryParameters(request.query)
            let queryAuth = query["X-Amz-Algorithm"] != nil
            if authorization != nil && queryAuth {
                throw AWSError(.invalidSignature, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
            }
            if queryAuth {
                for name in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Security-Token"]
                where repeatedInQuery.contains(name) {
                    throw AWSError(.incompleteSignature, "AWS query-string parameters must not repeat '\(name)'. Re-examine the query-string parameters.")
                }
                return try parseQuery(query, request: request)
            }
            // A header in any other scheme is no SigV4 credential at all.
            guard let authorization, authorization.hasPrefix("AWS4-") else {
                throw AWSError(.missingAuthenticationToken, "Missing Authentication Token")
            }

            // Parsed on UTF-8 bytes: the separators are ASCII, and this runs for every request.
            let header = Array(authorization.utf8)
            let firstSpace = header.firstIndex(of: UInt8(ascii: " ")) ?? header.endIndex
            let algorithm = String(decoding: header[..<firstSpace], as: UTF8.self)
            var params: [String: String] = [:]
            var tokenStart = firstSpace
            for i in firstSpace...header.count {
                let separator = i == header.count || header[i] == UInt8(ascii: ",") || header[i] == UInt8(ascii: " ")
                    || header[i] == UInt8(ascii: "\t")
                guard separator else { continue }
                defer { tokenStart = i + 1 }
                guard tokenStart < i else { continue }
                let token = header[tokenStart..<i]
                guard let eq = token.firstIndex(of: UInt8(ascii: "=")) else {
                    throw AWSError(.incompleteSignature, "'\(String(decoding: token, as: UTF8.self))' not a valid key=value pair (missing equal-sign) in Authorization header: '\(authorization)'.")
                }
                let name = String(decoding: token[..<eq], as: UTF8.self)
                // A repeated parameter is refused: "the last Signature= wins" would let a
                // proxy and this verifier read two different signatures.
                if params[name] != nil {
                    throw AWSError(.incompleteSignature, "Authorization header has a duplicate '\(name)' parameter. Authorization=" + authorization)
                }
                params[name] = String(decoding: token[(eq + 1)...], as: UTF8.self)
            }
            var missing = ""
            for name in ["Credential", "Signature", "SignedHeaders"] where (params[name] ?? "").isEmpty {
                missing += "Authorization header requires '\(name)' parameter. "
            }
            let amzDate = request.header("X-Amz-Date")
            let httpDate = request.header("Date")
            if amzDate == nil && httpDate == nil {
                missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            }
            if !missing.isEmpty { throw AWSError(.incompleteSignature, missing + "Authorization=" + authorization) }
            guard algorithm == SigV4.algorithm else {
                throw AWSError(.incompleteSignature, "Unsupported AWS 'algorithm': '\(algorithm)'")
            }

            let timeText: String
            let time: Date?
            let timeHeader: String
            if let amzDate {
                timeText = amzDate
                time = AWSTimestamp.parseBasic(amzDate)
                timeHeader = "X-Amz-Date"
            } else {
                timeText = httpDate ?? ""
                time = AWSTimestamp.parseHTTPDate(timeText)
                timeHeader = "Date"
            }
            return Parsed(
                credential: params["Credential"] ?? "",
                signedHeaders: params["SignedHeaders"] ?? "",
                signature: params["Signature"] ?? "",
                timeText: time.map(AWSTimestamp.basic) ?? timeText,
                time: time,
                timeHeader: timeHeader,
                sessionToken: request.header("X-Amz-Security-Token"),
                fromQuery: false
            )
        }

        private static func parseQuery(_ query: [String: String], request: AWSRequest) throws(AWSError) -> Parsed {
            var missing = ""
            for name in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"]
            where (query[name] ?? "").isEmpty {
                missing += "AWS query-string parameters must include '\(name)'. "
            }
            if !missing.isEmpty { throw AWSError(.incompleteSignature, missing + "Re-examine the query-string parameters.") }
            let algorithm = query["X-Amz-Algorithm"] ?? ""
            guard algorithm == SigV4.algorithm else {
                throw AWSError(.incompleteSignature, "Unsupported AWS 'algorithm': '\(algorithm)'")
            }
            let timeText = query["X-Amz-Date"] ?? ""
            return Parsed(
                credential: query["X-Amz-Credential"] ?? "",
                signedHeaders: query["X-Amz-SignedHeaders"] ?? "",
                signature: query["X-Amz-Signature"] ?? "",
                timeText: timeText,
                time: AWSTimestamp.parseBasic(timeText),
                timeHeader: nil,
                sessionToken: query["X-Amz-Security-Token"] ?? request.header("X-Amz-Security-Token"),
                fromQuery: true
            )
        }

        /// Headers that may appear at most once in a signed request.
        static let singleHeaders = ["Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target"]

        /// Whether a header must be among the signed headers when present: every `x-amz-*`
        /// header (`x-amzn-*`, e.g. a trace id a proxy adds, is not one).
        static func mustBeSigned(_ name: String) -> Bool {
            let prefix = "x-amz-".utf8
            let bytes = name.utf8
            guard bytes.count > prefix.count else { return false }
            return AWSRequest.equalIgnoringASCIICase(bytes.prefix(prefix.count), prefix)
        }

        /// `text` with ASCII letters lower-cased (header names are compared that way).
        static func lowercasedASCII(_ text: String) -> String {
            String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }

        /// `text` split at every `separator` byte, empty pieces kept.
        static func split(_ text: String, on separator: UInt8) -> [String] {
            var out: [String] = []
            var piece: [UInt8] = []
            for byte in text.utf8 {
                if byte == separator {
                    out.append(String(decoding: piece, as: UTF8.self))
                    piece.removeAll(keepingCapacity: true)
                } else {
                    piece.append(byte)
                }
            }
            out.append(String(decoding: piece, as: UTF8.self))
            return out
        }

        /// Decoded query parameters (for a repeated name the first value wins), and the names
        /// that occur more than once, in one pass over the query.
        static func queryParameters(_ rawQuery: String) -> (values: [String: String], repeated: Set<String>) {
            var out: [String: String] = [:]
            var repeated: Set<String> = []
            for (rawName, rawValue) in SigV4.queryParameters(rawQuery) {
                let name = SigV4.percentDecode(rawName)
                let value = rawValue.map(SigV4.percentDecode) ?? ""
                if out[name] == nil { out[name] = value } else { repeated.insert(name) }
            }
            return (out, repeated)
        }
    }
}

extension SigV4 {
    /// The region a request's credential scope names (`Credential=AKID/DATE/REGION/SERVICE/
    /// aws4_request` in the `Authorization` header, or `X-Amz-Credential` in the query), read
    /// the way `Verifier` reads it and checked no further: nothing is verified. For routing a
    /// request to the node of its region before that node verifies it.
    ///
    /// - Throws: the `AWSError` the verifier answers when the authentication parameters are
    ///   missing or malformed (`MissingAuthenticationTokenException`,
    ///   `IncompleteSignatureException`, `InvalidSignatureException`).
    public static func credentialRegion(of request: AWSRequest) throws(AWSError) -> String {
        let parsed = try Verifier.parse(request)
        return try Verifier.credentialParts(parsed.credential)[2]
    }
}
