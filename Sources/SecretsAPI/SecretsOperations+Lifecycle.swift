import JSON
import SecretStore

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
        write(context, done: done) { state, decision throws(AWSError) in
            let facts = try Self.run(.deleteSecret(secretId: secretId, recoveryWindowInDays: window,
                                                   forceDeleteWithoutRecovery: force), state, decision)
            // A forced deletion of a secret that does not exist succeeds with the id as sent.
            let secret = try? Self.find(secretId, in: state, decision)
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
        write(context, done: done) { state, decision throws(AWSError) in
            let secret = try Self.find(secretId, in: state, decision)
            let facts = try Self.run(.restoreSecret(secretId: secretId), state, decision)
            return (facts, Self.object([("ARN", .string(secret.arn)), ("Name", .string(secret.name))]))
        }
    }
}
