internal import Glibc

extension TCPSocket {
    /// Starts a non-blocking TCP connection to `address` (close-on-exec, TCP_NODELAY).
    ///
    /// The connection is usually still in progress when this returns: wait until the descriptor
    /// is writable, then ask `pendingError` whether it succeeded. A refusal that the kernel knows
    /// at once (nothing listens on a loopback port) may be thrown here or reported there.
    /// - Throws: `Errno` when the socket cannot be created or the connection fails at once.
    public static func connect(to address: SocketAddress) throws(Errno) -> FileDescriptor {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let raw = try systemCall("socket") {
            socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let fd = FileDescriptor(owning: raw)
        var one: Int32 = 1
        _ = setsockopt(raw, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = address.withSockAddr { Glibc.connect(raw, $0, $1) }
        if result == 0 { return fd }
        let code = errno
        switch code {
        // EINTR: the connection goes on asynchronously, exactly as for EINPROGRESS.
        case EINPROGRESS, EINTR: return fd
        case EBADF, EFAULT: preconditionFailure("connect: descriptor bug")
        default: throw Errno(code: code, operation: "connect \(address)")
        }
    }

    /// The outcome of a non-blocking connect once the socket became writable (SO_ERROR):
    /// nil when connected, otherwise the error (which SO_ERROR then clears).
    public static func pendingError(_ fd: Int32) -> Errno? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0 {
            return Errno(code: errno, operation: "getsockopt(SO_ERROR)")
        }
        return code == 0 ? nil : Errno(code: code, operation: "connect")
    }
}

extension TCPSocket {
    /// Reads into `buffer` (at most its size), without the zero-filling that the array variant
    /// pays on every call: for loops that read into one scratch buffer over and over.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> IOResult {
        precondition(buffer.count > 0, "empty read buffer")
        let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
        if n >= 0 { return .transferred(n) }
        let code = errno
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        case EBADF, EFAULT: preconditionFailure("read: descriptor bug")
        default: throw Errno(code: code, operation: "read")
        }
    }
}
