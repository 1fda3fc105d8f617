internal import Glibc

/// A failed system call: the call's name and the `errno` it left.
public struct Errno: Error, Equatable, CustomStringConvertible, Sendable {
    /// The raw `errno` value.
    public var code: Int32
    /// The system call or operation that failed, e.g. "bind".
    public var operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The C library's text for the code, e.g. "Address already in use".
    public var message: String { String(cString: strerror(code)) }

    public var description: String { "\(operation): \(message) (errno \(code))" }

    public var isWouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK }

    /// ECONNREFUSED: nothing listens at the address (a connect's answer).
    public var isConnectionRefused: Bool { code == ECONNREFUSED }
}

/// Runs one system call: retries on `EINTR`, throws `Errno` for a failure, and traps on `EBADF`
/// and `EFAULT`, which mean a bug in our descriptor or pointer handling rather than a condition
/// a caller can handle.
@inline(__always)
public func systemCall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        switch code {
        case EINTR: continue
        case EBADF, EFAULT:
            preconditionFailure("\(operation()) failed with \(String(cString: strerror(code))): a descriptor or pointer bug")
        default:
            throw Errno(code: code, operation: operation())
        }
    }
}
