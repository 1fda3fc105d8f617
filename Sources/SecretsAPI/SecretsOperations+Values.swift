import JSON
import Cryptography
import Foundation
import Policy
import SecretStore
public import AWSProtocol

/// CreateSecret, PutSecretValue, UpdateSecret, UpdateSecretVersionStage, GetSecretValue,
/// BatchGetSecretValue.
extension SecretsOperations {
    func registerValues(in table: inout OperationTable) {
        table.registerDeferred("CreateSecret") { context, input, done in createSecret(context, input, done) }
        table.registerDeferred("PutSecretValue") { context, input, done in putSecretValue(context, input, done) }
        table.registerDeferred("UpdateSecret") { context, input, done in updateSecret(context, input, done) }
        table.registerDeferred("UpdateSecretVersionStage") { context, input, done in
            updateSecretVersionStage(context, input, done)
        }
        table.register("GetSecretValue") { context, input throws(AWSError) in try getSecretValue(context, input) }
        table.register("BatchGetSecretValue") { context, input throws(AWSError) in try batchGetSecretValue(context, input) }
    }

    // MARK: Writes

    /// The plaintext of `SecretString` or `SecretBinary` (already base64-checked by the model).
    static func plaintext(_ input: JSONValue) throws(AWSError) -> (bytes: SecureBytes, kind: SealedValue.Kind)? {
        let string = input["SecretString"]?.stringValue
        let binary = input["SecretBinary"]?.stringValue
        if string != nil && binary != nil { throw AWSError.bothValues }
        if let string { return (SecureBytes(Array(string.utf8)), .string) }
        if let binary {
            guard let bytes = Base64.decode(binary) else { throw AWSError(.serialization, "Base64 encoded value could not be decoded") }
            return (SecureBytes(bytes), .binary)
        }
        return nil
    }

    /// A request that creates a version must name it: SDKs and the CLI always fill in
    /// `ClientRequestToken` (the model marks it an idempotency token), and AWS refuses a raw
    /// request without one.
    static func requireToken(_ token: String?) throws(AWSError) {
        if token == nil { throw AWSError.tokenRequired }
    }

    /// Runs one write: `decide` gets the state in write order and the decision context, and
    /// returns the facts and how to answer once they are durable.
    func write(
        _ context: OperationContext, account: String? = nil, done: @escaping OperationCompletion,
        _ decide: (SecretState, DecisionContext) throws(AWSError) -> (facts: [Fact], answer: JSONValue)
    ) {
        let decisionContext: DecisionContext
        do {
            decisionContext = try Self.decisionContext(context, account: account)
        } catch {
            return done(.failure(error))
        }
        storage.write({ state in
            do throws(AWSError) {
                let (facts, answer) = try decide(state, decisionContext)
                return .success(WriteDecision(facts: facts, answer: answer))
            } catch {
                return .failure(error)
            }
        }, completion: done)
    }

    static func run(_ command: Command, _ state: SecretState, _ context: DecisionContext) throws(AWSError) -> [Fact] {
        switch state.decide(command, context: context) {
        case .success(let facts): return facts
        case .failure(let error): throw AWSError(error)
        }
    }

    /// The staging labels `versionId` carries once `facts` are applied to `secret`.
    static func stages(of versionId: String, in secret: Secret?, after facts: [Fact]) -> [String] {
        var stages = secret?.version(id: versionId)?.stages ?? []
        for fact in facts {
            let moves: [LabelMove]
            switch fact {
            case .versionAdded(_, _, let added, _): moves = added
            case .labelsMoved(_, let moved, _): moves = moved
            default: continue
            }
            for move in moves {
                if move.from == versionId { stages.removeAll { $0 == move.label } }
                if move.to == versionId, !stages.contains(move.label) { stages.append(move.label) }
            }
        }
        return stages
    }

