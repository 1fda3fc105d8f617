import JSON
import Cryptography
import Foundation

/// Reads the IAM file's JSON shape into `IAMConfiguration.Account` values, naming the JSON path
/// of the first value that is missing or of the wrong type. Semantic rules (digits, ARNs,
/// uniqueness) are checked afterwards by `IAMConfiguration.init(accounts:)`.
enum IAMConfigurationDecoder {
    static func configuration(
        from root: JSONValue
    ) throws(IAMConfigurationError) -> (accounts: [IAMConfiguration.Account], admins: [String], sessionSigningKey: SecureBytes?) {
        let top = try object(root, path: "")
        for key in top.keys where !["accounts", "admins", "sessionSigningKey"].contains(key) {
            throw IAMConfigurationError(path: key, message: "unknown member (expected accounts, admins, sessionSigningKey)")
        }
        var admins: [String] = []
        if let list = top["admins"] {
            for (n, value) in try array(list, path: "admins").enumerated() {
                admins.append(try string(value, path: "admins[\(n)]"))
            }
        }
        var signingKey: SecureBytes?
        if let value = top["sessionSigningKey"] {
            guard let bytes = Data(base64Encoded: try string(value, path: "sessionSigningKey")) else {
                throw IAMConfigurationError(path: "sessionSigningKey", message: "not base64")
            }
            signingKey = SecureBytes(Array(bytes))
        }
        return (try accounts(from: top), admins, signingKey)
    }

    private static func accounts(from top: Fields) throws(IAMConfigurationError) -> [IAMConfiguration.Account] {
        let accountValues = try array(required(top, "accounts", path: ""), path: "accounts")
        var accounts: [IAMConfiguration.Account] = []
        for (a, value) in accountValues.enumerated() {
            let path = "accounts[\(a)]"
            let account = try object(value, path: path)
            let accountId = try string(required(account, "accountId", path: path), path: "\(path).accountId")
            let organization = try account["organizationId"].map { value throws(IAMConfigurationError) in
                try string(value, path: "\(path).organizationId")
            }
            let principalValues = try array(required(account, "principals", path: path), path: "\(path).principals")
            var identities: [IAMConfiguration.Identity] = []
            for (i, principalValue) in principalValues.enumerated() {
                identities.append(try identity(principalValue, accountId: accountId, path: "\(path).principals[\(i)]"))
            }
            accounts.append(IAMConfiguration.Account(accountId: accountId, organizationId: organization, identities: identities))
        }
        return accounts
    }

    private static func identity(_ value: JSONValue, accountId: String, path: String) throws(IAMConfigurationError) -> IAMConfiguration.Identity {
        let fields = try object(value, path: path)
        let typeText = try string(required(fields, "type", path: path), path: "\(path).type")
        guard let type = Principal.Kind(rawValue: typeText) else {
            throw IAMConfigurationError(path: "\(path).type", message: "must be \"user\" or \"role\", not \"\(typeText)\"")
        }
        let name = try string(required(fields, "name", path: path), path: "\(path).name")
        let arn = try string(required(fields, "arn", path: path), path: "\(path).arn")

        var keys: [IAMConfiguration.AccessKey] = []
        if let keyValues = fields["accessKeys"] {
            for (k, keyValue) in try array(keyValues, path: "\(path).accessKeys").enumerated() {
                let keyPath = "\(path).accessKeys[\(k)]"
                let keyFields = try object(keyValue, path: keyPath)
                let id = try string(required(keyFields, "accessKeyId", path: keyPath), path: "\(keyPath).accessKeyId")
                let secret = try string(required(keyFields, "secretAccessKey", path: keyPath), path: "\(keyPath).secretAccessKey")
                keys.append(IAMConfiguration.AccessKey(accessKeyId: id, secretAccessKey: SecureBytes(Array(secret.utf8))))
            }
        }

        var policies: [IAMConfiguration.Policy] = []
        if let policyValues = fields["policies"] {
            for (n, policyValue) in try array(policyValues, path: "\(path).policies").enumerated() {
                let policyPath = "\(path).policies[\(n)]"
                let policyFields = try object(policyValue, path: policyPath)
                let policyName = try string(required(policyFields, "name", path: policyPath), path: "\(policyPath).name")
                let document = try required(policyFields, "document", path: policyPath)
                guard case .object = document else {
                    throw IAMConfigurationError(path: "\(policyPath).document", message: "expected an object")
                }
                policies.append(IAMConfiguration.Policy(name: policyName, document: Data(document.serialized().utf8)))
            }
        }

        var tags: [String: String] = [:]
        if let tagValue = fields["tags"] {
            guard case .object(let members) = tagValue else {
                throw IAMConfigurationError(path: "\(path).tags", message: "expected an object")
            }
            for member in members {
                tags[member.key] = try string(member.value, path: "\(path).tags.\(member.key)")
            }
        }
        let principal = Principal(accountId: accountId, arn: arn, name: name, type: type, tags: tags)
        return IAMConfiguration.Identity(principal: principal, accessKeys: keys, policies: policies)
    }

    private typealias Fields = [String: JSONValue]

    private static func object(_ value: JSONValue, path: String) throws(IAMConfigurationError) -> Fields {
        guard case .object(let members) = value else { throw IAMConfigurationError(path: path, message: "expected an object") }
        var fields: Fields = [:]
        for member in members { fields[member.key] = member.value }
        return fields
    }

    private static func array(_ value: JSONValue, path: String) throws(IAMConfigurationError) -> [JSONValue] {
        guard case .array(let items) = value else { throw IAMConfigurationError(path: path, message: "expected an array") }
        return items
    }

    private static func string(_ value: JSONValue, path: String) throws(IAMConfigurationError) -> String {
        guard case .string(let s) = value else { throw IAMConfigurationError(path: path, message: "expected a string") }
        return s
    }

    private static func required(_ fields: Fields, _ key: String, path: String) throws(IAMConfigurationError) -> JSONValue {
        guard let value = fields[key], value != .null else {
            throw IAMConfigurationError(path: path.isEmpty ? key : "\(path).\(key)", message: "missing")
        }
        return value
    }
}
