public import Foundation
import JSON

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
    ///
    /// A member given twice in the file or in a key is refused (in a key, the second `material`
    /// would otherwise silently replace the first). Optional members (`aliases`,
    /// `allowedAccounts`, `description`) of the wrong type are refused, not read as absent.
    public init(json data: Data) throws(FormatError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(data))
        } catch {
            throw FormatError(message: "not a JSON object: \(error)")
        }
        let root = try Self.members(of: document, at: nil, notAnObject: "not a JSON object")
        guard case .array(let list)? = root["keys"] else {
            throw FormatError(message: "'keys' must be an array of objects")
        }
        var keys: [Key] = []
        var seenIds = Set<String>()
        var seenAliases = Set<String>()
        for (index, value) in list.enumerated() {
            let at = "keys[\(index)]"
            let entry = try Self.members(of: value, at: at, notAnObject: "'keys' must be an array of objects")
            guard let keyId = entry["keyId"]?.stringValue, !keyId.isEmpty else { throw FormatError(message: "\(at).keyId: missing") }
            guard let account = entry["accountId"]?.stringValue, account.count == 12, account.allSatisfy(\.isASCIIDigit) else {
                throw FormatError(message: "\(at).accountId: must be 12 digits")
            }
            guard let region = entry["region"]?.stringValue, !region.isEmpty else { throw FormatError(message: "\(at).region: missing") }
            guard let aliases = Self.strings(entry["aliases"]) else {
                throw FormatError(message: "\(at).aliases: must be an array of alias names")
            }
            for alias in aliases where !alias.hasPrefix("alias/") || alias.count <= 6 {
                throw FormatError(message: "\(at).aliases: '\(alias)' must start with 'alias/'")
            }
            guard let encoded = entry["material"]?.stringValue, let bytes = Data(base64Encoded: encoded) else {
                throw FormatError(message: "\(at).material: missing or not base64")
            }
            guard bytes.count == Self.keyByteCount else {
                throw FormatError(message: "\(at).material: key is \(bytes.count) bytes; it must be \(Self.keyByteCount) (AES-256)")
            }
            guard let allowed = Self.strings(entry["allowedAccounts"]) else {
                throw FormatError(message: "\(at).allowedAccounts: must be an array of account ids")
            }
            for other in allowed where other.count != 12 || !other.allSatisfy(\.isASCIIDigit) {
                throw FormatError(message: "\(at).allowedAccounts: '\(other)' is not a 12-digit account id")
            }
            if !allowed.isEmpty && aliases.contains(Self.defaultAlias) {
                throw FormatError(message: "\(at).allowedAccounts: the default key \(Self.defaultAlias) cannot be shared with other accounts")
            }
            let description: String
            switch entry["description"] {
            case nil: description = ""
            case .string(let text)?: description = text
            default: throw FormatError(message: "\(at).description: must be a string")
            }
            guard seenIds.insert(keyId).inserted else { throw FormatError(message: "\(at).keyId: '\(keyId)' appears twice") }
            for alias in aliases {
                guard seenAliases.insert(account + "/" + alias).inserted else {
                    throw FormatError(message: "\(at).aliases: '\(alias)' is already used in account \(account)")
                }
            }
            keys.append(Key(keyId: keyId, accountId: account, region: region, aliases: aliases,
                            material: SecureBytes(Array(bytes)), description: description, allowedAccounts: allowed))
        }
        self.keys = keys
    }

    /// An object's members by name; a name given twice is refused.
    /// - Parameter at: the object's path (`keys[0]`), nil for the file itself.
    private static func members(of value: JSONValue, at path: String?, notAnObject: String) throws(FormatError) -> [String: JSONValue] {
        guard case .object(let list) = value else { throw FormatError(message: notAnObject) }
        var members: [String: JSONValue] = [:]
        for member in list {
            guard members.updateValue(member.value, forKey: member.key) == nil else {
                throw FormatError(message: "\(path.map { $0 + "." } ?? "")\(member.key): given twice")
            }
        }
        return members
    }

    /// An optional list of strings: `[]` when absent, nil when present but not such a list.
    private static func strings(_ value: JSONValue?) -> [String]? {
        guard let value else { return [] }
        guard case .array(let items) = value else { return nil }
        let texts = items.compactMap(\.stringValue)
        return texts.count == items.count ? texts : nil
    }

    /// The keyring as file contents (the caller writes it with mode 0600): indented, members
    /// sorted by name, as earlier versions wrote it.
    public func encoded() -> Data {
        let list: [JSONValue] = keys.map { key in
            var entry: [(key: String, value: JSONValue)] = [
                ("keyId", .string(key.keyId)), ("accountId", .string(key.accountId)), ("region", .string(key.region)),
                ("aliases", .array(key.aliases.map(JSONValue.string))), ("description", .string(key.description)),
                ("material", .string(Data(key.material.unsafeCopiedBytes).base64EncodedString())),
            ]
            if !key.allowedAccounts.isEmpty { entry.append(("allowedAccounts", .array(key.allowedAccounts.map(JSONValue.string)))) }
            return .object(entry)
        }
        // Safety of the plaintext copy above: it exists only to be written to the 0600 keyring file.
        return Data(JSONValue.object([("keys", .array(list))]).sortingMembers().formattedBytes())
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
