/// Names, ARNs and identifiers: AWS's syntax rules and how a `SecretId` finds a secret.
public enum Names {
    /// AWS's name limit.
    public static let maxNameLength = 512
    public static let minClientRequestTokenLength = 32
    public static let maxClientRequestTokenLength = 64

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// 1–512 characters of `[A-Za-z0-9/_+=.@-]`. AWS advises against, but accepts, names that end
    /// in a hyphen and six characters (they read like an ARN suffix); so do we.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxNameLength else { return false }
        return bytes.allSatisfy { byte in
            isAlphanumeric(byte) || "/_+=.@-".utf8.contains(byte)
        }
    }

    /// Whether `secretId` (a name, a name with its suffix, a full or partial ARN) has only the
    /// characters AWS accepts there: a name's, `!` (which AWS's message lists), and `:` (ARNs).
    /// An id with any other character (a space) is AWS's ValidationException "Invalid name…",
    /// whatever the operation, before it looks for the secret.
    public static func isValidSecretId(_ secretId: String) -> Bool {
        let bytes = secretId.utf8
        return !bytes.isEmpty && bytes.allSatisfy { byte in isAlphanumeric(byte) || "/_+=.@-!:".utf8.contains(byte) }
    }

    /// Nil when the token is acceptable.
    static func checkClientRequestToken(_ token: String?) -> SecretStoreError? {
        guard let token else { return nil }
        let count = token.count
        return (minClientRequestTokenLength...maxClientRequestTokenLength).contains(count) ? nil : .badClientRequestToken
    }

    /// `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX`.
    public static func arn(region: String, accountId: String, name: String, suffix: String) -> String {
        "arn:aws:secretsmanager:\(region):\(accountId):secret:\(name)-\(suffix)"
    }

    /// The ARN's parts, when it is a Secrets Manager secret ARN.
    static func parseARN(_ id: String) -> (region: String, accountId: String, rest: String)? {
        let parts = id.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0] == "arn", parts[2] == "secretsmanager", parts[5] == "secret" else {
            return nil
        }
        return (String(parts[3]), String(parts[4]), String(parts[6]))
    }

    /// `name-XXXXXX` split into the name and the six-character suffix.
    static func splitSuffix(_ id: String) -> (name: String, suffix: String)? {
        let bytes = Array(id.utf8)
        guard bytes.count > 7, bytes[bytes.count - 7] == UInt8(ascii: "-"),
              bytes[(bytes.count - 6)...].allSatisfy(isAlphanumeric) else { return nil }
        return (String(decoding: bytes[..<(bytes.count - 7)], as: UTF8.self),
                String(decoding: bytes[(bytes.count - 6)...], as: UTF8.self))
    }
}

extension SecretState {
    /// Finds a secret as AWS resolves `SecretId`: a full ARN; a partial ARN (an ARN without the
    /// random suffix); a name in the caller's account; or a name followed by the secret's suffix.
    ///
    /// - Returns: the secret, or ResourceNotFoundException.
    public func lookup(_ secretId: String, accountId: String, region: String) -> Result<Secret, SecretStoreError> {
        if let secret = secrets[secretId] { return .success(secret) }
        if secretId.hasPrefix("arn:") {
            guard let parsed = Names.parseARN(secretId), parsed.region == region,
                  let arn = arn(name: parsed.rest, accountId: parsed.accountId), let secret = secrets[arn]
            else { return .failure(.secretNotFound) }
            return .success(secret)
        }
        if let arn = arn(name: secretId, accountId: accountId), let secret = secrets[arn] {
            return .success(secret)
        }
        if let (name, suffix) = Names.splitSuffix(secretId), let arn = arn(name: name, accountId: accountId),
           arn.hasSuffix("-" + suffix), let secret = secrets[arn] {
            return .success(secret)
        }
        return .failure(.secretNotFound)
    }
}
