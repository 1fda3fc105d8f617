public import JSON
import AWSProtocol

/// Where the service writes its audit records: one per request, allowed or denied.
///
/// The contract (Vault's, for a secrets store): a request that cannot be audited is not
/// served. `reserve` runs before the request is executed and refuses it when the trail cannot
/// take a record (disk full); `record` runs before the answer is sent, and when it fails the
/// caller gets a retryable error instead of the answer.
public protocol AuditSink: Sendable {
    func reserve() throws
    func record(_ event: JSONValue) throws
    /// Writes several records together (one write where the sink can); returns how many, from
    /// the first, were written.
    func record(contentsOf events: [JSONValue]) -> Int
}

extension AuditSink {
    public func record(contentsOf events: [JSONValue]) -> Int {
        for (index, event) in events.enumerated() {
            do { try record(event) } catch { return index }
        }
        return events.count
    }
}

/// The audit records of one event-loop pass, held back so that the pass writes them together
/// (one write instead of one per request) before any of its answers leaves.
///
/// The node's handler keeps one per event loop. A record is added only on the loop's own thread
/// (`isOwnThread`); an answer given on another thread (a write, once its record is durable) is
/// audited at once, as without a batch. When the first record of a pass is added, `schedule`
/// arranges for `SecretsManagerService.flush(_:)` at the pass's end.
public final class AuditBatch: @unchecked Sendable {
    // Safety: `events` and `answers` are touched only on the thread `isOwnThread` recognizes
    // (the service checks it before adding; the flush runs at the loop's pass end).
    let isOwnThread: @Sendable () -> Bool
    private let schedule: (AuditBatch) -> Void
    var events: [JSONValue] = []
    var answers: [@Sendable (Bool) -> Void] = []

    /// - Parameters:
    ///   - isOwnThread: whether the calling thread is the one the batch belongs to.
    ///   - schedule: called on that thread when a pass's first record is added; must arrange
    ///     for `flush` before the pass's answers are written.
    public init(isOwnThread: @escaping @Sendable () -> Bool, schedule: @escaping (AuditBatch) -> Void) {
        self.isOwnThread = isOwnThread
        self.schedule = schedule
    }

    func add(_ event: JSONValue, then answer: @escaping @Sendable (Bool) -> Void) {
        if events.isEmpty { schedule(self) }
        events.append(event)
        answers.append(answer)
    }

    func take() -> (events: [JSONValue], answers: [@Sendable (Bool) -> Void]) {
        defer {
            events.removeAll(keepingCapacity: true)
            answers.removeAll(keepingCapacity: true)
        }
        return (events, answers)
    }
}

/// What the service knows of a request by the time it answers, for its audit record.
struct AuditFacts: Sendable {
    var operation: String?
    var caller: Caller?
    var input: JSONValue?
    var requestId: String
    var eventId: String
    var eventTime: String
    var region: String
    var sourceIP: String
    var userAgent: String?

    /// Members whose values are secret: never written to the trail, not even hashed.
    static let secretMembers: Set<String> = ["SecretString", "SecretBinary", "RandomPassword"]
    /// Operations that change nothing (CloudTrail's `readOnly`).
    static var readOnlyOperations: Set<String> { SecretsManagerOperations.readOnly }

    /// A CloudTrail-shaped event for the request's outcome.
    func event(_ result: Result<JSONValue, AWSError>) -> JSONValue {
        let readOnly = operation.map { Self.readOnlyOperations.contains($0) } ?? true
        var members: [(key: String, value: JSONValue)] = [
            (key: "eventVersion", value: .string("1.08")),
            (key: "userIdentity", value: caller.map(Self.identity) ?? .null),
            (key: "eventTime", value: .string(eventTime)),
            (key: "eventSource", value: .string("secretsmanager.amazonaws.com")),
            (key: "eventName", value: .string(operation ?? "Unknown")),
            (key: "awsRegion", value: .string(region)),
            (key: "sourceIPAddress", value: .string(sourceIP)),
            (key: "userAgent", value: userAgent.map { .string($0) } ?? .null),
        ]
        if case .failure(let error) = result {
            members.append((key: "errorCode", value: .string(error.code.type)))
            if let message = error.message { members.append((key: "errorMessage", value: .string(message))) }
        }
        members.append((key: "requestParameters", value: input.map(Self.redacted) ?? .null))
        // CloudTrail leaves responseElements null for reads; writes show what they made.
        var response = JSONValue.null
        if case .success(let output) = result, !readOnly { response = Self.redacted(output) }
        members.append((key: "responseElements", value: response))
        members += [
            (key: "requestID", value: .string(requestId)),
            (key: "eventID", value: .string(eventId)),
            (key: "readOnly", value: .bool(readOnly)),
            (key: "eventType", value: .string("AwsApiCall")),
            (key: "managementEvent", value: .bool(true)),
            (key: "recipientAccountId", value: recipientAccount.map { .string($0) } ?? .null),
            (key: "eventCategory", value: .string("Management")),
        ]
        return .object(members)
    }

