import JSON
import Cryptography
import Foundation
import Policy
import SecretStore
import Synchronization
import AWSProtocol

/// DescribeSecret, ListSecrets, ListSecretVersionIds, TagResource, UntagResource, the
/// resource-policy operations, RotateSecret and CancelRotateSecret (metadata only).
extension SecretsOperations {
    func registerMetadata(in table: inout OperationTable) {
        table.register("DescribeSecret") { context, input throws(AWSError) in try describeSecret(context, input) }
        table.register("ListSecrets") { context, input throws(AWSError) in try listSecrets(context, input) }
        table.register("ListSecretVersionIds") { context, input throws(AWSError) in try listSecretVersionIds(context, input) }
        table.register("GetResourcePolicy") { context, input throws(AWSError) in try getResourcePolicy(context, input) }
        table.register("ValidateResourcePolicy") { context, input throws(AWSError) in try validateResourcePolicy(context, input) }
        table.registerDeferred("TagResource") { context, input, done in
            simpleWrite(context, input, done, answersNothing: true) { .tagResource(secretId: $0.arn, tags: Self.tags(input["Tags"])) }
        }
        table.registerDeferred("UntagResource") { context, input, done in
            simpleWrite(context, input, done, answersNothing: true) { .untagResource(secretId: $0.arn, tagKeys: Self.strings(input, "TagKeys") ?? []) }
        }
        table.registerDeferred("PutResourcePolicy") { context, input, done in
            let policy = Self.string(input, "ResourcePolicy") ?? ""
            // BlockPublicPolicy (default false, as in AWS) refuses broad grants.
            let block = Self.bool(input, "BlockPublicPolicy") ?? false
            simpleWrite(context, input, done) { secret throws(AWSError) in
                let document: PolicyDocument
                do throws(PolicyParseError) {
                    document = try PolicyDocument.parse(policy, kind: .resource)
                } catch {
                    throw AWSError(.malformedPolicyDocument, error.message)
                }
                if block, !Self.broadAccess(document, owner: secret.accountId, context).isEmpty {
                    throw AWSError.publicPolicy
                }
                return .putResourcePolicy(secretId: secret.arn, policy: policy)
            }
        }
        table.registerDeferred("DeleteResourcePolicy") { context, input, done in
            simpleWrite(context, input, done) { .deleteResourcePolicy(secretId: $0.arn) }
        }
        table.registerDeferred("RotateSecret") { context, input, done in rotateSecret(context, input, done) }
        table.registerDeferred("CancelRotateSecret") { context, input, done in
            simpleWrite(context, input, done) { .cancelRotateSecret(secretId: $0.arn) }
        }
    }