    func createSecret(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let replicas = Self.replicaRegions(input)
        let forceOverwrite = Self.bool(input, "ForceOverwriteReplicaSecret") ?? false
        let name = Self.string(input, "Name") ?? ""
        let token = Self.string(input, "ClientRequestToken")
        let kmsKeyId = Self.string(input, "KmsKeyId")
        let description = Self.string(input, "Description")
        let tags = Self.tags(input["Tags"])
        write(context, done: done) { state, decision throws(AWSError) in
            let account = decision.accountId
            let existing = state.arn(name: name, accountId: account)
            let arn = existing ?? Names.arn(region: decision.region, accountId: account, name: name, suffix: decision.arnSuffix)
            try context.authorize("CreateSecret", resource: arn, resourceAccount: account,
                                  keys: kmsKeyArnKey(kmsKeyId, account: account, region: decision.region), named: name)
            // AWS: tagging at creation also needs TagResource, so that a deny on tagging (the
            // guard of an ABAC scheme) cannot be stepped around by creating with tags.
            if !tags.isEmpty { try context.authorize("TagResource", resource: arn, resourceAccount: account, named: name) }
            // AWS: adding replica regions at creation also needs ReplicateSecretToRegions.
            if !replicas.isEmpty {
                try context.authorize("ReplicateSecretToRegions", resource: arn, resourceAccount: account, named: name)
            }
            try checkReplicaRegions(replicas, context)
            let versionId = token ?? decision.versionId
            var value: NewValue?
            if let (bytes, kind) = try Self.plaintext(input) {
                try Self.requireToken(token)
                let key = try sealer.key(for: kmsKeyId, account: account, region: decision.region)
                value = try sealer.seal(bytes, kind: kind, key: key, account: account, arn: arn, versionId: versionId)
            } else if let kmsKeyId {
                _ = try sealer.key(for: kmsKeyId, account: account, region: decision.region)
            }
            var command = decision
            command.versionId = versionId
            let facts = try Self.run(.createSecret(name: name, clientRequestToken: token, description: description,
                                                   kmsKeyId: kmsKeyId, value: value, tags: tags, replicas: replicas,
                                                   forceOverwriteReplica: forceOverwrite), state, command)
            let statuses: [ReplicaStatus] = facts.reduce(into: []) { result, fact in
                if case .replicationSet(_, let list) = fact { result = list }
            }
            let answer = Self.object([
                ("ARN", .string(arn)), ("Name", .string(name)),
                ("VersionId", value == nil ? nil : .string(versionId)),
                ("ReplicationStatus", statuses.isEmpty ? nil : Self.replicationStatusJSON(statuses)),
            ])
            return (facts, answer)
        }
    }

