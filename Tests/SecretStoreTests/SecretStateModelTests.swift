import Testing
import SecretStore
import TestSupport

/// A reference model of the rules the randomized test checks, written apart from the store:
/// per secret, the versions in order with their labels, and the deletion date.
private struct Model {
    struct Version: Equatable {
        var id: String
        var created: Int64
        var labels: Set<String>
        var value: String
    }

    struct Secret: Equatable {
        var versions: [Version] = []
        var deletedUntil: Int64?

        var labelCount: Int { versions.reduce(into: Set<String>()) { $0.formUnion($1.labels) }.count }
    }

    enum Outcome: Equatable {
        case ok
        case error(String)
    }

    var secrets: [String: Secret] = [:]

    mutating func create(_ name: String, token: String?, value: String?, generatedId: String, now: Int64) -> Outcome {
        if let existing = secrets[name] {
            if existing.deletedUntil != nil { return .error("InvalidRequestException") }
            if let token, let value, let version = existing.versions.first(where: { $0.id == token }) {
                return version.value == value ? .ok : .error("ResourceExistsException")
            }
            return .error("ResourceExistsException")
        }
        var secret = Secret()
        if let value {
            secret.versions = [Version(id: token ?? generatedId, created: now, labels: ["AWSCURRENT"], value: value)]
        }
        secrets[name] = secret
        return .ok
    }

    mutating func put(_ name: String, token: String?, value: String, stages: [String]?, generatedId: String,
                      now: Int64) -> Outcome {
        guard var secret = secrets[name] else { return .error("ResourceNotFoundException") }
        if secret.deletedUntil != nil { return .error("InvalidRequestException") }
        let id = token ?? generatedId
        if let existing = secret.versions.first(where: { $0.id == id }) {
            return existing.value == value ? .ok : .error("ResourceExistsException")
        }
        var labels = Set(stages ?? ["AWSCURRENT"])
        if secret.versions.isEmpty { labels.insert("AWSCURRENT") }
        let oldCurrent = secret.versions.firstIndex { $0.labels.contains("AWSCURRENT") }
        for index in secret.versions.indices { secret.versions[index].labels.subtract(labels) }
        if labels.contains("AWSCURRENT"), !labels.contains("AWSPREVIOUS"), let oldCurrent {
            for index in secret.versions.indices { secret.versions[index].labels.remove("AWSPREVIOUS") }
            secret.versions[oldCurrent].labels.insert("AWSPREVIOUS")
            // AWS (recorded): a new AWSCURRENT also takes AWSPENDING off the former current.
            if !labels.contains("AWSPENDING") { secret.versions[oldCurrent].labels.remove("AWSPENDING") }
        }
        secret.versions.append(Version(id: id, created: now, labels: labels, value: value))
        if secret.labelCount > 20 { return .error("LimitExceededException") }
        var excess = secret.versions.count - 100
        var index = 0
        while excess > 0 && index < secret.versions.count {
            let version = secret.versions[index]
            if version.labels.isEmpty && version.created <= now - 86_400_000 {
                secret.versions.remove(at: index)
                excess -= 1
            } else {
                index += 1
            }
        }
        if excess > 0 { return .error("LimitExceededException") }
        secrets[name] = secret
        return .ok
    }

    mutating func moveStage(_ name: String, label: String, remove: String?, move: String?) -> Outcome {
        guard var secret = secrets[name] else { return .error("ResourceNotFoundException") }
        if secret.deletedUntil != nil { return .error("InvalidRequestException") }
        let index: (String) -> Int? = { id in secret.versions.firstIndex { $0.id == id } }
        if let remove {
            guard let from = index(remove) else { return .error("InvalidParameterException") }
            guard secret.versions[from].labels.contains(label) else { return .error("InvalidParameterException") }
        }
        guard let move else {
            guard let remove else { return .ok }
            if label == "AWSCURRENT" { return .error("InvalidParameterException") }
            secret.versions[index(remove)!].labels.remove(label)
            secrets[name] = secret
            return .ok
        }
        guard let to = index(move) else { return .error("InvalidParameterException") }
        let holder = secret.versions.firstIndex { $0.labels.contains(label) }
        if let holder, holder != to, remove == nil { return .error("InvalidParameterException") }
        if holder == to { return .ok }
        if let holder { secret.versions[holder].labels.remove(label) }
        secret.versions[to].labels.insert(label)
        if label == "AWSCURRENT", let holder {
            for i in secret.versions.indices { secret.versions[i].labels.remove("AWSPREVIOUS") }
            secret.versions[holder].labels.insert("AWSPREVIOUS")
        }
        if secret.labelCount > 20 { return .error("LimitExceededException") }
        secrets[name] = secret
        return .ok
    }

