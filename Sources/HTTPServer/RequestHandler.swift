public import HTTP1
public import Platform

/// What the server knows about the connection a request came on.
public struct ConnectionInfo: Sendable {
    /// The client's address, when the kernel reported one.
    public var peer: SocketAddress?
}

/// Answers HTTP requests. `respond` may be called on any thread, exactly once, now or later
/// (a write waits for the journal before it answers).
public protocol RequestHandler: Sendable {
    func handle(_ request: HTTPRequest, connection: ConnectionInfo, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
