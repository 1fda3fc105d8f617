public import JSON
public import SecretStore
import Synchronization
public import AWSProtocol

/// What a write decided: the facts to make durable and the answer to send once they are.
public struct WriteDecision: Sendable {
    public var facts: [Fact]
    public var answer: JSONValue

    public init(facts: [Fact], answer: JSONValue) {
        self.facts = facts
        self.answer = answer
    }
}

/// Where the operations find the secrets: the node's state and its durable log.
///
/// The contract (DESIGN.md, "Rules that hold everywhere"):
/// - `read` shows the state readers see: it includes a write only once its facts are
///   durable, so no read returns what a crash could take back. The body runs under the
///   storage's lock: it should copy out what it needs (a `Secret` is cheap to copy) and leave
///   decryption and JSON for after.
/// - `write` runs `decide` against the state that includes every write ordered before it
///   (durable or still on its way to the disk), in one total order; the facts it returns are
///   made durable as one record, applied, and only then is `completion` called with the answer.
///   An empty fact list (an idempotent retry) is answered once every earlier write is durable.
/// - `completion` may run on any thread, exactly once.
public protocol SecretStorage: AnyObject, Sendable {
    /// Runs `body` on the state as of the newest durable write.
    func read<T>(_ body: (SecretState) -> T) -> T

    /// Decides and logs one write. `decide` runs synchronously, under the storage's write
    /// order, and must not block.
    func write(
        _ decide: (SecretState) -> Result<WriteDecision, AWSError>,
        completion: @escaping @Sendable (Result<JSONValue, AWSError>) -> Void
    )

    /// A read that would record `LastAccessedDate` (`day`) on a storage that writes nothing of
    /// its own (an in-region standby): returns true when the storage takes the note for its
    /// primary to record; false when the read should record it with a write as usual.
    func noteAccess(arn: String, versionId: String, day: Int64) -> Bool
}

extension SecretStorage {
    public func noteAccess(arn: String, versionId: String, day: Int64) -> Bool { false }

    /// A write of the node's own (the purge, the rotation runner): `command` decided by the
    /// core with `context`, with no caller to authorize. The answer is the number of facts
    /// logged (0: nothing to do).
    public func write(_ command: Command, context: DecisionContext,
                      completion: @escaping @Sendable (Result<JSONValue, AWSError>) -> Void) {
        write({ state in
            state.decide(command, context: context)
                .map { WriteDecision(facts: $0, answer: .number(String($0.count))) }
                .mapError { AWSError($0) }
        }, completion: completion)
    }
}

/// A storage that keeps the state in memory only and is durable immediately: for tests of the
/// operations and for tools. The node uses the journal-backed storage.
public final class MemorySecretStorage: SecretStorage {
    private let state: Mutex<SecretState>

    public init(_ initial: SecretState = SecretState()) {
        state = Mutex(initial)
    }

    public func read<T>(_ body: (SecretState) -> T) -> T {
        state.withLock { body($0) }
    }

    public func write(
        _ decide: (SecretState) -> Result<WriteDecision, AWSError>,
        completion: @escaping @Sendable (Result<JSONValue, AWSError>) -> Void
    ) {
        let result = state.withLock { state -> Result<JSONValue, AWSError> in
            switch decide(state) {
            case .failure(let error):
                return .failure(error)
            case .success(let decision):
                for fact in decision.facts { state.apply(fact) }
                return .success(decision.answer)
            }
        }
        completion(result)
    }
}