    mutating func delete(_ name: String, window: Int64?, force: Bool, now: Int64) -> Outcome {
        if let window, window < 7 || window > 30 { return .error("InvalidParameterException") }
        if window != nil && force { return .error("InvalidParameterException") }
        guard let secret = secrets[name] else { return force ? .ok : .error("ResourceNotFoundException") }
        if force {
            secrets[name] = nil
            return .ok
        }
        if secret.deletedUntil != nil { return .error("InvalidRequestException") }
        secrets[name]?.deletedUntil = now + (window ?? 30) * 86_400_000
        return .ok
    }

    mutating func restore(_ name: String) -> Outcome {
        guard secrets[name] != nil else { return .error("ResourceNotFoundException") }
        secrets[name]?.deletedUntil = nil
        return .ok
    }

    mutating func purge(now: Int64) -> Outcome {
        secrets = secrets.filter { ($0.value.deletedUntil ?? .max) > now }
        return .ok
    }
}

@Suite struct SecretStateModelTests {
    private static let names = ["a", "b", "team/c", "d-e"]
    private static let labels = ["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"] + (0..<22).map { "L\($0)" }
    private static let values = ["v0", "v1", "v2"]

    /// What the randomized run saw, so the test can insist it covered the interesting paths.
    struct Coverage {
        var outcomes: [String: Int] = [:]
        var versionsRemoved = 0
        var purged = 0
        var idempotentRepeats = 0
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func randomCommandsAgreeWithTheModel(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var state = SecretState()
        var model = Model()
        var now: Int64 = 1_700_000_000_000
        var log: [Fact] = []
        var coverage = Coverage()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

        for step in 0..<3000 {
            now += Int64.random(in: 0...(2 * 3_600_000), using: &rng)
            if Int.random(in: 0..<200, using: &rng) == 0 { now += Int64.random(in: 1...40, using: &rng) * 86_400_000 }
            let suffix = String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
            let generatedId = "generated-\(step)"
            let context = DecisionContext(now: now, region: region, accountId: account, arnSuffix: suffix,
                                          versionId: generatedId)
            let name = Self.names.randomElement(using: &rng)!
            // Address the secret by name, ARN, partial ARN or suffixed name.
            var secretId = name
            if let arn = state.arn(name: name, accountId: account) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: secretId = arn
                case 1: secretId = String(arn.dropLast(7))
                case 2: secretId = name + "-" + arn.suffix(6)
                default: break
                }
            }
            let existingIds = model.secrets[name]?.versions.map(\.id) ?? []
            func randomVersionId() -> String {
                if !existingIds.isEmpty && Bool.random(using: &rng) { return existingIds.randomElement(using: &rng)! }
                return "unknown-version-\(Int.random(in: 0..<3, using: &rng))"
            }
            func randomToken() -> String? {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: return nil
                case 1 where !existingIds.isEmpty:
                    coverage.idempotentRepeats += 1
                    return existingIds.randomElement(using: &rng)!.padding32()
                default: return "token-\(step)".padding32()
                }
            }
            let value = Self.values.randomElement(using: &rng)!