    /// RotateSecret: the configuration and (RotateImmediately, the default) the rotation's
    /// AWSPENDING version without a value, made durable; then the node's rotation runner is
    /// asked to run the function, as AWS invokes the Lambda after answering.
    private func rotateSecret(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        // Checked before the secret is looked for (AWS's order; SDKs always fill it in).
        guard let token = Self.string(input, "ClientRequestToken") else { return done(.failure(AWSError.rotationTokenRequired)) }
        let rules: RotationRules? = input["RotationRules"].map { rules in
            RotationRules(automaticallyAfterDays: Self.integer(rules, "AutomaticallyAfterDays"),
                          scheduleExpression: Self.string(rules, "ScheduleExpression"),
                          duration: Self.string(rules, "Duration"))
        }
        let lambdaARN = Self.string(input, "RotationLambdaARN")
        let immediately = Self.bool(input, "RotateImmediately") ?? true
        let secretId = Self.string(input, "SecretId") ?? ""
        let hooks = rotation
        let arnFound = Mutex<String?>(nil)
        let finished: OperationCompletion = { result in
            done(result)
            guard let arn = arnFound.withLock({ $0 }) else { return }
            switch result {
            case .success:
                hooks.requested(RotationHooks.Request(secretARN: arn, token: token, kind: immediately ? .rotate : .test))
            case .failure(let error) where error == AWSError(SecretStoreError.rotationInProgress):
                hooks.requested(RotationHooks.Request(secretARN: arn, token: token, kind: .resume))
            case .failure:
                break
            }
        }
        write(context, account: Self.account(of: secretId, context), done: finished) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context)
            arnFound.withLock { $0 = secret.arn }
            let command = Command.rotateSecret(secretId: secret.arn, rotationLambdaARN: lambdaARN, rules: rules, token: token,
                                               rotateImmediately: immediately, minimumIntervalMillis: hooks.minimumIntervalMillis)
            let facts = try Self.run(command, state, decision)
            // AWS: a function it cannot invoke is refused and rotation stays as it was.
            if let function = lambdaARN ?? secret.rotation.lambdaARN, !hooks.canInvoke(function) {
                throw AWSError(.accessDenied, RotationHooks.cannotInvoke)
            }
            return (facts, Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name)), ("VersionId", .string(token))]))
        }
    }

    /// A write on one existing secret whose answer is `{ARN, Name}`, or `{}` with
    /// `answersNothing` (TagResource and UntagResource, as AWS). The operation is authorized on
    /// the secret before `command` is asked for the command on it.
    private func simpleWrite(
        _ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion, answersNothing: Bool = false,
        _ command: @escaping @Sendable (Secret) throws(AWSError) -> Command
    ) {
        let secretId = Self.string(input, "SecretId") ?? ""
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context)
            let facts = try Self.run(try command(secret), state, decision)
            let answer: JSONValue = answersNothing
                ? .object([])
                : Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name))])
            return (facts, answer)
        }
    }

    private func lookup(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> Secret {
        let secretId = Self.string(input, "SecretId") ?? ""
        return try readAuthorized(secretId, context) { state, account in
            state.describe(secretId, accountId: account, region: context.region)
        }
    }

    func describeSecret(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        Self.describe(try lookup(context, input), listing: false, region: context.region)
    }

    /// DescribeSecret's output, or (with `listing`) a ListSecrets entry, whose version map is
    /// called `SecretVersionsToStages`. Members that do not apply are omitted, as AWS does.
    /// `region` is this node's: the primary region of a replicated secret owned here.
    static func describe(_ secret: Secret, listing: Bool, region: String) -> JSONValue {
        let rotation = secret.rotation
        let stages = JSONValue.object(secret.versionIdsToStages.map { entry in
            (key: entry.versionId, value: stagesJSON(entry.stages))
        })
        let rules: JSONValue? = rotation.rules.map { rules in
            // AWS: AutomaticallyAfterDays "is calculated from the rotation schedule after every
            // successful rotation" in DescribeSecret and ListSecrets: for `rate(N days)`, N.
            var days = rules.automaticallyAfterDays
            if days == nil, rotation.lastRotatedDate != nil, case .days(let n)? = rules.storedSchedule?.kind {
                days = n
            }
            return object([("AutomaticallyAfterDays", days.map { .number(String($0)) }),
                    ("Duration", rules.duration.map { .string($0) }),
                    ("ScheduleExpression", rules.scheduleExpression.map { .string($0) })])
        }
        let configured = rotation.lambdaARN != nil
        return object([
            ("ARN", .string(secret.arn)), ("Name", .string(secret.name)),
            ("Description", secret.description.flatMap { $0.isEmpty ? nil : .string($0) }),
            ("KmsKeyId", secret.kmsKeyId.map { .string($0) }),
            ("RotationEnabled", configured || rotation.enabled ? .bool(rotation.enabled) : nil),
            ("RotationLambdaARN", rotation.lambdaARN.map { .string($0) }),
            ("RotationRules", rules),
            ("LastRotatedDate", rotation.lastRotatedDate.map(timestamp)),
            ("LastChangedDate", timestamp(secret.lastChangedDate)),
            ("LastAccessedDate", secret.lastAccessedDate.map(timestamp)),
            ("DeletedDate", secret.deletedDate.map(timestamp)),
            ("NextRotationDate", rotation.enabled ? rotation.nextRotationDate.map(timestamp) : nil),
            // Once tagged, always listed (empty after every tag is removed), as AWS does.
            ("Tags", secret.tags.isEmpty && !secret.everTagged ? nil : tagsJSON(secret.tags)),
            (listing ? "SecretVersionsToStages" : "VersionIdsToStages", secret.versions.isEmpty ? nil : stages),
            ("CreatedDate", timestamp(secret.createdDate)),
            ("PrimaryRegion", secret.primaryRegion.map { .string($0) } ?? (secret.replicas.isEmpty ? nil : .string(region))),
            // A ListSecrets entry has no ReplicationStatus in AWS's model.
            ("ReplicationStatus", listing || secret.replicas.isEmpty ? nil : replicationStatusJSON(secret.replicas)),
        ])
    }

    /// `ReplicationStatus` entries as AWS lists them (the default key named by its alias).
    static func replicationStatusJSON(_ replicas: [ReplicaStatus]) -> JSONValue {
        .array(replicas.map { replica in
            object([("Region", .string(replica.region)),
                    ("KmsKeyId", .string(replica.kmsKeyId ?? Keyring.defaultAlias)),
                    ("Status", .string(replica.state.name)),
                    ("StatusMessage", replica.message.map { .string($0) }),
                    // The replica region's own last read (a day), omitted until it reports one.
                    ("LastAccessedDate", replica.lastAccessedDate.map(Self.timestamp))])
        })
    }

    /// ListSecrets' and BatchGetSecretValue's `Filters`: nil when absent. The model has
    /// already refused an unknown key, an empty `Values` list and a value outside the pattern
    /// (ValidationException); neither member is required by the model, and a filter without one
    /// is refused here, as AWS refuses it (InvalidParameterException, with the messages moto
    /// records for AWS: "Invalid filter key", "Invalid filter values for key: KEY").
    static func filters(_ value: JSONValue?) throws(AWSError) -> [ListSecretsFilter]? {
        guard case .array(let items)? = value else { return nil }
        var filters: [ListSecretsFilter] = []
        for item in items {
            guard let keyName = item["Key"]?.stringValue, let key = ListSecretsFilterKey(rawValue: keyName) else {
                throw AWSError.invalidFilterKey
            }
            guard case .array(let list)? = item["Values"] else { throw AWSError.invalidFilterValues(key: keyName) }
            filters.append(ListSecretsFilter(key: key, values: list.compactMap(\.stringValue)))
        }
        return filters
    }

    func listSecrets(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let sortBy = Self.string(input, "SortBy").flatMap(ListSecretsSortBy.init(rawValue:)) ?? .createdDate
        let order = Self.string(input, "SortOrder").flatMap(SortOrder.init(rawValue:)) ?? .asc
        let filters = try Self.filters(input["Filters"]) ?? []
        let planned = Self.bool(input, "IncludePlannedDeletion") ?? false
        let maxResults = Self.integer(input, "MaxResults").map { Int($0) }
        let token = Self.string(input, "NextToken")
        // ListSecrets has no resource type: IAM authorizes it on `*`, and its answer is every
        // secret of the caller's account, as AWS's is.
        try context.authorizeAction("ListSecrets")
        switch storage.read({ $0.listSecrets(accountId: context.principal.accountId, filters: filters,
                                             includePlannedDeletion: planned, sortBy: sortBy, sortOrder: order,
                                             maxResults: maxResults, nextToken: token) }) {
        case .success(let page):
            return Self.object([
                ("SecretList", .array(page.items.map { Self.describe($0, listing: true, region: context.region) })),
                ("NextToken", page.nextToken.map { .string($0) }),
            ])
        case .failure(let error):
            throw AWSError(error)
        }
    }

    func listSecretVersionIds(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let secretId = Self.string(input, "SecretId") ?? ""
        let deprecated = Self.bool(input, "IncludeDeprecated") ?? false
        let maxResults = Self.integer(input, "MaxResults").map { Int($0) }
        let token = Self.string(input, "NextToken")
        let (secret, page) = try readAuthorized(secretId, context) { state, account in
            state.listVersionIds(secretId, includeDeprecated: deprecated, maxResults: maxResults, nextToken: token,
                                 accountId: account, region: context.region)
        }
        do {
            let versions = page.items.map { version in
                Self.object([
                    ("VersionId", .string(version.versionId)),
                    // A deprecated version is listed without the member, as AWS lists it.
                    ("VersionStages", version.stages.isEmpty ? nil : Self.stagesJSON(version.stages)),
                    // The version's own last read (a day), as AWS lists it; none before the first.
                    ("LastAccessedDate", version.lastAccessedDate.map(Self.timestamp)),
                    ("CreatedDate", Self.timestamp(version.createdDate)),
                    // A rotation's version without a value yet is sealed under no key.
                    ("KmsKeyIds", version.sealed.isAbsent ? nil
                        : .array([.string(sealer.isDefaultKey(version.sealed.keyId, account: secret.accountId)
                                          ? "DefaultEncryptionKey" : sealer.keyARN(version.sealed.keyId))])),
                ])
            }
            return Self.object([("Versions", .array(versions)), ("NextToken", page.nextToken.map { .string($0) }),
                                ("ARN", .string(secret.arn)), ("Name", .string(secret.name))])
        }
    }

    func getResourcePolicy(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let secret = try lookup(context, input)
        if secret.isScheduledForDeletion { throw AWSError(.markedForDeletion) }
        return Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name)),
                            ("ResourcePolicy", secret.resourcePolicy.map { .string($0) })])
    }

    /// AWS's three checks (API reference): the syntax (`SYNTAX_CHECK`); whether the policy
    /// grants broad access (`BROAD_ACCESS_CHECK`: a wildcard principal not pinned by a
    /// condition, or a principal outside the owner's organization), as BlockPublicPolicy would
    /// refuse it; and whether it locks the caller out (`LOCKOUT_CHECK`: it explicitly denies
    /// the caller PutResourcePolicy or DeleteResourcePolicy on the secret; see
    /// `PolicyLockout`). The check names and the lockout message are Strongroom's: AWS
    /// documents neither. With a `SecretId`, the operation is authorized on that secret, its
    /// account is the owner and the lockout is judged on it; without, on `*`, the caller's
    /// account, and a secret of that account that no statement names by ARN.
    func validateResourcePolicy(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let policy = Self.string(input, "ResourcePolicy") ?? ""
        var owner = context.principal.accountId
        var secret: Secret?
        if let secretId = Self.string(input, "SecretId") {
            let found = try readAuthorized(secretId, context) { state, account in
                state.describe(secretId, accountId: account, region: context.region)
            }
            owner = found.accountId
            secret = found
        } else {
            try context.authorizeAction("ValidateResourcePolicy")
        }
        var errors: [(check: String, message: String)] = []
        do {
            let document = try PolicyDocument.parse(policy, kind: .resource)
            errors = Self.broadAccess(document, owner: owner, context).map { ("BROAD_ACCESS_CHECK", $0) }
            let resource = secret?.arn ?? "arn:aws:secretsmanager:\(context.region):\(owner):secret:*"
            let request = context.authorizer.requestContext(context, action: "PutResourcePolicy", resource: resource,
                                                            secret: secret)
            let denied = PolicyLockout.deniedActions(by: document, to: request)
            if !denied.isEmpty {
                errors.append(("LOCKOUT_CHECK", Self.lockoutMessage(denied)))
            }
        } catch {
            errors = [("SYNTAX_CHECK", error.message)]
        }
        return .object([
            (key: "PolicyValidationPassed", value: .bool(errors.isEmpty)),
            (key: "ValidationErrors", value: .array(errors.map { error in
                .object([(key: "CheckName", value: .string(error.check)), (key: "ErrorMessage", value: .string(error.message))])
            })),
        ])
    }

    /// The lockout finding (Strongroom's wording; AWS documents none).
    static func lockoutMessage(_ denied: [String]) -> String {
        "This resource policy will not allow you to manage this secret's resource policy in the future: "
            + "it explicitly denies you \(denied.joined(separator: " and "))."
    }

    /// What makes `document` a public policy for a secret of `owner`.
    static func broadAccess(_ document: PolicyDocument, owner: String, _ context: OperationContext) -> [String] {
        let identities = context.identities
        return PublicAccess.findings(in: document, ownerAccountId: owner) { identities.organizationId(ofAccount: $0) }
    }
}
