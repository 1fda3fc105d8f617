/// Why a node's files could not be made or read back (`strongroom dev`, `strongroom cluster
/// init`): one line for the operator, naming the file or option and the problem.
public struct ProvisioningError: Error, CustomStringConvertible, Sendable {
    /// The line for the operator.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