    /// The account whose resource the request addressed: a secret ARN's account, else the
    /// caller's.
    var recipientAccount: String? {
        input?["SecretId"]?.stringValue.flatMap(SecretsOperations.arnAccount) ?? caller?.principal.accountId
    }

    static func identity(_ caller: Caller) -> JSONValue {
        let principal = caller.principal
        var members: [(key: String, value: JSONValue)] = [
            (key: "type", value: .string(caller.session != nil && principal.type == .role ? "AssumedRole" : "IAMUser")),
            (key: "principalId", value: .string(caller.userId)),
            (key: "arn", value: .string(caller.arn)),
            (key: "accountId", value: .string(principal.accountId)),
            (key: "accessKeyId", value: .string(caller.accessKeyId)),
        ]
        if principal.type == .user { members.append((key: "userName", value: .string(principal.name))) }
        if let session = caller.session {
            members.append((key: "sessionContext", value: .object([
                (key: "sessionIssuer", value: .object([
                    (key: "type", value: .string(principal.type == .role ? "Role" : "IAMUser")),
                    (key: "principalId", value: .string(principal.uniqueId)),
                    (key: "arn", value: .string(principal.arn)),
                    (key: "accountId", value: .string(principal.accountId)),
                    (key: "userName", value: .string(principal.name)),
                ])),
                (key: "attributes", value: .object([
                    (key: "creationDate", value: .string(AWSTimestamp.extended(seconds: session.issuedAt))),
                    (key: "mfaAuthenticated", value: .string("false")),
                ])),
            ])))
        }
        return .object(members)
    }

    /// The value with secret members removed and member names as CloudTrail writes them
    /// (`SecretId` → `secretId`).
    static func redacted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(members.compactMap { member in
                secretMembers.contains(member.key) ? nil : (key: camelCase(member.key), value: redacted(member.value))
            })
        case .array(let items):
            return .array(items.map(redacted))
        default:
            return value
        }
    }

    static func camelCase(_ name: String) -> String {
        // Member names are ASCII (the model's names, or a caller's unknown ones): lowered on
        // bytes, without the Character walk below, which ran for every member of every request.
        let utf8 = Array(name.utf8)
        if utf8.allSatisfy({ $0 < 0x80 }) {
            let isUpper = { (b: UInt8) in b >= 0x41 && b <= 0x5A }
            var out = utf8
            guard !out.isEmpty else { return name }
            var end = 1
            while end < out.count - 1, isUpper(out[end]), isUpper(out[end + 1]) { end += 1 }
            if end == out.count - 1, isUpper(out[end]) { end += 1 }
            for i in 0..<end where isUpper(out[i]) { out[i] |= 0x20 }
            return String(decoding: out, as: UTF8.self)
        }
        return camelCaseCharacters(name)
    }

    static func camelCaseCharacters(_ name: String) -> String {
        guard let first = name.first else { return name }
        // A leading acronym is lowered whole: `ARN` → `arn`, `SecretId` → `secretId`.
        let scalars = Array(name)
        var end = 1
        while end < scalars.count - 1, scalars[end].isUppercase, scalars[end + 1].isUppercase { end += 1 }
        if end == scalars.count - 1, scalars[end].isUppercase { end += 1 }
        return (first.lowercased() + String(scalars[1..<end]).lowercased()) + String(scalars[end...])
    }
}

/// The operations by kind, for whoever routes them (the audit trail's `readOnly`, a standby that
/// forwards writes to its primary).
public enum SecretsManagerOperations {
    /// Operations that change nothing (CloudTrail's `readOnly`); every other one is a write.
    public static let readOnly: Set<String> = [
        "GetSecretValue", "BatchGetSecretValue", "DescribeSecret", "ListSecrets", "ListSecretVersionIds",
        "GetResourcePolicy", "ValidateResourcePolicy", "GetRandomPassword",
    ]
}
