import JSON
public import Cryptography
public import Foundation
public import Policy

/// An authenticated IAM identity: who signed the request.
public struct Principal: Sendable, Hashable {
    /// IAM principal kinds this store knows.
    public enum Kind: String, Sendable, Hashable {
        case user
        case role
    }

    /// The 12-digit account the principal belongs to.
    public var accountId: String
    /// `arn:aws:iam::<account>:<type>/<optional path/><name>`.
    public var arn: String { didSet { uniqueId = Self.uniqueId(arn: arn, type: type) } }
    public var name: String
    public var type: Kind { didSet { uniqueId = Self.uniqueId(arn: arn, type: type) } }
    /// Principal tags, for `aws:PrincipalTag` conditions in a later policy evaluator.
    public var tags: [String: String]
    /// The principal's unique id, as IAM shows it (`AIDA…` for users, `AROA…` for roles):
    /// derived from the ARN, so every node computes the same one from the same file. Kept, not
    /// computed per use: every request's authorization and audit record read it.
    public private(set) var uniqueId: String

    public init(accountId: String, arn: String, name: String, type: Kind, tags: [String: String] = [:]) {
        self.accountId = accountId
        self.arn = arn
        self.name = name
        self.type = type
        self.tags = tags
        self.uniqueId = Self.uniqueId(arn: arn, type: type)
    }
}

/// Why an IAM configuration file was refused: the JSON path of the offending value and what is
/// wrong with it, e.g. `accounts[1].principals[0].accessKeys[0].secretAccessKey: missing`.
public struct IAMConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where in the document, in `a.b[0].c` notation; empty for the document itself.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// The cluster's identities: accounts, their users and roles, access keys and identity policies.
///
/// Authentication reads the access keys and session key; authorization reads the identity
/// policies (parsed and checked when the file is loaded: a file with a malformed policy is
/// refused whole, naming the policy) and the organizations.
public struct IAMConfiguration: Sendable {
    /// One access key pair. The secret is held in zeroised memory and never printed.
    public struct AccessKey: Sendable {
        public var accessKeyId: String
        public var secretAccessKey: SecureBytes

