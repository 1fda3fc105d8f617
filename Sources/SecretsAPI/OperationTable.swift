public import Cryptography
public import Foundation

/// What an operation handler gets besides its input: who is calling, where, when, and the
/// node's randomness.
public struct OperationContext: Sendable {
    /// The operation name, e.g. `GetRandomPassword`.
    public var operation: String
    /// The authenticated caller. Authorization (policy evaluation) is a later issue: for now
    /// every authenticated principal may call every operation.
    public var principal: Principal
    /// The node's region.
    public var region: String
    public var now: Date
    public var random: any RandomSource
    public var requestId: String
}

/// An operation's implementation: its input (a JSON object already validated against the
/// operation's input shape) to its output object, or the AWS error to answer.
public typealias OperationHandler = @Sendable (OperationContext, JSONValue) throws(AWSError) -> JSONValue

/// The operations this node implements, by name. Later issues register their areas here (one
/// `OperationTable+Area.swift` file per area); every model operation without a handler answers
/// `InvalidRequestException` "<Operation> is not available on this Strongroom node yet."
/// rather than pretending to succeed.
public struct OperationTable: Sendable {
    private var handlers: [String: OperationHandler] = [:]

    public init() {}

    /// Registers (or replaces) the handler of `operation`.
    public mutating func register(_ operation: String, _ handler: @escaping OperationHandler) {
        handlers[operation] = handler
    }

    /// Whether `operation` has a handler.
    public func implements(_ operation: String) -> Bool { handlers[operation] != nil }

    /// Runs `operation`.
    public func run(_ operation: String, context: OperationContext, input: JSONValue) throws(AWSError) -> JSONValue {
        guard let handler = handlers[operation] else { throw Self.notAvailable(operation) }
        return try handler(context, input)
    }

    /// The answer for an operation of the model that this node does not implement yet.
    public static func notAvailable(_ operation: String) -> AWSError {
        AWSError(.invalidRequest, "\(operation) is not available on this Strongroom node yet.")
    }

    /// Every operation implemented so far.
    public static var standard: OperationTable {
        var table = OperationTable()
        table.registerUtilities()
        return table
    }
}
