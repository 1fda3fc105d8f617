public import Foundation
import Cryptography
import JSON
import Platform
import TLS
public import Configuration

/// `strongroom dev`: a complete single-node environment in one directory, made on first run and
/// reused on every later run (same CA, keys, credentials and data).
///
/// The directory holds `ca.pem`/`ca.key` (the cluster CA), `node.pem`/`node.key` (valid for
/// 127.0.0.1, ::1 and localhost), `iam.json` (two accounts in one organization, each with an
/// `admin` user allowed `secretsmanager:*`, a `reader` user with no policy and an `app` role
/// with an ABAC policy), `keyring.json` (each account's default key and `alias/dev-shared`), `config.json` (what
/// `strongroom serve --config` reads), `endpoint.json` (for scripts) and `data/`.
public enum DevEnvironment {
    public static let defaultPort: UInt16 = 7443
    public static let defaultRegion = "us-east-1"
    public static let defaultDirectory = ".strongroom-dev"
    /// The example accounts of AWS's documentation.
    public static let accounts = ["123456789012", "111122223333"]
    static let nodeId = "dev"

    /// Creates what is missing in `directory` and returns the node's configuration.
    /// - Parameters:
    ///   - port: nil keeps the port of an existing directory (or the default for a new one).
    ///   - region: nil keeps the region of an existing directory; a different one is refused.
    public static func prepare(directory: String, port: UInt16?, region: String?, now: Date) throws(ProvisioningError) -> NodeConfiguration {
        let dir = Files.absolutePath(directory)
        func path(_ name: String) -> String { dir + "/" + name }
        func write(_ text: String, _ name: String, mode: UInt32) throws(ProvisioningError) {
            do {
                try Files.writeAtomically(Array(text.utf8), to: path(name), mode: mode)
            } catch {
                throw ProvisioningError("\(path(name)): cannot write: \(error.message)")
            }
        }
        do {
            try Files.makeDirectory(dir)
        } catch {
            throw ProvisioningError("\(dir): cannot create the directory: \(error.message)")
        }

        var configuration: NodeConfiguration
        if Files.exists(path("config.json")) {
            do {
                configuration = try NodeConfiguration.load(path: path("config.json"))
            } catch {
                throw ProvisioningError(error.message)
            }
            if let region, region != configuration.region {
                throw ProvisioningError("\(dir) was made for region \(configuration.region); use another --dir for \(region)")
            }
            if let port, configuration.listen.first?.port != port {
                configuration.listen = [SocketAddress(host: "127.0.0.1", port: port)!]
                try write(String(decoding: configuration.encoded(), as: UTF8.self), "config.json", mode: 0o600)
            }
            try upgrade(directory: dir, region: configuration.region)
        } else {
            let region = region ?? defaultRegion
            var random = SystemRandomSource()
            try makeCertificates(in: dir, region: region, now: now)
            if !Files.exists(path("iam.json")) {
                try write(try iamDocument(random: &random), "iam.json", mode: 0o600)
            }
            if !Files.exists(path("keyring.json")) {
                try write(String(decoding: try keyring(region: region, random: &random).encoded(), as: UTF8.self), "keyring.json", mode: 0o600)
            }
            configuration = NodeConfiguration(
                nodeId: nodeId, region: region, listen: [SocketAddress(host: "127.0.0.1", port: port ?? defaultPort)!],
                dataDirectory: path("data"), certificateFile: path("node.pem"), privateKeyFile: path("node.key"),
                caFile: path("ca.pem"), iamFile: path("iam.json"), keyringFile: path("keyring.json"))
            try write(String(decoding: configuration.encoded(), as: UTF8.self), "config.json", mode: 0o600)
        }
        return configuration
    }

    /// A directory made by an earlier version gets what this one adds (IAM members, the
    /// shared key); what is there stays.
    private static func upgrade(directory dir: String, region: String) throws(ProvisioningError) {
        let iamPath = dir + "/iam.json", keyringPath = dir + "/keyring.json"
        if let data = FileManager.default.contents(atPath: iamPath), let upgraded = try upgradeIAM(data) {
            do {
                try Files.writeAtomically(Array(upgraded), to: iamPath, mode: 0o600)
            } catch {
                throw ProvisioningError("\(iamPath): cannot write: \(error.message)")
            }
        }
        if let data = FileManager.default.contents(atPath: keyringPath), var keyring = try? Keyring(json: data),
           keyring.key(named: sharedKeyAlias, account: accounts[0]) == nil {
            keyring.keys.append(try sharedKey(region: region, random: SystemRandomSource()))
            do {
                try Files.writeAtomically(Array(keyring.encoded()), to: keyringPath, mode: 0o600)
            } catch {
                throw ProvisioningError("\(keyringPath): cannot write: \(error.message)")
            }
        }
    }

