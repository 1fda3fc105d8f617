import JSON
import Cryptography
import Foundation
public import SecretStore
import Policy
public import AWSProtocol

/// The secrets operations of AWS Secrets Manager over a `SecretStorage`: JSON input to
/// commands and queries of the pure core, sealing and opening values with `ValueSealer`, and
/// the core's outcome back to AWS's JSON output. One file per area:
/// `SecretsOperations+Values.swift` (create, put, update, get, version stages),
/// `+Metadata.swift` (describe, lists, tags, policies, rotation), `+Lifecycle.swift`
/// (delete, restore).
struct SecretsOperations: Sendable {
    let storage: any SecretStorage
    let sealer: ValueSealer
    /// The other regions of the cluster: the ones a secret may be replicated to.
    let replicaRegions: Set<String>
    /// The node's rotation runner, as RotateSecret needs it.
    var rotation: RotationHooks = .none

    func register(in table: inout OperationTable) {
        registerValues(in: &table)
        registerMetadata(in: &table)
        registerLifecycle(in: &table)
        registerReplication(in: &table)
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


    /// A decision context for a write: now, the node's region, the account the write is in
    /// (the caller's, or the owner of the secret a cross-account ARN names), and fresh
    /// randomness for a new ARN suffix and VersionId.
    static func decisionContext(_ context: OperationContext, account: String? = nil) throws(AWSError) -> DecisionContext {
        do {
            let suffix = try Random.alphanumeric(count: 6, using: context.random)
            let versionId = try Random.uuidString(using: context.random)
            return DecisionContext(now: millis(context.now), region: context.region,
                                   accountId: account ?? context.principal.accountId, arnSuffix: suffix, versionId: versionId)
        } catch {
            throw AWSError.internalFailure
        }
    }

    /// The account a `SecretId` addresses: a full or partial ARN's account, otherwise the
    /// caller's (a name is always looked up in the caller's own account, as in AWS).
    static func account(of secretId: String, _ context: OperationContext) -> String {
        arnAccount(secretId) ?? context.principal.accountId
    }

    /// The account of a full or partial secret ARN; nil for a name.
    static func arnAccount(_ secretId: String) -> String? {
        // On UTF-8 bytes (runs for every request, usually on a plain name): the fields of
        // `arn:PARTITION:secretsmanager:REGION:ACCOUNT:…` are found by their colons.
        let bytes = secretId.utf8
        guard bytes.starts(with: "arn:".utf8) else { return nil }
        var colons: [String.UTF8View.Index] = []
        var index = bytes.startIndex
        while index != bytes.endIndex, colons.count < 6 {
            if bytes[index] == UInt8(ascii: ":") { colons.append(index) }
            index = bytes.index(after: index)
        }
        guard colons.count == 6 else { return nil }
        let service = bytes[bytes.index(after: colons[1])..<colons[2]]
        let account = bytes[bytes.index(after: colons[3])..<colons[4]]
        guard service.elementsEqual("secretsmanager".utf8), account.count == 12 else { return nil }
        return String(Substring(account))
    }

    /// The resource IAM evaluates when a `SecretId` names no existing secret: an ARN as sent;
    /// for a name, the ARN it would have with the six-character suffix left as `??????`, so
    /// that policies written for real ARNs (`prod/*-??????`) decide a missing secret as they
    /// would decide an existing one, and a refused caller cannot tell which names exist.
    static func requestedARN(_ secretId: String, _ context: OperationContext) -> String {
        if secretId.hasPrefix("arn:") { return secretId }
        return "arn:aws:secretsmanager:\(context.region):\(context.principal.accountId):secret:\(secretId)-??????"
    }

    /// Authorizes `action` on what `secretId` names: the secret when it exists (its ARN, tags
    /// and resource policy), otherwise the requested ARN with identity policies alone. A caller
    /// who may not act on the ARN learns nothing about whether it exists.
    static func authorize(
        _ action: String, _ secretId: String, found secret: Secret?, _ context: OperationContext,
        keys: [String: ContextValue] = [:]
    ) throws(AWSError) {
        if let secret {
            try context.authorize(action, resource: secret.arn, resourceAccount: secret.accountId, secret: secret, keys: keys,
                                  named: secretId)
        } else {
            try context.authorize(action, resource: requestedARN(secretId, context),
                                  resourceAccount: account(of: secretId, context), keys: keys, named: secretId)
        }
    }

    /// Finds `secretId` in `state` (a write's decision state) and authorizes the operation on
    /// it; ResourceNotFoundException only for callers allowed on the requested ARN.
    static func authorizedSecret(
        _ secretId: String, in state: SecretState, _ context: OperationContext, keys: [String: ContextValue] = [:]
    ) throws(AWSError) -> Secret {
        switch state.lookup(secretId, accountId: account(of: secretId, context), region: context.region) {
        case .success(let secret):
            try authorize(context.operation, secretId, found: secret, context, keys: keys)
            return secret
        case .failure(let error):
            try authorize(context.operation, secretId, found: nil, context, keys: keys)
            throw AWSError(error)
        }
    }

    /// A read of one secret: `body` runs on the state (under the storage's lock) for the
    /// account `secretId` addresses; the operation is authorized on the secret found (or on
    /// the requested ARN) before `body`'s outcome is looked at.
    func readAuthorized<T>(
        _ secretId: String, _ context: OperationContext, keys: [String: ContextValue] = [:],
        _ body: (SecretState, String) -> Result<T, SecretStoreError>
    ) throws(AWSError) -> T {
        let account = Self.account(of: secretId, context)
        let (secret, result) = storage.read { state in
            ((try? state.lookup(secretId, accountId: account, region: context.region).get()), body(state, account))
        }
        try Self.authorize(context.operation, secretId, found: secret, context, keys: keys)
        switch result {
        case .success(let value): return value
        case .failure(let error): throw AWSError(error)
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
    public static let publicPolicy = AWSError.Code(type: "PublicPolicyException", status: 400)
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

    /// The audit trail cannot take the request's record (disk full, I/O error): the request is
    /// refused rather than served unaudited, with a server fault that SDKs retry.
    public static let auditUnavailable = AWSError(
        .internalServiceError, "An error occurred on the server side: the request could not be audited; retry it.")

    /// The region log could not make a write durable (disk full, I/O error, overloaded): a
    /// server fault, so SDKs retry it.
    public static let storageUnavailable = AWSError(
        .internalServiceError, "An error occurred on the server side: the write was not stored; retry it.")

    /// A write sent to a standby, which decides nothing (its log is its primary's): a server
    /// fault that SDKs retry, naming where writes go.
    public static func standbyRefusesWrites(primary: String) -> AWSError {
        AWSError(.internalServiceError, "An error occurred on the server side: this node is a standby; send writes to its region's primary, \(primary).")
    }

    /// A write to a primary that has heard of a newer epoch of its region (a promotion): retryable.
    public static func fencedPrimary(epoch: UInt64, higher: UInt64) -> AWSError {
        AWSError(.internalServiceError, "An error occurred on the server side: this node was its region's primary at epoch \(epoch); "
            + "epoch \(higher) is known, so it accepts no more writes. Send writes to the region's new primary.")
    }

    /// A write to a primary that has just started and is asking its region whether a newer
    /// epoch exists: retryable (a second at most).
    public static func confirmingPrimary(epoch: UInt64) -> AWSError {
        AWSError(.internalServiceError, "An error occurred on the server side: this node is confirming with its region that it is "
            + "still the primary of epoch \(epoch); retry.")
    }

    /// A write in a region whose primary is being chosen (a promotion did not finish): retryable.
    public static func noPrimary(epoch: UInt64) -> AWSError {
        AWSError(.internalServiceError, "An error occurred on the server side: this region has no primary at epoch \(epoch) yet; "
            + "promote a node with strongroom promote.")
    }
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