        public init(accessKeyId: String, secretAccessKey: SecureBytes) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
        }
    }

    /// A named identity policy, kept as the JSON text of its document.
    public struct Policy: Sendable {
        public var name: String
        /// The policy document as JSON (an object), for the Policy module.
        public var document: Data

        public init(name: String, document: Data) {
            self.name = name
            self.document = document
        }
    }

    /// A principal with its credentials and policies.
    public struct Identity: Sendable {
        public var principal: Principal
        public var accessKeys: [AccessKey]
        public var policies: [Policy]

        public init(principal: Principal, accessKeys: [AccessKey], policies: [Policy]) {
            self.principal = principal
            self.accessKeys = accessKeys
            self.policies = policies
        }
    }

    /// An account, its AWS Organizations organization (for `aws:PrincipalOrgID` and the
    /// public-policy check) and its identities.
    public struct Account: Sendable {
        public var accountId: String
        /// `o-` and 10 to 32 lower-case letters and digits, as AWS Organizations ids are.
        public var organizationId: String?
        public var identities: [Identity]

        public init(accountId: String, organizationId: String? = nil, identities: [Identity]) {
            self.accountId = accountId
            self.organizationId = organizationId
            self.identities = identities
        }
    }

    /// Access key ids are 16 to 128 characters of upper-case letters and digits (AWS's rule).
    public static let accessKeyIdLength = 16...128

    /// Bytes of a session signing key (HMAC-SHA256).
    public static let sessionKeyByteCount = 32

    public private(set) var accounts: [Account]
    /// The cluster's administrators (principal ARNs): the only callers of the node's operator
    /// calls (`strongroom status`, …), and only where their policies allow the call too. Being
    /// an admin grants nothing in Secrets Manager: secrets follow the identity and resource
    /// policies like everyone else's.
    public private(set) var admins: [String]
    /// The key that signs and checks session credentials (`strongroom iam issue-session`). The
    /// same on every node, since the whole file is; nil when sessions are not configured.
    public private(set) var sessionSigningKey: SecureBytes?
    /// Access key id → (account index, identity index, key index).
    private var keyIndex: [String: (Int, Int, Int)]
    /// Principal ARN → (account index, identity index).
    private var arnIndex: [String: (Int, Int)]
    /// Principal ARN → its identity policies, parsed once when the file is loaded.
    private var parsedPolicies: [String: [PolicyDocument]] = [:]

    /// An empty configuration: nobody can authenticate.
    public init() {
        accounts = []
        admins = []
        sessionSigningKey = nil
        keyIndex = [:]
        arnIndex = [:]
    }

    /// Builds and validates a configuration.
    /// - Throws: the first rule broken, with its path as in the JSON form.
    public init(accounts: [Account], admins: [String] = [], sessionSigningKey: SecureBytes? = nil) throws(IAMConfigurationError) {
        self.accounts = accounts
        self.admins = admins
        self.sessionSigningKey = sessionSigningKey
        self.keyIndex = [:]
        self.arnIndex = [:]
        try validate()
    }

    /// Decodes the JSON file format (see DESIGN.md and `encode()`).
    public init(json data: Data) throws(IAMConfigurationError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(Array(data))
        } catch {
            throw IAMConfigurationError(path: "", message: "not valid JSON (\(error))")
        }
        let decoded = try IAMConfigurationDecoder.configuration(from: root)
        try self.init(accounts: decoded.accounts, admins: decoded.admins, sessionSigningKey: decoded.sessionSigningKey)
    }

    /// The principal and secret key of an access key id, or nil when the id is unknown.
    public func credentials(forAccessKeyId accessKeyId: String) -> (principal: Principal, secretAccessKey: SecureBytes)? {
        guard let (a, i, k) = keyIndex[accessKeyId] else { return nil }
        let identity = accounts[a].identities[i]
        return (identity.principal, identity.accessKeys[k].secretAccessKey)
    }

    /// The identity policies of a principal (by ARN), for the policy evaluator.
    public func policies(forPrincipalARN arn: String) -> [Policy] {
        identity(arn: arn)?.policies ?? []
    }

    /// The parsed identity policies of a principal (by ARN): what the evaluator reads.
    public func identityPolicies(forPrincipalARN arn: String) -> [PolicyDocument] {
        parsedPolicies[arn] ?? []
    }

    /// The identity whose principal ARN is `arn`.
    public func identity(arn: String) -> Identity? {
        guard let (a, i) = arnIndex[arn] else { return nil }
        return accounts[a].identities[i]
    }

    /// The organization of `accountId`, nil when it has none or is not configured here.
    public func organizationId(ofAccount accountId: String) -> String? {
        accounts.first { $0.accountId == accountId }?.organizationId
    }

    /// Whether `arn` is one of the cluster's administrators.
    public func isAdmin(_ arn: String) -> Bool { admins.contains(arn) }

    /// Encodes to the JSON file format, which `init(json:)` reads back to an equal configuration.
    /// The output contains secret access keys: write it only to a file readable by the node alone.
    public func encode() -> Data {
        var members: [(key: String, value: JSONValue)] = [
            (key: "accounts", value: .array(accounts.map { account in
                var fields: [(key: String, value: JSONValue)] = [(key: "accountId", value: .string(account.accountId))]
                if let organization = account.organizationId { fields.append((key: "organizationId", value: .string(organization))) }
                fields.append((key: "principals", value: .array(account.identities.map(Self.encode(identity:)))))
                return .object(fields)
            })),
        ]
        if !admins.isEmpty { members.append((key: "admins", value: .array(admins.map { .string($0) }))) }
        if let key = sessionSigningKey {
            members.append((key: "sessionSigningKey", value: .string(Data(key.unsafeCopiedBytes).base64EncodedString())))
        }
        let root = JSONValue.object(members)
        return Data(root.serialized().utf8)
    }

    private static func encode(identity: Identity) -> JSONValue {
        let p = identity.principal
        let keys = identity.accessKeys.map { key -> JSONValue in
            .object([
                (key: "accessKeyId", value: .string(key.accessKeyId)),
                (key: "secretAccessKey", value: .string(String(decoding: key.secretAccessKey.unsafeCopiedBytes, as: UTF8.self))),
            ])
        }
        let policies = identity.policies.map { policy -> JSONValue in
            // Documents were validated as JSON objects when the configuration was built.
            let document = (try? JSONValue.parse(Array(policy.document))) ?? .object([])
            return .object([(key: "name", value: .string(policy.name)), (key: "document", value: document)])
        }
        let tags = p.tags.keys.sorted().map { (key: $0, value: JSONValue.string(p.tags[$0] ?? "")) }
        return .object([
            (key: "type", value: .string(p.type.rawValue)),
            (key: "name", value: .string(p.name)),
            (key: "arn", value: .string(p.arn)),
            (key: "accessKeys", value: .array(keys)),
            (key: "policies", value: .array(policies)),
            (key: "tags", value: .object(tags)),
        ])
    }

    // MARK: Validation

    private mutating func validate() throws(IAMConfigurationError) {
        var keyIndex: [String: (Int, Int, Int)] = [:]
        var arnIndex: [String: (Int, Int)] = [:]
        var parsed: [String: [PolicyDocument]] = [:]
        var keyPaths: [String: String] = [:]
        var accountPaths: [String: String] = [:]
        var arnPaths: [String: String] = [:]
        for (a, account) in accounts.enumerated() {
            let accountPath = "accounts[\(a)]"
            guard account.accountId.utf8.count == 12, account.accountId.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw IAMConfigurationError(path: "\(accountPath).accountId", message: "must be exactly 12 digits")
            }
            if let other = accountPaths[account.accountId] {
                throw IAMConfigurationError(path: "\(accountPath).accountId", message: "duplicate account id (also at \(other))")
            }
            accountPaths[account.accountId] = accountPath
            if let organization = account.organizationId, !Self.isValidOrganizationId(organization) {
                throw IAMConfigurationError(path: "\(accountPath).organizationId",
                                            message: "must be o- followed by 10 to 32 lower-case letters and digits")
            }
            for (i, identity) in account.identities.enumerated() {
                let path = "\(accountPath).principals[\(i)]"
                let p = identity.principal
                guard p.accountId == account.accountId else {
                    throw IAMConfigurationError(path: path, message: "principal belongs to account \(p.accountId), not \(account.accountId)")
                }
                guard Self.isValidName(p.name) else {
                    throw IAMConfigurationError(path: "\(path).name", message: "must be 1 to 64 characters of letters, digits and +=,.@_-")
                }
                guard Self.arn(p.arn, matchesAccount: account.accountId, type: p.type, name: p.name) else {
                    throw IAMConfigurationError(
                        path: "\(path).arn",
                        message: "must be arn:aws:iam::\(account.accountId):\(p.type.rawValue)/\(p.name) (optionally with a path before the name)"
                    )
                }
                if let other = arnPaths[p.arn] {
                    throw IAMConfigurationError(path: "\(path).arn", message: "duplicate principal ARN (also at \(other))")
                }
                arnPaths[p.arn] = path
                arnIndex[p.arn] = (a, i)
                if p.type == .role && !identity.accessKeys.isEmpty {
                    throw IAMConfigurationError(path: "\(path).accessKeys",
                                                message: "a role has no access keys of its own; it is used through session credentials")
                }
                for (k, key) in identity.accessKeys.enumerated() {
                    let keyPath = "\(path).accessKeys[\(k)]"
                    guard Self.accessKeyIdLength.contains(key.accessKeyId.utf8.count),
                          key.accessKeyId.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) })
                    else {
                        throw IAMConfigurationError(path: "\(keyPath).accessKeyId", message: "must be 16 to 128 upper-case letters and digits")
                    }
                    if let other = keyPaths[key.accessKeyId] {
                        throw IAMConfigurationError(path: "\(keyPath).accessKeyId", message: "duplicate access key id (also at \(other))")
                    }
                    guard !key.secretAccessKey.isEmpty else {
                        throw IAMConfigurationError(path: "\(keyPath).secretAccessKey", message: "must not be empty")
                    }
                    keyPaths[key.accessKeyId] = keyPath
                    keyIndex[key.accessKeyId] = (a, i, k)
                }
                for (n, policy) in identity.policies.enumerated() {
                    let policyPath = "\(path).policies[\(n)]"
                    guard !policy.name.isEmpty else {
                        throw IAMConfigurationError(path: "\(policyPath).name", message: "must not be empty")
                    }
                    guard let json = try? JSONValue.parse(Array(policy.document)), case .object = json else {
                        throw IAMConfigurationError(path: "\(policyPath).document", message: "must be a JSON object")
                    }
                    do {
                        parsed[p.arn, default: []].append(try PolicyDocument.parse(json, kind: .identity))
                    } catch {
                        throw IAMConfigurationError(path: "\(policyPath).document", message: error.message)
                    }
                }
            }
        }
        for (n, admin) in admins.enumerated() where arnPaths[admin] == nil {
            throw IAMConfigurationError(path: "admins[\(n)]", message: "\(admin) is not a principal of this configuration")
        }
        if let key = sessionSigningKey, key.count != Self.sessionKeyByteCount {
            throw IAMConfigurationError(path: "sessionSigningKey",
                                        message: "must be \(Self.sessionKeyByteCount) bytes (base64), not \(key.count)")
        }
        self.keyIndex = keyIndex
        self.arnIndex = arnIndex
        self.parsedPolicies = parsed
    }

    static func isValidOrganizationId(_ id: String) -> Bool {
        let rest = id.utf8.dropFirst(2)
        return id.hasPrefix("o-") && (10...32).contains(rest.count)
            && rest.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) }
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || "+=,.@_-".utf8.contains(c)
        }
    }

    static func arn(_ arn: String, matchesAccount account: String, type: Principal.Kind, name: String) -> Bool {
        let prefix = "arn:aws:iam::\(account):\(type.rawValue)/"
        guard arn.hasPrefix(prefix) else { return false }
        let resource = arn.dropFirst(prefix.count)
        // Either exactly the name, or a path ending in "/<name>".
        return resource == name || (resource.hasSuffix("/" + name) && !resource.hasPrefix("/"))
    }
}