    func putSecretValue(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let secretId = Self.string(input, "SecretId") ?? ""
        let token = Self.string(input, "ClientRequestToken")
        let stages = Self.strings(input, "VersionStages")
        // The request's own checks come before the secret is looked for (AWS's order).
        if token == nil { return done(.failure(AWSError.tokenRequired)) }
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context)
            guard let (bytes, kind) = try Self.plaintext(input) else { throw AWSError.noValue }
            try Self.requireToken(token)
            let versionId = token ?? decision.versionId
            let key = try sealer.key(for: secret.kmsKeyId, account: secret.accountId, region: decision.region)
            try sealer.checkKeyAccess(key.keyId, owner: secret.accountId, caller: context.principal.accountId)
            let value = try sealer.seal(bytes, kind: kind, key: key, account: secret.accountId, arn: secret.arn, versionId: versionId)
            var command = decision
            command.versionId = versionId
            let facts = try Self.run(.putSecretValue(secretId: secretId, clientRequestToken: token, value: value,
                                                     versionStages: stages), state, command)
            let answer = Self.object([
                ("ARN", .string(secret.arn)), ("Name", .string(secret.name)), ("VersionId", .string(versionId)),
                // In the order the request gave them (AWS echoes them so), not sorted.
                ("VersionStages", .array(Self.stages(of: versionId, in: secret, after: facts).map { .string($0) })),
            ])
            return (facts, answer)
        }
    }

    func updateSecret(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let secretId = Self.string(input, "SecretId") ?? ""
        let token = Self.string(input, "ClientRequestToken")
        let kmsKeyId = Self.string(input, "KmsKeyId")
        let description = Self.string(input, "Description")
        // A new value needs a token, and that is checked before the secret is looked for.
        if token == nil && (input["SecretString"] != nil || input["SecretBinary"] != nil) {
            return done(.failure(AWSError.tokenRequired))
        }
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context,
                                                   keys: kmsKeyArnKey(kmsKeyId, account: decision.accountId, region: decision.region))
            let versionId = token ?? decision.versionId
            // `KmsKeyId: ""` returns the secret to the account's default key (UpdateSecret's
            // reference: "If you set this to an empty string, Secrets Manager uses the Amazon Web
            // Services managed key aws/secretsmanager").
            let key = try sealer.key(for: kmsKeyId.map { $0.isEmpty ? nil : $0 } ?? secret.kmsKeyId, account: secret.accountId,
                                     region: decision.region)
            let plaintext = try Self.plaintext(input)
            // The key is used only for a new value or a new KmsKeyId; a description change
            // touches no key (so it works across accounts on a default-key secret).
            if plaintext != nil || kmsKeyId != nil {
                try sealer.checkKeyAccess(key.keyId, owner: secret.accountId, caller: context.principal.accountId)
            }
            var value: NewValue?
            if let (bytes, kind) = plaintext {
                try Self.requireToken(token)
                value = try sealer.seal(bytes, kind: kind, key: key, account: secret.accountId, arn: secret.arn, versionId: versionId)
            }
            // A new KmsKeyId re-wraps every labelled version's data key (AWS re-encrypts the
            // versions that carry staging labels); deprecated versions keep their key.
            var resealed: [ResealedValue] = []
            if kmsKeyId != nil {
                for version in secret.versions where !version.isDeprecated && !version.sealed.isAbsent && version.sealed.keyId != key.keyId {
                    // Re-wrapping unwraps under the version's current key: the caller must be
                    // allowed to use that key too (another account never its default key).
                    try sealer.checkKeyAccess(version.sealed.keyId, owner: secret.accountId, caller: context.principal.accountId)
                    resealed.append(ResealedValue(
                        versionId: version.versionId,
                        sealed: try sealer.reseal(version.sealed, under: key, arn: secret.arn, versionId: version.versionId)))
                }
            }
            var command = decision
            command.versionId = versionId
            let facts = try Self.run(.updateSecret(secretId: secretId, clientRequestToken: token, description: description,
                                                   kmsKeyId: kmsKeyId, value: value, resealed: resealed), state, command)
            let answer = Self.object([
                ("ARN", .string(secret.arn)), ("Name", .string(secret.name)),
                ("VersionId", value == nil ? nil : .string(versionId)),
            ])
            return (facts, answer)
        }
    }

    func updateSecretVersionStage(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let secretId = Self.string(input, "SecretId") ?? ""
        let stage = Self.string(input, "VersionStage") ?? ""
        let removeFrom = Self.string(input, "RemoveFromVersionId")
        let moveTo = Self.string(input, "MoveToVersionId")
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context)
            let facts = try Self.run(.updateSecretVersionStage(secretId: secretId, versionStage: stage,
                                                               removeFromVersionId: removeFrom, moveToVersionId: moveTo),
                                     state, decision)
            return (facts, Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name))]))
        }
    }

    /// `secretsmanager:KmsKeyArn` for a request's `KmsKeyId`: the key's ARN when the keyring
    /// knows it, the identifier as sent otherwise.
    func kmsKeyArnKey(_ kmsKeyId: String?, account: String, region: String) -> [String: ContextValue] {
        guard let kmsKeyId else { return [:] }
        // "" names the account's default key (UpdateSecret's way back to it).
        let name = kmsKeyId.isEmpty ? "alias/aws/secretsmanager" : kmsKeyId
        let arn = sealer.keyring.key(named: name, account: account)?.arn ?? kmsKeyId
        return ["secretsmanager:KmsKeyArn": .single(arn)]
    }

    // MARK: Reads

    func getSecretValue(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let secretId = Self.string(input, "SecretId") ?? ""
        let versionId = Self.string(input, "VersionId")
        let versionStage = Self.string(input, "VersionStage")
        let found = try readAuthorized(secretId, context) { state, account in
            state.getValue(secretId, versionId: versionId, versionStage: versionStage, accountId: account, region: context.region)
        }
        try sealer.checkKeyAccess(found.version.sealed.keyId, owner: found.secret.accountId, caller: context.principal.accountId)
        let answer = try valueEntry(found.secret, found.version)
        recordAccess(found.secret, found.version, context)
        return answer
    }

    /// GetSecretValue's output (also a BatchGetSecretValue entry).
    func valueEntry(_ secret: Secret, _ version: SecretVersion) throws(AWSError) -> JSONValue {
        let plaintext = try sealer.open(version.sealed, arn: secret.arn, versionId: version.versionId)
        let value: (String, JSONValue) = plaintext.withUnsafeBytes { bytes in
            switch version.sealed.kind {
            case .string: ("SecretString", .string(String(decoding: bytes, as: UTF8.self)))
            case .binary: ("SecretBinary", .string(Data(bytes).base64EncodedString()))
            }
        }
        return Self.object([
            ("ARN", .string(secret.arn)), ("Name", .string(secret.name)), ("VersionId", .string(version.versionId)),
            value, ("VersionStages", Self.stagesJSON(version.stages)),
            ("CreatedDate", Self.timestamp(version.createdDate)),
        ])
    }

    /// LastAccessedDate has day granularity: the first read of a secret on a new day logs the
    /// day (a fact, so every node agrees); later reads that day write nothing. Not waited for.
    func recordAccess(_ secret: Secret, _ version: SecretVersion, _ context: OperationContext) {
        let today = SecretState.day(of: Self.millis(context.now))
        guard secret.lastAccessedDate != today || version.lastAccessedDate != today else { return }
        if storage.noteAccess(arn: secret.arn, versionId: version.versionId, day: today) { return }
        let arn = secret.arn
        let account = secret.accountId
        let versionId = version.versionId
        write(context, done: { _ in }) { state, decision throws(AWSError) in
            var access = decision
            access.accountId = account
            return (try Self.run(.recordAccess(secretId: arn, versionId: versionId), state, access), .object([]))
        }
    }

    func batchGetSecretValue(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let ids = Self.strings(input, "SecretIdList")
        let filters = try Self.filters(input["Filters"])
        if ids != nil && filters != nil { throw AWSError.batchBothIdsAndFilters }
        if ids == nil && filters == nil { throw AWSError.batchNeitherIdsNorFilters }
        // AWS: BatchGetSecretValue itself, ListSecrets when filtering, and GetSecretValue on
        // each secret (a secret the caller may not read is an AccessDeniedException entry).
        try context.authorizeAction("BatchGetSecretValue")
        if filters != nil { try context.authorizeAction("ListSecrets") }
        let account = context.principal.accountId
        var values: [JSONValue] = []
        var errors: [JSONValue] = []
        var nextToken: String?
        func failed(_ secretId: String, _ error: AWSError) {
            errors.append(Self.object([("SecretId", .string(secretId)), ("ErrorCode", .string(error.code.type)),
                                       ("Message", error.message.map { .string($0) })]))
        }
        if let ids {
            if Self.integer(input, "MaxResults") != nil || Self.string(input, "NextToken") != nil {
                throw AWSError.batchPagingWithIds
            }
            for secretId in ids {
                do throws(AWSError) {
                    var single = context
                    single.operation = "GetSecretValue"
                    let found = try readAuthorized(secretId, single) { state, owner in
                        state.getValue(secretId, accountId: owner, region: context.region)
                    }
                    try sealer.checkKeyAccess(found.version.sealed.keyId, owner: found.secret.accountId,
                                              caller: context.principal.accountId)
                    values.append(try valueEntry(found.secret, found.version))
                    recordAccess(found.secret, found.version, context)
                } catch {
                    failed(secretId, error)
                }
            }
        } else {
            let page: Page<Secret>
            let maxResults = Self.integer(input, "MaxResults").map { Int($0) }
            let token = Self.string(input, "NextToken")
            switch storage.read({ $0.listSecrets(accountId: account, filters: filters ?? [], maxResults: maxResults,
                                                 nextToken: token) }) {
            case .success(let listed): page = listed
            case .failure(let error): throw AWSError(error)
            }
            nextToken = page.nextToken
            // Each listed secret is read as GetSecretValue reads it (authorization, then the
            // value): one without an AWSCURRENT version is an entry in Errors with
            // GetSecretValue's answer, not left out without a word.
            for secret in page.items {
                do throws(AWSError) {
                    try context.authorize("GetSecretValue", resource: secret.arn, resourceAccount: secret.accountId, secret: secret)
                    guard let version = secret.version(withStage: StagingLabel.current) else {
                        throw AWSError(SecretStoreError.valueNotFound(stage: StagingLabel.current))
                    }
                    try sealer.checkKeyAccess(version.sealed.keyId, owner: secret.accountId, caller: context.principal.accountId)
                    values.append(try valueEntry(secret, version))
                    recordAccess(secret, version, context)
                } catch {
                    failed(secret.arn, error)
                }
            }
        }
        return Self.object([("SecretValues", .array(values)), ("NextToken", nextToken.map { .string($0) }),
                            ("Errors", .array(errors))])
    }
}

