import Testing
import SecretStore


let account = "111122223333"
let otherAccount = "444455556666"
let region = "us-east-1"
let hour: Int64 = 3_600_000
let day: Int64 = 86_400_000
let t0: Int64 = 1_700_000_000_000

/// A sealed value standing in for what the API produces: `token` plays the plaintext's HMAC.
func sealed(_ token: String, kind: SealedValue.Kind = .string) -> NewValue {
    NewValue(
        sealed: SealedValue(kind: kind, envelope: Array("ct-\(token)".utf8),
                            keyId: "aws/secretsmanager", equalityToken: Array(token.utf8)),
        plaintextSize: token.utf8.count)
}

/// A 32-character client request token.
func token(_ n: Int) -> String {
    let digits = String(n)
    return String(repeating: "0", count: 32 - digits.count) + digits
}

/// Runs commands through decide + apply, as the primary does, keeping the facts for replay.
struct Harness {
    var state = SecretState()
    var now: Int64 = t0
    var accountId = account
    var draws = 0
    var facts: [Fact] = []

    mutating func context() -> DecisionContext {
        draws += 1
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var n = draws
        var suffix = ""
        for _ in 0..<6 {
            suffix.append(alphabet[n % alphabet.count])
            n /= alphabet.count
        }
        let hex = String(draws, radix: 16)
        let uuid = "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
        return DecisionContext(now: now, region: region, accountId: accountId, arnSuffix: suffix, versionId: uuid)
    }

    @discardableResult
    mutating func run(_ command: Command) -> Result<[Fact], SecretStoreError> {
        let result = state.decide(command, context: context())
        if case .success(let decided) = result {
            for fact in decided { state.apply(fact) }
            facts += decided
        }
        return result
    }

    /// Runs a command that must succeed.
    @discardableResult
    mutating func ok(_ command: Command, sourceLocation: SourceLocation = #_sourceLocation) -> [Fact] {
        switch run(command) {
        case .success(let facts): return facts
        case .failure(let error):
            Issue.record("\(command) failed: \(error)", sourceLocation: sourceLocation)
            return []
        }
    }

    func error(_ result: Result<[Fact], SecretStoreError>) -> SecretStoreError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    func secret(_ id: String) -> Secret? {
        try? state.describe(id, accountId: accountId, region: region).get()
    }

    /// versionId → labels, sorted, for compact expectations.
    func labels(_ id: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for version in secret(id)?.versions ?? [] { result[version.versionId] = version.stages.sorted() }
        return result
    }

    func current(_ id: String) -> String? { secret(id)?.version(withStage: "AWSCURRENT")?.versionId }
}


func failure<T>(_ result: Result<T, SecretStoreError>) -> SecretStoreError? {
    if case .failure(let error) = result { return error }
    return nil
}