            let command: Command
            let expected: Model.Outcome
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<8:
                let token = randomToken()
                let withValue = Int.random(in: 0..<4, using: &rng) != 0
                command = .createSecret(name: name, clientRequestToken: token, description: nil, kmsKeyId: nil,
                                        value: withValue ? sealed(value) : nil, tags: [])
                expected = model.create(name, token: token, value: withValue ? value : nil, generatedId: generatedId, now: now)
            case 8..<55:
                let token = randomToken()
                var stages: [String]?
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    stages = (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.labels.randomElement(using: &rng)! }
                }
                command = .putSecretValue(secretId: secretId, clientRequestToken: token, value: sealed(value), versionStages: stages)
                expected = model.put(name, token: token, value: value, stages: stages, generatedId: generatedId, now: now)
            case 55..<80:
                let label = Self.labels.randomElement(using: &rng)!
                let holder = model.secrets[name]?.versions.first { $0.labels.contains(label) }?.id
                let remove: String? = switch Int.random(in: 0..<4, using: &rng) {
                case 0: nil
                case 1: randomVersionId()
                default: holder ?? randomVersionId()
                }
                let move: String? = Int.random(in: 0..<5, using: &rng) == 0 ? nil : randomVersionId()
                command = .updateSecretVersionStage(secretId: secretId, versionStage: label, removeFromVersionId: remove,
                                                    moveToVersionId: move)
                expected = model.moveStage(name, label: label, remove: remove, move: move)
            case 80..<85:
                let window: Int64? = Bool.random(using: &rng) ? nil : Int64.random(in: 5...32, using: &rng)
                let force = Int.random(in: 0..<4, using: &rng) == 0
                command = .deleteSecret(secretId: secretId, recoveryWindowInDays: window, forceDeleteWithoutRecovery: force)
                expected = model.delete(name, window: window, force: force, now: now)
            case 85..<92:
                command = .restoreSecret(secretId: secretId)
                expected = model.restore(name)
            default:
                command = .purgeExpired
                expected = model.purge(now: now)
            }

            let result = state.decide(command, context: context)
            switch (result, expected) {
            case (.success(let facts), .ok):
                for fact in facts {
                    #expect(Fact.decode(fact.encode()) == .success(fact))
                    if case .versionsRemoved = fact { coverage.versionsRemoved += 1 }
                    if case .secretPurged = fact { coverage.purged += 1 }
                    state.apply(fact)
                }
                log += facts
                coverage.outcomes["ok", default: 0] += 1
            case (.failure(let error), .error(let code)):
                #expect(error.code == code, "step \(step): \(command)")
                coverage.outcomes[code, default: 0] += 1
            default:
                Issue.record("seed \(seed) step \(step): \(command) gave \(result), the model expected \(expected)")
                return
            }
            try Self.expectAgree(state, model, step: step)
        }

        var replayed = SecretState()
        for fact in log { replayed.apply(fact) }
        #expect(replayed == state)
        let snapshot = state.encode()
        #expect(snapshot == state.encode())
        #expect(SecretState.decode(snapshot) == .success(state))

        #expect(coverage.outcomes["ok", default: 0] > 1000)
        for code in ["ResourceNotFoundException", "InvalidRequestException", "InvalidParameterException",
                     "ResourceExistsException"] {
            #expect(coverage.outcomes[code, default: 0] > 0, "seed \(seed) never produced \(code)")
        }
        #expect(coverage.purged > 0)
    }

    /// The store and the model hold the same secrets, deletion states, versions and labels.
    private static func expectAgree(_ state: SecretState, _ model: Model, step: Int) throws {
        let stored = state.secrets.values.filter { $0.accountId == account }
        #expect(Set(stored.map(\.name)) == Set(model.secrets.keys), "step \(step)")
        for secret in stored {
            let expected = try #require(model.secrets[secret.name])
            #expect(secret.deletedDate == expected.deletedUntil, "step \(step) \(secret.name)")
            #expect(secret.versions.map(\.versionId) == expected.versions.map(\.id), "step \(step) \(secret.name)")
            #expect(secret.versions.map { Set($0.stages) } == expected.versions.map(\.labels), "step \(step) \(secret.name)")
            #expect(secret.isWellFormed)
            #expect(secret.versions.count <= 100)
        }
    }

    @Test func versionQuotaIsReachedAndPruned() {
        // Many puts to one secret at 15-minute intervals: deprecated versions appear, the quota
        // is met, the oldest day-old ones are pruned, and the model agrees throughout.
        var state = SecretState()
        var model = Model()
        var now: Int64 = 1_700_000_000_000
        var removed = 0
        var refused = 0
        for step in 0..<400 {
            now += 15 * 60_000
            let context = DecisionContext(now: now, region: region, accountId: account, arnSuffix: "AbCdEf",
                                          versionId: "generated-\(step)")
            let command: Command
            let expected: Model.Outcome
            if step == 0 {
                command = .createSecret(name: "s", clientRequestToken: nil, description: nil, kmsKeyId: nil,
                                        value: sealed("v"), tags: [])
                expected = model.create("s", token: nil, value: "v", generatedId: "generated-0", now: now)
            } else {
                command = .putSecretValue(secretId: "s", clientRequestToken: nil, value: sealed("v\(step)"), versionStages: nil)
                expected = model.put("s", token: nil, value: "v\(step)", stages: nil, generatedId: "generated-\(step)", now: now)
            }
            switch (state.decide(command, context: context), expected) {
            case (.success(let facts), .ok):
                for fact in facts {
                    if case .versionsRemoved = fact { removed += 1 }
                    state.apply(fact)
                }
            case (.failure(let error), .error(let code)):
                #expect(error.code == code)
                refused += 1
            case (let result, _):
                Issue.record("step \(step): \(result) but the model expected \(expected)")
                return
            }
            #expect(state.secrets.values.first?.versions.map(\.versionId) == model.secrets["s"]?.versions.map(\.id))
        }
        #expect(removed > 0)
        // 100 versions take 25 hours at this pace: never refused.
        #expect(refused == 0)
    }
}

private extension String {
    /// Pads to the 32-character minimum of a ClientRequestToken.
    func padding32() -> String { count >= 32 ? self : self + String(repeating: "x", count: 32 - count) }
}
