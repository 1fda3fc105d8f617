import SecretStore
@_spi(Simulation) import LogShipping

/// API operations at random regions: creates with replica regions, puts with unique values
/// and a ClientRequestToken each, label moves, replication changes, StopReplicationToReplica in
/// a replica region, deletes and restores, policies and tags. Each goes through the node's
/// `decide` against its pending state, as the API does.
struct Workload {
    let regions: [String]
    let account = "111122223333"
    var operations = 0
    /// Names in use (a small pool, so that operations meet the same secrets and names clash).
    let names = (0..<12).map { "app/secret-\($0)" }

    init(regions: [String]) { self.regions = regions }

    mutating func operate(_ world: World) {
        operations += 1
        let operation = operations
        let nodeIndex = Int(world.draw(UInt64(regions.count)))
        let node = world.nodes[nodeIndex]
        guard node.isUp else { return }
        let name = names[Int(world.draw(UInt64(names.count)))]
        let others = regions.filter { $0 != node.region }
        let state = node.pending
        let secret = state.arn(name: name, accountId: account).flatMap { state.secrets[$0] }
        let token = Self.token(world.options.seed, operation)
        let command: Command
        switch world.draw(26) {
        case 0, 1:
            let chosen = others.filter { _ in world.chance(50) }.map { ReplicaRegion(region: $0, kmsKeyId: nil) }
            command = .createSecret(name: name, clientRequestToken: token, description: "d\(operation)", kmsKeyId: nil,
                                    value: Self.value(operation), tags: [], replicas: chosen)
        case 2, 3, 4, 5, 6:
            command = .putSecretValue(secretId: name, clientRequestToken: token, value: Self.value(operation),
                                      versionStages: world.chance(20) ? ["custom"] : nil)
        case 7, 8:
            let ids = secret?.versions.map(\.versionId) ?? []
            let target = ids.isEmpty ? "none" : ids[Int(world.draw(UInt64(ids.count)))]
            if world.chance(50), let current = secret?.version(withStage: "AWSCURRENT") {
                command = .updateSecretVersionStage(secretId: name, versionStage: "AWSCURRENT", removeFromVersionId: current.versionId,
                                                    moveToVersionId: target)
            } else {
                command = .updateSecretVersionStage(secretId: name, versionStage: "blue", removeFromVersionId: secret?.version(withStage: "blue")?.versionId,
                                                    moveToVersionId: target)
            }
        case 9:
            command = .tagResource(secretId: name, tags: [SecretTag(key: "k\(world.draw(3))", value: "\(operation)")])
        case 10:
            command = .untagResource(secretId: name, tagKeys: ["k\(world.draw(3))"])
        case 11:
            command = world.chance(70) ? .putResourcePolicy(secretId: name, policy: "{\"Id\":\"p\(operation)\"}")
                : .deleteResourcePolicy(secretId: name)
        case 12, 13:
            guard let region = others.randomElement(using: &world.random) else { return }
            command = .replicateSecretToRegions(secretId: name, replicas: [ReplicaRegion(region: region, kmsKeyId: nil)],
                                                forceOverwrite: world.chance(20))
        case 14, 20, 21:
            // A region this secret is replicated to, when it has one.
            let replicated = secret?.replicas.map(\.region) ?? []
            guard let region = (replicated.isEmpty ? others : replicated).randomElement(using: &world.random) else { return }
            command = .removeRegionsFromReplication(secretId: name, regions: [region])
        case 15 where world.chance(15):
            // Region-level DR (`strongroom dr promote-region`): every copy of one region's secrets.
            guard let lost = others.randomElement(using: &world.random) else { return }
            command = .promoteReplicas(of: lost)
        case 15:
            // The DR drill's step, in a region holding a replica (through the front or not).
            guard let replica = node.pending.secrets.values.filter(\.isReplica).sorted(by: { $0.arn < $1.arn })
                .randomElement(using: &world.random) else { return }
            command = .stopReplicationToReplica(secretId: replica.arn)
        case 16:
            command = .deleteSecret(secretId: name, recoveryWindowInDays: 7, forceDeleteWithoutRecovery: false)
        case 17:
            command = .restoreSecret(secretId: name)
        case 22:
            // RotateSecret: the rotation's version, AWSPENDING without a value.
            command = .rotateSecret(secretId: name, rotationLambdaARN: Self.lambda,
                                    rules: world.chance(50) ? RotationRules(scheduleExpression: "rate(10 days)") : nil,
                                    token: token, rotateImmediately: world.chance(80))
        case 23:
            // The function's createSecret: the value for the pending version's token (or a
            // scheduled rotation's start when none is in progress).
            if let pending = secret.flatMap(SecretState.rotationInProgress) {
                command = .putSecretValue(secretId: name, clientRequestToken: pending.versionId, value: Self.value(operation),
                                          versionStages: ["AWSPENDING"])
            } else {
                command = .startRotation(secretId: name, token: token)
            }
        case 24, 25:
            // finishSecret's move, then the runner's record of the finished rotation.
            if let pending = secret.flatMap(SecretState.rotationInProgress), !pending.sealed.isAbsent,
               let current = secret?.version(withStage: "AWSCURRENT") {
                command = .updateSecretVersionStage(secretId: name, versionStage: "AWSCURRENT", removeFromVersionId: current.versionId,
                                                    moveToVersionId: pending.versionId)
            } else if let current = secret?.version(withStage: "AWSCURRENT") {
                command = .finishRotation(secretId: name, token: current.versionId)
            } else {
                command = .cancelRotateSecret(secretId: name)
            }
        case 18:
            command = .updateSecret(secretId: name, clientRequestToken: token, description: "u\(operation)", kmsKeyId: nil,
                                    value: world.chance(50) ? Self.value(operation) : nil)
        default:
            command = .deleteSecret(secretId: name, recoveryWindowInDays: nil, forceDeleteWithoutRecovery: world.chance(30))
        }
        let context = DecisionContext(now: World.startMillis + world.now, region: node.region, accountId: account,
                                      arnSuffix: Self.suffix(world.random.next()), versionId: Self.token(world.options.seed &+ 1, operation))
        switch state.decide(command, context: context) {
        case .failure:
            world.note("op \(operation) at \(node.region): \(Self.describe(command)) refused")
        case .success(let facts):
            world.statistics.clientWrites += 1
            world.note("op \(operation) at \(node.region): \(Self.describe(command)) → \(facts.map(\.kindName).joined(separator: ","))")
            if world.submit(node, facts: facts, completion: .client(operation)),
               world.faults.contains(.acknowledgeBeforeDurable) {
                // The broken variant: the answer leaves before the record is durable.
                world.checker.acknowledged(operation, at: node, world: world, lsn: node.committedLSN + UInt64(node.queued.filter(\.appended).count))
            }
        }
    }

