public import Cryptography
public import Foundation
import JSON

/// Temporary credentials, as `strongroom iam issue-session` hands them out and STS would:
/// an `ASIA…` access key id, a secret access key and a session token, valid until `expiration`.
public struct SessionCredentials: Sendable {
    public var accessKeyId: String
    /// The secret half, to be shown once to whoever asked for the session.
    public var secretAccessKey: SecureBytes
    public var sessionToken: String
    public var expiration: Date
    /// What the token states (principal, session name, tags, times).
    public var claims: SessionClaims
}

/// What a session token states: whose session it is, until when, and its session tags.
public struct SessionClaims: Sendable, Equatable {
    public var accessKeyId: String
    /// The configured user or role the session acts for.
    public var principalArn: String
    public var sessionName: String
    /// Epoch seconds.
    public var issuedAt: Int64
    /// Epoch seconds; the credentials are refused from this second on.
    public var expiresAt: Int64
    /// Session tags; they override principal tags of the same key (as STS session tags do).
    public var tags: [String: String]

    public init(accessKeyId: String, principalArn: String, sessionName: String, issuedAt: Int64, expiresAt: Int64,
                tags: [String: String]) {
        self.accessKeyId = accessKeyId
        self.principalArn = principalArn
        self.sessionName = sessionName
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.tags = tags
    }
}

/// Stateless session tokens: `SRS1.<base64url claims>.<base64url HMAC-SHA256>`, signed with the
/// IAM configuration's `sessionSigningKey`, so every node (they share the file) can check a
/// token without a session table. The secret access key is not in the token: it is derived
/// from the claims with the same key, so a token without its secret cannot sign requests.
public enum SessionToken {
    static let prefix = "SRS1"
    static let tokenLabel = Array("strongroom session token v1\u{0}".utf8)
    static let secretLabel = Array("strongroom session secret v1\u{0}".utf8)
    /// STS's range for session durations: 15 minutes to 12 hours.
    public static let durationRange: ClosedRange<Int64> = 900...43_200

    /// The token for `claims` and the secret access key that goes with it.
    public static func issue(_ claims: SessionClaims, key: SecureBytes) -> (token: String, secretAccessKey: SecureBytes) {
        let tags = claims.tags.keys.sorted().map { (key: $0, value: JSONValue.string(claims.tags[$0] ?? "")) }
        let payload = JSONValue.object([
            (key: "k", value: .string(claims.accessKeyId)), (key: "p", value: .string(claims.principalArn)),
            (key: "s", value: .string(claims.sessionName)), (key: "i", value: .number(String(claims.issuedAt))),
            (key: "e", value: .number(String(claims.expiresAt))), (key: "t", value: .object(tags)),
        ])
        let encoded = base64URL(Array(payload.serialized().utf8))
        let mac = HMACSHA256.authenticate(tokenLabel + Array(encoded.utf8), key: key)
        return ("\(prefix).\(encoded).\(base64URL(mac))", secretAccessKey(payload: encoded, key: key))
    }

    /// The claims of a token whose signature `key` made; nil for anything else (malformed,
    /// forged, signed by another key). Expiry is the caller's check: it knows the time.
    public static func open(_ token: String, key: SecureBytes) -> (claims: SessionClaims, secretAccessKey: SecureBytes)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 4096, parts.count == 3, parts[0] == prefix,
              let mac = base64URLDecode(String(parts[2]))
        else { return nil }
        let encoded = String(parts[1])
        guard ConstantTime.equals(HMACSHA256.authenticate(tokenLabel + Array(encoded.utf8), key: key), mac),
              let bytes = base64URLDecode(encoded), let payload = try? JSONValue.parse(bytes),
              let accessKeyId = payload["k"]?.stringValue, let principal = payload["p"]?.stringValue,
              let session = payload["s"]?.stringValue,
              case .number(let issued)? = payload["i"], let issuedAt = Int64(issued),
              case .number(let expires)? = payload["e"], let expiresAt = Int64(expires),
              case .object(let tagMembers)? = payload["t"]
        else { return nil }
        var tags: [String: String] = [:]
        for member in tagMembers {
            guard let value = member.value.stringValue else { return nil }
            tags[member.key] = value
        }
        let claims = SessionClaims(accessKeyId: accessKeyId, principalArn: principal, sessionName: session,
                                   issuedAt: issuedAt, expiresAt: expiresAt, tags: tags)
        return (claims, secretAccessKey(payload: encoded, key: key))
    }

    /// 40 characters of base64, like an AWS secret access key.
    static func secretAccessKey(payload: String, key: SecureBytes) -> SecureBytes {
        let mac = HMACSHA256.authenticate(secretLabel + Array(payload.utf8), key: key)
        return SecureBytes(Array(Data(mac).base64EncodedString().utf8.prefix(40)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}

/// Why a session could not be issued.
public struct SessionIssueError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension IAMConfiguration {
    /// Issues session credentials for the configured user or role `principalArn`.
    /// - Parameters:
    ///   - sessionName: 2 to 64 characters of letters, digits and `+=,.@_-` (STS's rule).
    ///   - durationSeconds: 900 to 43,200 (STS's range).
    ///   - tags: session tags (at most 50; keys 1–128, values 0–256 characters).
    public func issueSession(
        principalArn: String, sessionName: String, durationSeconds: Int64, tags: [String: String],
        now: Date, random: any RandomSource
    ) throws(SessionIssueError) -> SessionCredentials {
        guard let key = sessionSigningKey else {
            throw SessionIssueError(message: "the IAM configuration has no sessionSigningKey; add one (32 random bytes, base64) to issue sessions")
        }
        guard identity(arn: principalArn) != nil else {
            throw SessionIssueError(message: "\(principalArn) is not a principal of the IAM configuration")
        }
        guard (2...64).contains(sessionName.utf8.count), sessionName.utf8.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || "+=,.@_-".utf8.contains(c)
        }) else {
            throw SessionIssueError(message: "the session name must be 2 to 64 letters, digits or +=,.@_-")
        }
        guard SessionToken.durationRange.contains(durationSeconds) else {
            throw SessionIssueError(message: "the duration must be between 15 minutes and 12 hours")
        }
        guard tags.count <= 50, tags.allSatisfy({ (1...128).contains($0.key.count) && $0.value.count <= 256 }) else {
            throw SessionIssueError(message: "at most 50 session tags, keys of 1 to 128 and values of at most 256 characters")
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        var id = "ASIA"
        do {
            for byte in try random.bytes(16) { id.append(Character(UnicodeScalar(alphabet[Int(byte) % 32]))) }
        } catch {
            throw SessionIssueError(message: "random generator: \(error)")
        }
        let issued = Int64(now.timeIntervalSince1970.rounded(.down))
        let claims = SessionClaims(accessKeyId: id, principalArn: principalArn, sessionName: sessionName,
                                   issuedAt: issued, expiresAt: issued + durationSeconds, tags: tags)
        let (token, secret) = SessionToken.issue(claims, key: key)
        return SessionCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token,
                                  expiration: Date(timeIntervalSince1970: TimeInterval(claims.expiresAt)), claims: claims)
    }
}
