public import JSON
public import Cryptography
public import Foundation
public import Policy
import SecretStore
public import AWSProtocol

/// What an operation handler gets besides its input: who is calling, where, when, and the
/// node's randomness.
public struct OperationContext: Sendable {
    /// The operation name, e.g. `GetRandomPassword`.
    public var operation: String
    /// The authenticated caller.
    public var caller: Caller
    /// The caller's configured user or role.
    public var principal: Principal { caller.principal }

    /// The node's region.
    public var region: String
    public var now: Date
    public var random: any RandomSource
    public var requestId: String
    /// The caller's identity policies, parsed.
    public var identityPolicies: [PolicyDocument]
    /// The request-wide condition keys (`aws:SourceIp`, `aws:CurrentTime`, the operation's
    /// `secretsmanager:` input keys, request tags …).
    public var requestKeys: [String: ContextValue]
    /// The IAM configuration the request was authenticated with (organizations, for the
    /// public-policy check).
    public var identities: IAMConfiguration
    let authorizer: Authorizer

    /// Authorizes `action` (e.g. `GetSecretValue`) on `resource` for this request's caller; see
    /// `Authorizer.authorize`.
    func authorize(
        _ action: String, resource: String, resourceAccount: String, secret: Secret? = nil, keys: [String: ContextValue] = [:],
        named: String? = nil
    ) throws(AWSError) {
        try authorizer.authorize(self, action: action, resource: resource, resourceAccount: resourceAccount, secret: secret,
                                 keys: keys, named: named)
    }

    /// Authorizes an action that has no resource type (`ListSecrets`, `GetRandomPassword`, …):
    /// IAM evaluates it on `*`, with identity policies only.
    func authorizeAction(_ action: String) throws(AWSError) {
        try authorize(action, resource: "*", resourceAccount: principal.accountId)
    }

    /// Authorizes one of the node's own operations (`strongroom:…`): the caller's policies must
    /// allow it, as for any action, and the caller must be one of the IAM file's `admins`. The
    /// list says who operates the cluster; a policy alone, which an account's own
    /// administrator may write, cannot make someone an operator of the nodes. A role listed
    /// there is an admin in each of its sessions. The refusal reads like IAM's for an action
    /// without a resource (no `on resource:` part).
    func authorizeNodeOperation(_ action: String) throws(AWSError) {
        try authorizeAction(action)
        guard identities.isAdmin(principal.arn) else {
            throw AWSError(.notAuthorized, "User: \(caller.arn) is not authorized to perform: \(action) because it is not one of the cluster's admins")
        }
    }
}

/// How an operation answers: once, from any thread.
public typealias OperationCompletion = @Sendable (Result<JSONValue, AWSError>) -> Void

/// An operation's implementation: its input (a JSON object already validated against the
/// operation's input shape) to its output object, or the AWS error to answer.
public typealias OperationHandler = @Sendable (OperationContext, JSONValue) throws(AWSError) -> JSONValue

/// An operation that answers later (a write answers once its record is durable).
public typealias DeferredOperationHandler = @Sendable (OperationContext, JSONValue, @escaping OperationCompletion) -> Void

/// The operations this node implements, by name. Areas register their operations here (one
/// `OperationTable+Area.swift` or `SecretsOperations+Area.swift` file per area); every model
/// operation without a handler answers `InvalidRequestException` "<Operation> is not available
/// on this Strongroom node yet." rather than pretending to succeed.
public struct OperationTable: Sendable {
    private var handlers: [String: DeferredOperationHandler] = [:]

    public init() {}

    /// Registers (or replaces) the handler of `operation`, which answers before returning.
    public mutating func register(_ operation: String, _ handler: @escaping OperationHandler) {
        handlers[operation] = { context, input, completion in
            do throws(AWSError) {
                completion(.success(try handler(context, input)))
            } catch {
                completion(.failure(error))
            }
        }
    }

    /// Registers (or replaces) the handler of `operation`, which may answer later.
    public mutating func registerDeferred(_ operation: String, _ handler: @escaping DeferredOperationHandler) {
        handlers[operation] = handler
    }

    /// Whether `operation` has a handler.
    public func implements(_ operation: String) -> Bool { handlers[operation] != nil }

    /// Runs `operation`; `completion` is called exactly once.
    public func run(_ operation: String, context: OperationContext, input: JSONValue, completion: @escaping OperationCompletion) {
        guard let handler = handlers[operation] else { return completion(.failure(Self.notAvailable(operation))) }
        handler(context, input, completion)
    }

    /// The answer for an operation of the model that this node does not implement yet.
    public static func notAvailable(_ operation: String) -> AWSError {
        AWSError(.invalidRequest, "\(operation) is not available on this Strongroom node yet.")
    }

    /// The operations that need no storage (`GetRandomPassword`).
    public static var standard: OperationTable {
        var table = OperationTable()
        table.registerUtilities()
        return table
    }

    /// Every operation implemented so far, the secrets ones over `storage` and `sealer`.
    public static func secrets(
        storage: any SecretStorage, sealer: ValueSealer, replicaRegions: Set<String> = [], rotation: RotationHooks = .none
    ) -> OperationTable {
        var table = standard
        SecretsOperations(storage: storage, sealer: sealer, replicaRegions: replicaRegions, rotation: rotation).register(in: &table)
        return table
    }
}