    /// The command's name and its secret, for the trace.
    static func describe(_ command: Command) -> String {
        let name = Mirror(reflecting: command).children.first?.label ?? "\(command)"
        switch command {
        case .createSecret(let secret, _, _, _, _, _, let replicas, _):
            return "\(name) \(secret) [\(replicas.map(\.region).joined(separator: ","))]"
        case .replicateSecretToRegions(let secret, let replicas, let force):
            return "\(name) \(secret) [\(replicas.map(\.region).joined(separator: ","))]\(force ? " forced" : "")"
        case .removeRegionsFromReplication(let secret, let regions):
            return "\(name) \(secret) [\(regions.joined(separator: ","))]"
        case .promoteReplicas(let lost):
            return "\(name) \(lost)"
        case .putSecretValue(let secret, _, _, _), .updateSecret(let secret, _, _, _, _, _), .updateSecretVersionStage(let secret, _, _, _),
             .deleteSecret(let secret, _, _), .restoreSecret(let secret), .tagResource(let secret, _), .untagResource(let secret, _),
             .putResourcePolicy(let secret, _), .deleteResourcePolicy(let secret), .stopReplicationToReplica(let secret):
            return "\(name) \(secret)"
        default:
            return name
        }
    }

    static let lambda = "arn:aws:lambda:us-east-1:111122223333:function:rotate"

    static func value(_ operation: Int) -> NewValue {
        let text = "value-\(operation)"
        return NewValue(sealed: SealedValue(kind: .string, envelope: Array("ct-\(text)".utf8), keyId: "aws/secretsmanager",
                                            equalityToken: Array(text.utf8)),
                        plaintextSize: text.utf8.count)
    }

    static func token(_ seed: UInt64, _ operation: Int) -> String {
        let digits = String(seed &* 1_000_003 &+ UInt64(operation), radix: 16)
        let padded = String(repeating: "0", count: max(0, 32 - digits.count)) + digits
        let chars = Array(padded.suffix(32))
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-" + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }

    static func suffix(_ random: UInt64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var value = random
        var out = ""
        for _ in 0..<6 {
            out.append(alphabet[Int(value % UInt64(alphabet.count))])
            value /= UInt64(alphabet.count)
        }
        return out
    }
}
