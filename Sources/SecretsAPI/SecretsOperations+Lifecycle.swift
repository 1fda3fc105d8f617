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
        let decisionContext: DecisionContext
        do {
            decisionContext = try Self.decisionContext(context)
        } catch {
            return done(.failure(error))
        }
        storage.write({ state in
            do throws(AWSError) {
                let facts = try Self.run(.deleteSecret(secretId: secretId, recoveryWindowInDays: window,
                                                       forceDeleteWithoutRecovery: force), state, decisionContext)
                // A forced deletion of a secret that does not exist succeeds with the id as sent.
                let secret = try? Self.find(secretId, in: state, decisionContext)
                var deletionDate = decisionContext.now
                for case .secretDeleted(_, let date) in facts { deletionDate = date }
                let synthesized = Names.arn(region: decisionContext.region, accountId: decisionContext.accountId,
                                            name: secretId, suffix: decisionContext.arnSuffix)
                let answer = Self.object([
                    ("ARN", .string(secret?.arn ?? synthesized)), ("Name", .string(secret?.name ?? secretId)),
                    ("DeletionDate", Self.timestamp(deletionDate)),
                ])
                return .success(WriteDecision(facts: facts, answer: answer))
            } catch {
                return .failure(error)
            }
        }, completion: done)
    }

    func restoreSecret(_ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion) {
        let secretId = Self.string(input, "SecretId") ?? ""
        let decisionContext: DecisionContext
        do {
            decisionContext = try Self.decisionContext(context)
        } catch {
            return done(.failure(error))
        }
        storage.write({ state in
            do throws(AWSError) {
                let secret = try Self.find(secretId, in: state, decisionContext)
                let facts = try Self.run(.restoreSecret(secretId: secretId), state, decisionContext)
                return .success(WriteDecision(facts: facts, answer: Self.object([("ARN", .string(secret.arn)),
                                                                                  ("Name", .string(secret.name))])))
            } catch {
                return .failure(error)
            }
        }, completion: done)
    }
}
