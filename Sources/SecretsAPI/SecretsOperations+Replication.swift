import JSON
import SecretStore
import AWSProtocol

/// ReplicateSecretToRegions, RemoveRegionsFromReplication and StopReplicationToReplica. The
/// copies themselves travel with the region log (see `SecretState+Replication.swift`).
extension SecretsOperations {
    func registerReplication(in table: inout OperationTable) {
        table.registerDeferred("ReplicateSecretToRegions") { context, input, done in
            let replicas = Self.replicaRegions(input)
            let force = Self.bool(input, "ForceOverwriteReplicaSecret") ?? false
            replicationWrite(context, input, done) { secret throws(AWSError) in
                try checkReplicaRegions(replicas, context)
                return .replicateSecretToRegions(secretId: secret.arn, replicas: replicas, forceOverwrite: force)
            } answer: { secret, facts in
                // The regions asked for, as they now stand.
                let requested = Set(replicas.map(\.region))
                var statuses = secret.replicas
                for case .replicationSet(_, let list) in facts { statuses = list }
                return [("ReplicationStatus", Self.replicationStatusJSON(statuses.filter { requested.contains($0.region) }))]
            }
        }
        table.registerDeferred("RemoveRegionsFromReplication") { context, input, done in
            let regions = Self.strings(input, "RemoveReplicaRegions") ?? []
            replicationWrite(context, input, done) { secret throws(AWSError) in
                .removeRegionsFromReplication(secretId: secret.arn, regions: regions)
            } answer: { secret, facts in
                var statuses = secret.replicas
                for case .replicationSet(_, let list) in facts { statuses = list }
                return [("ReplicationStatus", Self.replicationStatusJSON(statuses))]
            }
        }
        table.registerDeferred("StopReplicationToReplica") { context, input, done in
            replicationWrite(context, input, done) { secret throws(AWSError) in
                .stopReplicationToReplica(secretId: secret.arn)
            } answer: { _, _ in [] }
        }
    }

    /// A replication write on one secret: authorized on it, answered `{ARN, …}`.
    private func replicationWrite(
        _ context: OperationContext, _ input: JSONValue, _ done: @escaping OperationCompletion,
        _ command: @escaping @Sendable (Secret) throws(AWSError) -> Command,
        answer: @escaping @Sendable (Secret, [Fact]) -> [(String, JSONValue?)]
    ) {
        let secretId = Self.string(input, "SecretId") ?? ""
        write(context, account: Self.account(of: secretId, context), done: done) { state, decision throws(AWSError) in
            let secret = try Self.authorizedSecret(secretId, in: state, context)
            let facts = try Self.run(try command(secret), state, decision)
            return (facts, Self.object([("ARN", .string(secret.arn))] + answer(secret, facts)))
        }
    }

    /// `AddReplicaRegions` as the model validated it.
    static func replicaRegions(_ input: JSONValue) -> [ReplicaRegion] {
        guard case .array(let items)? = input["AddReplicaRegions"] else { return [] }
        return items.map { ReplicaRegion(region: $0["Region"]?.stringValue ?? "", kmsKeyId: $0["KmsKeyId"]?.stringValue) }
    }

    /// Each region must be one of the cluster's (a region without a node would stay InProgress
    /// for ever); the node's own region is the core's "Invalid replica region.".
    func checkReplicaRegions(_ replicas: [ReplicaRegion], _ context: OperationContext) throws(AWSError) {
        for replica in replicas where replica.region != context.region && !replicaRegions.contains(replica.region) {
            throw AWSError.unknownReplicaRegion(replica.region)
        }
    }
}
