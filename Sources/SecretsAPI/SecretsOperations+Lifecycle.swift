import JSON
import SecretStore
import AWSProtocol

/// DeleteSecret and RestoreSecret.
extension SecretsOperations {
    func registerLifecycle(in table: inout OperationTable) {
        table.registerDeferred("DeleteSecret") { context, input, done in deleteSecret(context, input, done) }
        table.registerDeferred("RestoreSecret") { context, input, done in restoreSecret(context, input, done) }
    }

    func deleteSecret(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let secretId = Self.string(input, "SecretId") ?? ""
        let window = Self.integer(input, "RecoveryWindowInDays")
        let force = Self.bool(input, "ForceDeleteWithoutRecovery") ?? false
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            // A forced deletion of a secret that does not exist succeeds with the id as sent,
            // so authorization cannot wait for the lookup to succeed.
            let secret = try? state.lookup(secretId, accountId: decision.accountId, region: decision.region).get()
            try Self.authorize("DeleteSecret", secretId, found: secret, context)
            let facts = try Self.run(.deleteSecret(secretId: secretId, recoveryWindowInDays: window,
                                                   forceDeleteWithoutRecovery: force), state, decision)
            var deletionDate = decision.now
            for case .secretDeleted(_, let date) in facts { deletionDate = date }
            let synthesized = Names.arn(region: decision.region, accountId: decision.accountId, name: secretId,
                                        suffix: decision.arnSuffix)
            let answer = Self.object([
                ("ARN", .string(secret?.arn ?? synthesized)), ("Name", .string(secret?.name ?? secretId)),
                ("DeletionDate", Self.timestamp(deletionDate)),
            ])
            return (facts, answer)
        }
    }

    func restoreSecret(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let secretId = Self.string(input, "SecretId") ?? ""
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context)
            let facts = try Self.run(.restoreSecret(secretId: secretId), state, decision)
            return (facts, Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name))]))
        }
    }
}
