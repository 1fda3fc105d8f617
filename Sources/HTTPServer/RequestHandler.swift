public import HTTP1
public import Platform

/// What the server knows about the connection a request came on.
public struct ConnectionInfo: Sendable {
    /// The client's address, when the kernel reported one.
    public var peer: SocketAddress?
    /// The pass of the event loop that dispatched the request (nil outside an event loop).
    public var pass: LoopPass?

    public init(peer: SocketAddress?, pass: LoopPass? = nil) {
        self.peer = peer
        self.pass = pass
    }
}

/// Answers HTTP requests. `respond` may be called on any thread, exactly once, now or later
/// (a write waits for the journal before it answers).
public protocol RequestHandler: Sendable {
    func handle(_ request: HTTPRequest, connection: ConnectionInfo, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