    private static func makeCertificates(in dir: String, region: String, now: Date) throws(ProvisioningError) {
        let caPath = dir + "/ca.pem", caKeyPath = dir + "/ca.key"
        if !Files.exists(caPath) || !Files.exists(caKeyPath) {
            try writeCertificateAuthority(commonName: "Strongroom dev cluster CA", certificate: caPath, privateKey: caKeyPath, now: now)
            // A new CA invalidates any node certificate signed by an old one.
            _ = unlink(dir + "/node.pem")
        }
        if !Files.exists(dir + "/node.pem") || !Files.exists(dir + "/node.key") {
            try writeCertificate(
                commonName: nodeId, organizationalUnit: region, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"],
                uris: ["urn:strongroom:node:\(region):\(nodeId)"], certificate: dir + "/node.pem", privateKey: dir + "/node.key",
                caCertificate: caPath, caPrivateKey: caKeyPath, now: now)
        }
    }

    /// An access key id in AWS's shape: "AKIA" and 16 characters of the base-32 alphabet.
    static func accessKeyId(random: inout SystemRandomSource) throws(ProvisioningError) -> String {
        "AKIA" + (try randomString(16, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", random: &random))
    }

    /// A 40-character secret access key, as AWS issues them.
    static func secretAccessKey(random: inout SystemRandomSource) throws(ProvisioningError) -> String {
        try randomString(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", random: &random)
    }

    private static func randomString(_ count: Int, alphabet: String, random: inout SystemRandomSource) throws(ProvisioningError) -> String {
        let characters = Array(alphabet)
        var out = ""
        for _ in 0..<count {
            do {
                out.append(characters[Int(try Random.uniform(below: UInt32(characters.count), using: random))])
            } catch {
                throw ProvisioningError("random generator: \(error)")
            }
        }
        return out
    }

    /// The dev accounts' AWS Organizations organization: both accounts are in it, so a
    /// resource policy granting one to the other is not "public" for BlockPublicPolicy.
    public static let organizationId = "o-strongroomdev"
    /// The customer key of the first account that the second may use (its key policy names it).
    public static let sharedKeyAlias = "alias/dev-shared"

    /// `iam.json`: per account an `admin` user (Secrets Manager administrator), a `reader`
    /// user with no policy, and an `app` role whose policy is AWS's ABAC example: it may read
    /// the secrets whose `team` tag equals its own `team` tag. Both admins are cluster admins;
    /// a session signing key lets `strongroom iam issue-session` hand out temporary credentials.
    static func iamDocument(random: inout SystemRandomSource) throws(ProvisioningError) -> String {
        var documents: [JSONValue] = []
        for account in accounts {
            documents.append(["accountId": .string(account), "organizationId": .string(organizationId),
                              "principals": [try admin(account, random: &random), try reader(account, random: &random), appRole(account),
                                             rotationRole(account)]])
        }
        let root: JSONValue = [
            "accounts": .array(documents), "admins": .strings(accounts.map { "arn:aws:iam::\($0):user/admin" }),
            "sessionSigningKey": .string(try sessionSigningKey()),
        ]
        return fileText(root)
    }

    /// A document as the files we write hold it: indented, the members of every object sorted
    /// by name (the order of the files earlier versions wrote with Foundation's JSON writer).
    static func fileText(_ document: JSONValue) -> String {
        document.sortingMembers().formatted()
    }

    static func admin(_ account: String, random: inout SystemRandomSource) throws(ProvisioningError) -> JSONValue {
        [
            "type": "user", "name": "admin", "arn": .string("arn:aws:iam::\(account):user/admin"), "tags": [:],
            "accessKeys": [["accessKeyId": .string(try accessKeyId(random: &random)), "secretAccessKey": .string(try secretAccessKey(random: &random))]],
            "policies": [[
                "name": "SecretsManagerAdmin",
                "document": ["Version": "2012-10-17",
                             "Statement": [["Effect": "Allow", "Action": ["secretsmanager:*", "strongroom:*"], "Resource": "*"]]],
            ]],
        ]
    }

    static func reader(_ account: String, random: inout SystemRandomSource) throws(ProvisioningError) -> JSONValue {
        [
            "type": "user", "name": "reader", "arn": .string("arn:aws:iam::\(account):user/reader"), "tags": [:],
            "accessKeys": [["accessKeyId": .string(try accessKeyId(random: &random)), "secretAccessKey": .string(try secretAccessKey(random: &random))]],
            "policies": [],
        ]
    }

    static func appRole(_ account: String) -> JSONValue {
        [
            "type": "role", "name": "app", "arn": .string("arn:aws:iam::\(account):role/app"), "tags": ["team": "payments"],
            "policies": [[
                "name": "ReadOwnTeamSecrets",
                "document": ["Version": "2012-10-17", "Statement": [
                    ["Sid": "ReadOwnTeam", "Effect": "Allow",
                     "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*",
                     "Condition": ["StringEquals": ["aws:ResourceTag/team": "${aws:PrincipalTag/team}"]]],
                    ["Sid": "List", "Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"],
                ]],
            ]],
        ]
    }

    /// The role rotation functions run as (`rotation.role` of a node's configuration, by
    /// default this name in the secret's account): what AWS's rotation templates' execution
    /// role may do on the secrets they rotate.
    static func rotationRole(_ account: String) -> JSONValue {
        [
            "type": "role", "name": "strongroom-rotation", "arn": .string("arn:aws:iam::\(account):role/strongroom-rotation"),
            "tags": [:],
            "policies": [[
                "name": "RotateSecrets",
                "document": ["Version": "2012-10-17", "Statement": [
                    ["Sid": "Rotate", "Effect": "Allow",
                     "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                                "secretsmanager:UpdateSecretVersionStage"], "Resource": "*"],
                    ["Sid": "Passwords", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"],
                ]],
            ]],
        ]
    }

    static func sessionSigningKey() throws(ProvisioningError) -> String {
        do {
            return Data(try Random.bytes(32)).base64EncodedString()
        } catch {
            throw ProvisioningError("random generator: \(error)")
        }
    }

    /// Brings an `iam.json` made by an earlier version up to this one's: the organization, the
    /// admins, the app role, the rotation role and the session signing key are added; nothing is removed. A file
    /// this cannot read is left alone (the node's IAM loader then says what is wrong with it).
    static func upgradeIAM(_ text: Data) throws(ProvisioningError) -> Data? {
        guard let document = try? JSONValue.parse(Array(text)), case .object(var root) = document,
              let index = root.lastIndex(where: { $0.key == "accounts" }), case .array(var documents) = root[index].value,
              documents.allSatisfy({ $0.objectMembers != nil }) else { return nil }
        var changed = false
        for position in documents.indices {
            guard case .object(var members) = documents[position],
                  let account = documents[position]["accountId"]?.stringValue, accounts.contains(account) else { continue }
            if documents[position]["organizationId"] == nil {
                members.append((key: "organizationId", value: .string(organizationId)))
                changed = true
            }
            let principals = documents[position]["principals"]?.arrayValue ?? []
            var added: [JSONValue] = []
            if !principals.contains(where: { $0["name"]?.stringValue == "app" }) { added.append(appRole(account)) }
            if !principals.contains(where: { $0["name"]?.stringValue == "strongroom-rotation" }) { added.append(rotationRole(account)) }
            if !added.isEmpty {
                members.removeAll { $0.key == "principals" }
                members.append((key: "principals", value: .array(principals + added)))
                changed = true
            }
            documents[position] = .object(members)
        }
        root[index].value = .array(documents)
        if !root.contains(where: { $0.key == "admins" }) {
            root.append((key: "admins", value: .strings(accounts.map { "arn:aws:iam::\($0):user/admin" })))
            changed = true
        }
        if !root.contains(where: { $0.key == "sessionSigningKey" }) {
            root.append((key: "sessionSigningKey", value: .string(try sessionSigningKey())))
            changed = true
        }
        guard changed else { return nil }
        return Data(fileText(.object(root)).utf8)
    }

    static func keyring(region: String, random: inout SystemRandomSource) throws(ProvisioningError) -> Keyring {
        var keys: [Keyring.Key] = []
        for account in accounts {
            keys.append(try key(account: account, region: region, aliases: [Keyring.defaultAlias],
                                description: "Default key for Secrets Manager in account \(account)", random: random))
        }
        keys.append(try sharedKey(region: region, random: random))
        return Keyring(keys: keys)
    }

    /// `alias/dev-shared`: a customer key of the first account whose key policy lets the second
    /// use it, so that cross-account reads of the secrets it seals work, as with a KMS CMK.
    static func sharedKey(region: String, random: SystemRandomSource) throws(ProvisioningError) -> Keyring.Key {
        try key(account: accounts[0], region: region, aliases: [sharedKeyAlias],
                description: "Customer key of \(accounts[0]) shared with \(accounts[1])", random: random,
                allowedAccounts: [accounts[1]])
    }

    private static func key(account: String, region: String, aliases: [String], description: String,
                            random: SystemRandomSource, allowedAccounts: [String] = []) throws(ProvisioningError) -> Keyring.Key {
        do {
            return Keyring.Key(keyId: try Random.uuidString(using: random), accountId: account, region: region, aliases: aliases,
                               material: try SecureBytes(randomCount: Keyring.keyByteCount), description: description,
                               allowedAccounts: allowedAccounts)
        } catch {
            throw ProvisioningError("random generator: \(error)")
        }
    }

    /// `endpoint.json`: what scripts and tests need to reach this node.
    public static func endpointDocument(configuration: NodeConfiguration, boundPort: UInt16) throws(ProvisioningError) -> Data {
        let described = try describeAccounts(iamFile: configuration.iamFile)
        let host = configuration.listen.first.map { $0.isIPv6 ? "[\($0.host)]" : $0.host } ?? "127.0.0.1"
        let document: JSONValue = [
            "endpoint": .string("https://\(host):\(boundPort)"), "region": .string(configuration.region),
            "caBundle": .string(configuration.caFile), "nodeId": .string(configuration.nodeId), "accounts": described,
        ]
        return Data(fileText(document).utf8)
    }

    /// The `accounts` list of `endpoint.json` and `cluster.json`: per account of `iamFile`, its
    /// users with their first access key, its roles and its organization.
    static func describeAccounts(iamFile: String) throws(ProvisioningError) -> JSONValue {
        guard let data = FileManager.default.contents(atPath: iamFile),
              let root = try? JSONValue.parse(Array(data)), let accounts = root["accounts"]?.arrayValue,
              accounts.allSatisfy({ $0.objectMembers != nil }) else {
            throw ProvisioningError("\(iamFile): cannot read the IAM configuration")
        }
        return .array(accounts.map { account in
            // Users with keys are listed with their first key; roles (no keys: they are used
            // through `strongroom iam issue-session`) under "roles". A missing member is written
            // as "" (tags as {}), as before.
            let all = account["principals"]?.arrayValue ?? []
            let principals = all.compactMap { principal -> JSONValue? in
                guard let key = principal["accessKeys"]?.arrayValue?.first, case .object = key else { return nil }
                return ["name": principal["name"] ?? "", "arn": principal["arn"] ?? "",
                        "accessKeyId": key["accessKeyId"] ?? "", "secretAccessKey": key["secretAccessKey"] ?? ""]
            }
            let roles = all.filter { $0["type"]?.stringValue == "role" }.map { role -> JSONValue in
                ["name": role["name"] ?? "", "arn": role["arn"] ?? "", "tags": role["tags"] ?? [:]]
            }
            var described: [(key: String, value: JSONValue)] = [
                ("accountId", account["accountId"] ?? ""), ("principals", .array(principals)), ("roles", .array(roles)),
            ]
            if let organization = account["organizationId"] { described.append((key: "organizationId", value: organization)) }
            return .object(described)
        })
    }
}

extension DevEnvironment {
    /// What `strongroom dev` prints: the environment variables for the admin of the first
    /// account and one command that works.
    public static func banner(endpointJSON: Data, directory: String) -> String {
        guard let root = try? JSONValue.parse(Array(endpointJSON)),
              let endpoint = root["endpoint"]?.stringValue, let region = root["region"]?.stringValue,
              let ca = root["caBundle"]?.stringValue,
              let accounts = root["accounts"]?.arrayValue,
              let principals = accounts.first?["principals"]?.arrayValue,
              let admin = principals.first(where: { $0["name"]?.stringValue == "admin" }),
              let keyId = admin["accessKeyId"]?.stringValue, let secret = admin["secretAccessKey"]?.stringValue
        else { return "endpoint.json is incomplete" }
        return """
            Strongroom dev node: \(endpoint) (region \(region))
            Data directory: \(directory)  (credentials of every account and user: \(directory)/endpoint.json)

            Use it as account \(accounts.first?["accountId"]?.stringValue ?? "")'s admin:

              export AWS_ENDPOINT_URL=\(endpoint)
              export AWS_CA_BUNDLE=\(ca)
              export AWS_ACCESS_KEY_ID=\(keyId)
              export AWS_SECRET_ACCESS_KEY=\(secret)
              export AWS_DEFAULT_REGION=\(region)

              aws secretsmanager get-random-password --password-length 24

            Serving until Ctrl-C (SIGINT) or SIGTERM.
            """
    }
}