extension AWSError {
    public static let bothValues = AWSError(
        .invalidParameter, "You can't specify both a binary secret value and a string secret value in the same secret.")
    public static let noValue = AWSError(
        .invalidRequest, "You must provide either SecretString or SecretBinary.")
    /// A replica region this cluster has no node for.
    public static func unknownReplicaRegion(_ region: String) -> AWSError {
        AWSError(.invalidParameter, "Invalid replica region: \(region) is not a region of this Strongroom cluster.")
    }
    public static let batchBothIdsAndFilters = AWSError(
        .invalidParameter, "Either 'SecretIdList' or 'Filters' must be provided, but not both.")
    public static let batchNeitherIdsNorFilters = AWSError(
        .invalidParameter, "Either 'SecretIdList' or 'Filters' must be provided.")
    public static let batchPagingWithIds = AWSError(
        .invalidParameter, "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.")
    /// A ListSecrets or BatchGetSecretValue filter without a `Key` (moto's record of AWS's answer).
    public static let invalidFilterKey = AWSError(.invalidParameter, "Invalid filter key")
    /// A filter without `Values` (moto's record of AWS's answer).
    public static func invalidFilterValues(key: String) -> AWSError {
        AWSError(.invalidParameter, "Invalid filter values for key: \(key)")
    }
    /// PutResourcePolicy with BlockPublicPolicy and a broad policy (the text of AWS's guide).
    public static let publicPolicy = AWSError(
        .publicPolicy, "You can't attach a resource-based policy that allows broad access to the secret.")
    public static let tokenRequired = AWSError(
        .invalidRequest, "You must provide a ClientRequestToken value. We recommend a UUID-type value.")
    /// RotateSecret's answer to a missing token: the same message, another type (as AWS).
    public static let rotationTokenRequired = AWSError(
        .invalidParameter, "You must provide a ClientRequestToken value. We recommend a UUID-type value.")
}
