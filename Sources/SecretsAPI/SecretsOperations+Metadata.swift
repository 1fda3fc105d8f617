import JSON
import Foundation
import SecretStore

/// DescribeSecret, ListSecrets, ListSecretVersionIds, TagResource, UntagResource, the
/// resource-policy operations, RotateSecret and CancelRotateSecret (metadata only).
extension SecretsOperations {
    func registerMetadata(in table: inout OperationTable) {
        table.register("DescribeSecret") { context, input throws(AWSError) in try describeSecret(context, input) }
        table.register("ListSecrets") { context, input throws(AWSError) in try listSecrets(context, input) }
        table.register("ListSecretVersionIds") { context, input throws(AWSError) in try listSecretVersionIds(context, input) }
        table.register("GetResourcePolicy") { context, input throws(AWSError) in try getResourcePolicy(context, input) }
        table.register("ValidateResourcePolicy") { _, input throws(AWSError) in try validateResourcePolicy(input) }
        table.registerDeferred("TagResource") { context, input, done in
            simpleWrite(context, input, done, answersNothing: true) { .tagResource(secretId: $0, tags: Self.tags(input["Tags"])) }
        }
        table.registerDeferred("UntagResource") { context, input, done in
            simpleWrite(context, input, done, answersNothing: true) { .untagResource(secretId: $0, tagKeys: Self.strings(input, "TagKeys") ?? []) }
        }
        table.registerDeferred("PutResourcePolicy") { context, input, done in
            let policy = Self.string(input, "ResourcePolicy") ?? ""
            if let problem = PolicySyntax.problem(in: policy) {
                return done(.failure(AWSError(.malformedPolicyDocument, problem)))
            }
            simpleWrite(context, input, done) { .putResourcePolicy(secretId: $0, policy: policy) }
        }
        table.registerDeferred("DeleteResourcePolicy") { context, input, done in
            simpleWrite(context, input, done) { .deleteResourcePolicy(secretId: $0) }
        }
        table.registerDeferred("RotateSecret") { context, input, done in
            let rules: RotationRules? = input["RotationRules"].map { rules in
                RotationRules(automaticallyAfterDays: Self.integer(rules, "AutomaticallyAfterDays"),
                              scheduleExpression: Self.string(rules, "ScheduleExpression"),
                              duration: Self.string(rules, "Duration"))
            }
            simpleWrite(context, input, done) {
                .rotateSecret(secretId: $0, rotationLambdaARN: Self.string(input, "RotationLambdaARN"), rules: rules)
            }
        }
        table.registerDeferred("CancelRotateSecret") { context, input, done in
            simpleWrite(context, input, done) { .cancelRotateSecret(secretId: $0) }
        }
    }

