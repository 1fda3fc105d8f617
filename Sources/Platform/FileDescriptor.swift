internal import Glibc

/// An owned file descriptor: closed exactly once, by `close()` or when it goes away.
public struct FileDescriptor: ~Copyable, Sendable {
    /// The raw descriptor number. Valid while this value lives.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`.
    public init(owning rawValue: Int32) {
        precondition(rawValue >= 0, "invalid descriptor \(rawValue)")
        self.rawValue = rawValue
    }

    /// Closes the descriptor. EINTR from close(2) on Linux still released it: never retry.
    public consuming func close() {
        _ = Glibc.close(rawValue)
        discard self
    }

    /// Gives up ownership without closing: the caller must hand the number to a new owner
    /// (`init(owning:)`), e.g. on another thread.
    public consuming func releaseOwnership() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    /// A second descriptor for the same open file (dup(2), close-on-exec): for a watcher that
    /// must be able to shut a socket down from another thread whatever its owner does with
    /// its own descriptor (a shutdown acts on the socket, so it reaches the owner's too).
    public func duplicate() throws(Errno) -> FileDescriptor {
        let raw = rawValue
        return FileDescriptor(owning: try systemCall("fcntl(F_DUPFD_CLOEXEC)") { fcntl(raw, F_DUPFD_CLOEXEC, 0) })
    }

    deinit { _ = Glibc.close(rawValue) }
}
