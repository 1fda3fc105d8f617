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
        registerPromoteRegion(in: &table)
    }

    /// `Strongroom.PromoteRegion` (`strongroom dr promote-region`), for the cluster's admins
    /// whose policies allow `strongroom:PromoteRegion`: when region `LostRegion` is lost, every
    /// secret here whose primary is there becomes this region's own, as StopReplicationToReplica
    /// would make each, in one write. `DryRun: true` lists them and changes nothing. Safe to run
    /// twice (the second run finds nothing to promote). Answers `{LostRegion, DryRun, Promoted:
    /// [{ARN, Name}]}`; each promotion is told to the lost region when it returns, which then
    /// drops this region from that secret's ReplicationStatus.
    private func registerPromoteRegion(in table: inout OperationTable) {
        table.registerDeferred("PromoteRegion") { context, input, done in
            let lost: String
            let dryRun: Bool
            do throws(AWSError) {
                try context.authorizeNodeOperation("strongroom:PromoteRegion")
                guard case .object = input else { throw AWSError(.invalidParameter, "The request body must be a JSON object.") }
                guard let region = Self.string(input, "LostRegion"), !region.isEmpty else {
                    throw AWSError(.invalidParameter, "You must provide LostRegion: the region whose secrets this region takes over.")
                }
                guard region != context.region else {
                    throw AWSError(.invalidParameter, "LostRegion must be another region than this node's (\(context.region)).")
                }
                guard replicaRegions.contains(region) else {
                    throw AWSError(.invalidParameter, "LostRegion \(region) is not one of this cluster's regions (\(replicaRegions.sorted().joined(separator: ", "))).")
                }
                if let flag = input["DryRun"], flag != .null {
                    guard case .bool(let value) = flag else { throw AWSError(.invalidParameter, "DryRun must be true or false.") }
                    dryRun = value
                } else {
                    dryRun = false
                }
                lost = region
            } catch {
                return done(.failure(error))
            }
            func answer(_ secrets: [Secret]) -> JSONValue {
                Self.object([
                    ("LostRegion", .string(lost)), ("DryRun", .bool(dryRun)),
                    ("Promoted", .array(secrets.map { Self.object([("ARN", .string($0.arn)), ("Name", .string($0.name))]) })),
                ])
            }
            if dryRun {
                return done(.success(answer(storage.read { $0.promotableReplicas(of: lost) })))
            }
            write(context, done: done) { state, decision throws(AWSError) in
                let promoted = state.promotableReplicas(of: lost)
                return (try Self.run(.promoteReplicas(of: lost), state, decision), answer(promoted))
            }
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
