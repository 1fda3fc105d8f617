public import Foundation

/// The node's keyring: named 256-bit keys, the stand-in for AWS KMS.
///
/// Each key has an id, an ARN, the account that owns it and its aliases; `alias/aws/secretsmanager`
/// names each account's default key, as in AWS. The file is JSON, readable by its owner only;
/// the key material is base64. Version values are sealed under data keys that these keys wrap
/// (the storage issue builds the envelope on top of this).
public struct Keyring: Sendable {
    /// One key of the keyring.
    public struct Key: Sendable {
        public var keyId: String
        public var accountId: String
        public var region: String
        public var aliases: [String]
        public var material: SecureBytes
        public var description: String
        /// The key policy, reduced to what Secrets Manager needs: the other accounts that may
        /// use this key (decrypt and encrypt through Secrets Manager). The owner always may.
        /// Default (`alias/aws/secretsmanager`) keys cannot be shared, as in AWS.
        public var allowedAccounts: [String]

        public var arn: String { "arn:aws:kms:\(region):\(accountId):key/\(keyId)" }
        public func aliasArn(_ alias: String) -> String { "arn:aws:kms:\(region):\(accountId):\(alias)" }

        public init(keyId: String, accountId: String, region: String, aliases: [String], material: SecureBytes,
                    description: String = "", allowedAccounts: [String] = []) {
            self.keyId = keyId
            self.accountId = accountId
            self.region = region
            self.aliases = aliases
            self.material = material
            self.description = description
            self.allowedAccounts = allowedAccounts
        }

        /// Whether the key policy lets `account` use the key.
        public func allows(account: String) -> Bool {
            account == accountId || allowedAccounts.contains(account)
        }
    }

    /// The alias of each account's default Secrets Manager key.
    public static let defaultAlias = "alias/aws/secretsmanager"
    /// Bytes of key material per key (AES-256).
    public static let keyByteCount = 32

    public var keys: [Key]

    public init(keys: [Key]) { self.keys = keys }

    /// A keyring problem, phrased to be printed after the file's path.
    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// Decodes and validates a keyring file's contents.
    public init(json data: Data) throws(FormatError) {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FormatError(message: "not a JSON object")
        }
        guard let list = root["keys"] as? [[String: Any]] else {
            throw FormatError(message: "'keys' must be an array of objects")
        }
        var keys: [Key] = []
        var seenIds = Set<String>()
        var seenAliases = Set<String>()
        for (index, entry) in list.enumerated() {
            let at = "keys[\(index)]"
            guard let keyId = entry["keyId"] as? String, !keyId.isEmpty else { throw FormatError(message: "\(at).keyId: missing") }
            guard let account = entry["accountId"] as? String, account.count == 12, account.allSatisfy(\.isASCIIDigit) else {
                throw FormatError(message: "\(at).accountId: must be 12 digits")
            }
            guard let region = entry["region"] as? String, !region.isEmpty else { throw FormatError(message: "\(at).region: missing") }
            let aliases = entry["aliases"] as? [String] ?? []
            for alias in aliases where !alias.hasPrefix("alias/") || alias.count <= 6 {
                throw FormatError(message: "\(at).aliases: '\(alias)' must start with 'alias/'")
            }
            guard let encoded = entry["material"] as? String, let bytes = Data(base64Encoded: encoded) else {
                throw FormatError(message: "\(at).material: missing or not base64")
            }
            guard bytes.count == Self.keyByteCount else {
                throw FormatError(message: "\(at).material: key is \(bytes.count) bytes; it must be \(Self.keyByteCount) (AES-256)")
            }
            let allowed = entry["allowedAccounts"] as? [String] ?? []
            if entry["allowedAccounts"] != nil && entry["allowedAccounts"] as? [String] == nil {
                throw FormatError(message: "\(at).allowedAccounts: must be an array of account ids")
            }
            for other in allowed where other.count != 12 || !other.allSatisfy(\.isASCIIDigit) {
                throw FormatError(message: "\(at).allowedAccounts: '\(other)' is not a 12-digit account id")
            }
            if !allowed.isEmpty && aliases.contains(Self.defaultAlias) {
                throw FormatError(message: "\(at).allowedAccounts: the default key \(Self.defaultAlias) cannot be shared with other accounts")
            }
            guard seenIds.insert(keyId).inserted else { throw FormatError(message: "\(at).keyId: '\(keyId)' appears twice") }
            for alias in aliases {
                guard seenAliases.insert(account + "/" + alias).inserted else {
                    throw FormatError(message: "\(at).aliases: '\(alias)' is already used in account \(account)")
                }
            }
            keys.append(Key(keyId: keyId, accountId: account, region: region, aliases: aliases,
                            material: SecureBytes(Array(bytes)), description: entry["description"] as? String ?? "",
                            allowedAccounts: allowed))
        }
        self.keys = keys
    }

    /// The keyring as file contents (the caller writes it with mode 0600).
    public func encoded() -> Data {
        let list: [[String: Any]] = keys.map { key in
            var entry: [String: Any] = [
                "keyId": key.keyId, "accountId": key.accountId, "region": key.region, "aliases": key.aliases,
                "description": key.description,
                "material": Data(key.material.unsafeCopiedBytes).base64EncodedString(),
            ]
            if !key.allowedAccounts.isEmpty { entry["allowedAccounts"] = key.allowedAccounts }
            return entry
        }
        // Safety of the plaintext copy above: it exists only to be written to the 0600 keyring file.
        return (try? JSONSerialization.data(withJSONObject: ["keys": list], options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    /// The key whose `keyId` is exactly `keyId`, whatever its account: how a sealed value finds
    /// the key that wrapped its data key.
    public func key(id keyId: String) -> Key? {
        keys.first { $0.keyId == keyId }
    }

    /// The key an account's `KmsKeyId` names: key id, key ARN, alias name or alias ARN.
    public func key(named identifier: String, account: String) -> Key? {
        keys.first { key in
            key.accountId == account && (key.keyId == identifier || key.arn == identifier
                || key.aliases.contains(identifier) || key.aliases.contains { key.aliasArn($0) == identifier })
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