    /// A write on one existing secret whose answer is `{ARN, Name}`, or `{}` with
    /// `answersNothing` (TagResource and UntagResource, as AWS).
    private func simpleWrite(
        _ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion, answersNothing: Bool = false,
        _ command: @escaping @Sendable (String) -> Command
    ) {
        let secretId = Self.string(input, "SecretId") ?? ""
        write(context, done: done) { state, decision throws(AWSError) in
            let secret = try Self.find(secretId, in: state, decision)
            let facts = try Self.run(command(secretId), state, decision)
            let answer: JSONValue = answersNothing
                ? .object([])
                : Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name))])
            return (facts, answer)
        }
    }

    private func lookup(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> Secret {
        let secretId = Self.string(input, "SecretId") ?? ""
        switch storage.read({ $0.describe(secretId, accountId: context.principal.accountId, region: context.region) }) {
        case .success(let secret): return secret
        case .failure(let error): throw AWSError(error)
        }
    }

    func describeSecret(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        Self.describe(try lookup(context, input), listing: false)
    }

    /// DescribeSecret's output, or (with `listing`) a ListSecrets entry, whose version map is
    /// called `SecretVersionsToStages`. Members that do not apply are omitted, as AWS does.
    static func describe(_ secret: Secret, listing: Bool) -> JSONValue {
        let rotation = secret.rotation
        let stages = JSONValue.object(secret.versionIdsToStages.map { entry in
            (key: entry.versionId, value: stagesJSON(entry.stages))
        })
        let rules: JSONValue? = rotation.rules.map { rules in
            object([("AutomaticallyAfterDays", rules.automaticallyAfterDays.map { .number(String($0)) }),
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
            ("Tags", secret.tags.isEmpty ? nil : tagsJSON(secret.tags)),
            (listing ? "SecretVersionsToStages" : "VersionIdsToStages", secret.versions.isEmpty ? nil : stages),
            ("CreatedDate", timestamp(secret.createdDate)),
        ])
    }

    /// ListSecrets' `Filters`: nil when absent.
    static func filters(_ value: JSONValue?) throws(AWSError) -> [ListSecretsFilter]? {
        guard case .array(let items)? = value else { return nil }
        var filters: [ListSecretsFilter] = []
        for item in items {
            let keyName = item["Key"]?.stringValue ?? ""
            guard let key = ListSecretsFilterKey(rawValue: keyName) else {
                throw AWSError(.validation,
                               "1 validation error detected: Value '\(keyName)' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [all, name, tag-key, description, tag-value, primary-region, owning-service]")
            }
            var values: [String] = []
            if case .array(let list)? = item["Values"] { values = list.compactMap(\.stringValue) }
            filters.append(ListSecretsFilter(key: key, values: values))
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
        switch storage.read({ $0.listSecrets(accountId: context.principal.accountId, filters: filters,
                                             includePlannedDeletion: planned, sortBy: sortBy, sortOrder: order,
                                             maxResults: maxResults, nextToken: token) }) {
        case .success(let page):
            return Self.object([
                ("SecretList", .array(page.items.map { Self.describe($0, listing: true) })),
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
        switch storage.read({ $0.listVersionIds(secretId, includeDeprecated: deprecated, maxResults: maxResults,
                                                nextToken: token, accountId: context.principal.accountId,
                                                region: context.region) }) {
        case .success(let (secret, page)):
            let versions = page.items.map { version in
                Self.object([
                    ("VersionId", .string(version.versionId)),
                    // A deprecated version is listed without the member, as AWS lists it.
                    ("VersionStages", version.stages.isEmpty ? nil : Self.stagesJSON(version.stages)),
                    ("LastAccessedDate", secret.lastAccessedDate.map(Self.timestamp)),
                    ("CreatedDate", Self.timestamp(version.createdDate)),
                    ("KmsKeyIds", .array([.string(sealer.isDefaultKey(version.sealed.keyId, account: secret.accountId)
                                                  ? "DefaultEncryptionKey" : sealer.keyARN(version.sealed.keyId))])),
                ])
            }
            return Self.object([("Versions", .array(versions)), ("NextToken", page.nextToken.map { .string($0) }),
                                ("ARN", .string(secret.arn)), ("Name", .string(secret.name))])
        case .failure(let error):
            throw AWSError(error)
        }
    }

    func getResourcePolicy(_ context: OperationContext, _ input: JSONValue) throws(AWSError) -> JSONValue {
        let secret = try lookup(context, input)
        if secret.isScheduledForDeletion { throw AWSError(.markedForDeletion) }
        return Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name)),
                            ("ResourcePolicy", secret.resourcePolicy.map { .string($0) })])
    }

    /// Syntax only: evaluating what the policy grants is the authorization issue's.
    func validateResourcePolicy(_ input: JSONValue) throws(AWSError) -> JSONValue {
        let policy = Self.string(input, "ResourcePolicy") ?? ""
        guard let problem = PolicySyntax.problem(in: policy) else {
            return .object([(key: "PolicyValidationPassed", value: .bool(true)), (key: "ValidationErrors", value: .array([]))])
        }
        return .object([
            (key: "PolicyValidationPassed", value: .bool(false)),
            (key: "ValidationErrors", value: .array([
                .object([(key: "CheckName", value: .string("SYNTAX_CHECK")), (key: "ErrorMessage", value: .string(problem))]),
            ])),
        ])
    }
}
