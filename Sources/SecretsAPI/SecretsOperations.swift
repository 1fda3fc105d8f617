import JSON
import Cryptography
import Foundation
public import SecretStore

/// The secrets operations of AWS Secrets Manager over a `SecretStorage`: JSON input to
/// commands and queries of the pure core, sealing and opening values with `ValueSealer`, and
/// the core's outcome back to AWS's JSON output. One file per area:
/// `SecretsOperations+Values.swift` (create, put, update, get, version stages),
/// `+Metadata.swift` (describe, lists, tags, policies, rotation), `+Lifecycle.swift`
/// (delete, restore).
struct SecretsOperations: Sendable {
    let storage: any SecretStorage
    let sealer: ValueSealer

    func register(in table: inout OperationTable) {
        registerValues(in: &table)
        registerMetadata(in: &table)
        registerLifecycle(in: &table)
    }
}

// MARK: - Shared helpers

extension SecretsOperations {
    /// Milliseconds since the epoch, as the core counts time.
    static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// A date as AWS JSON sends timestamps: epoch seconds with fractions.
    static func timestamp(_ millis: Int64) -> JSONValue {
        let seconds = millis / 1000
        let fraction = millis % 1000
        if fraction == 0 { return .number("\(seconds)") }
        var digits = String(fraction)
        while digits.count < 3 { digits = "0" + digits }
        while digits.hasSuffix("0") { digits.removeLast() }
        return .number("\(seconds).\(digits)")
    }


    /// A decision context for a write: now, the node's region, the caller's account, and fresh
    /// randomness for a new ARN suffix and VersionId.
    static func decisionContext(_ context: OperationContext) throws(AWSError) -> DecisionContext {
        do {
            let suffix = try Random.alphanumeric(count: 6, using: context.random)
            let versionId = try Random.uuidString(using: context.random)
            return DecisionContext(now: millis(context.now), region: context.region, accountId: context.principal.accountId,
                                   arnSuffix: suffix, versionId: versionId)
        } catch {
            throw AWSError.internalFailure
        }
    }

    static func string(_ input: JSONValue, _ member: String) -> String? {
        input[member]?.stringValue
    }

    static func bool(_ input: JSONValue, _ member: String) -> Bool? {
        if case .bool(let value)? = input[member] { return value }
        return nil
    }

    /// An integer member the model validated (range-checked there).
    static func integer(_ input: JSONValue, _ member: String) -> Int64? {
        if case .number(let text)? = input[member] { return Int64(text) }
        return nil
    }

    static func strings(_ input: JSONValue, _ member: String) -> [String]? {
        guard case .array(let items)? = input[member] else { return nil }
        return items.compactMap(\.stringValue)
    }

    static func tags(_ value: JSONValue?) -> [SecretTag] {
        guard case .array(let items)? = value else { return [] }
        return items.map { SecretTag(key: $0["Key"]?.stringValue ?? "", value: $0["Value"]?.stringValue ?? "") }
    }

    /// Staging labels as AWS lists them: sorted.
    static func stagesJSON(_ stages: [String]) -> JSONValue {
        .array(stages.sorted().map { .string($0) })
    }

    static func tagsJSON(_ tags: [SecretTag]) -> JSONValue {
        .array(tags.map { .object([(key: "Key", value: .string($0.key)), (key: "Value", value: .string($0.value))]) })
    }

    /// An object from the members that are present, in order.
    static func object(_ members: [(String, JSONValue?)]) -> JSONValue {
        .object(members.compactMap { key, value in value.map { (key: key, value: $0) } })
    }
}

extension AWSError.Code {
    public static let resourceNotFound = AWSError.Code(type: "ResourceNotFoundException", status: 400)
    public static let resourceExists = AWSError.Code(type: "ResourceExistsException", status: 400)
    public static let limitExceeded = AWSError.Code(type: "LimitExceededException", status: 400)
    public static let malformedPolicyDocument = AWSError.Code(type: "MalformedPolicyDocumentException", status: 400)
    public static let encryptionFailure = AWSError.Code(type: "EncryptionFailure", status: 400)
    public static let decryptionFailure = AWSError.Code(type: "DecryptionFailure", status: 400)
}

extension AWSError {
    /// The core's refusal as the AWS error (every core error is a client fault).
    public init(_ error: SecretStoreError) {
        self.init(Code(type: error.code, status: 400), error.message)
    }

    /// `KmsKeyId` names no key of the caller's account in the node's keyring (AWS reports the
    /// KMS NotFoundException it met while encrypting).
    public static func kmsKeyNotFound(_ identifier: String) -> AWSError {
        AWSError(.encryptionFailure, "Secrets Manager can't encrypt the secret value: Key '\(identifier)' does not exist")
    }

    /// Another account's caller reaching a secret sealed under its owner's default key.
    public static let crossAccountDefaultKey = AWSError(
        .invalidRequest,
        "You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.")

    /// The key's policy does not let the caller's account use it (KMS's refusal, as Secrets
    /// Manager reports it).
    public static let kmsAccessDenied = AWSError(.notAuthorized, "Access to KMS is not allowed")

    /// A stored value's key is no longer in the keyring.
    public static func kmsKeyUnavailable(_ keyId: String) -> AWSError {
        AWSError(.decryptionFailure,
                 "Secrets Manager can't decrypt the protected secret text using the provided KMS key \(keyId): the key is not in this node's keyring.")
    }

    /// The region log could not make a write durable (disk full, I/O error, overloaded): a
    /// server fault, so SDKs retry it.
    public static let storageUnavailable = AWSError(
        .internalServiceError, "An error occurred on the server side: the write was not stored; retry it.")
}

extension Random {
    /// `count` characters of `[A-Za-z0-9]`, uniformly drawn (rejection sampling).
    static func alphanumeric(count: Int, using random: any RandomSource) throws(CryptoError) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        var out: [UInt8] = []
        while out.count < count {
            for byte in try random.bytes(count * 2) where byte < 248 && out.count < count {
                out.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
