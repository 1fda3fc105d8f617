internal import Glibc
internal import CSystemShims

/// The outcome of a non-blocking read or write.
public enum IOResult: Equatable, Sendable {
    /// This many bytes were transferred (0 on a read means the peer closed).
    case transferred(Int)
    /// The kernel has no data or no room now; wait for readiness.
    case wouldBlock
}

/// A socket address for IPv4 or IPv6, parsed from "127.0.0.1:7443", "[::1]:7443" or "localhost:7443".
public struct SocketAddress: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool

    /// Parses `host:port`; host is an IPv4 literal, a bracketed IPv6 literal, or "localhost".
    public init?(_ text: String) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            // An IPv6 literal must be bracketed: "::1:80" could be a host or a host and port.
            if hostPart.contains(":") { return nil }
            portPart = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portPart) else { return nil }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        self.init(host: String(hostPart), port: port)
    }

    /// An address from a numeric host and a port; nil when `host` is not an IP literal.
    public init?(host: String, port: UInt16) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            isIPv6 = false
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            isIPv6 = true
        } else {
            return nil
        }
        self.host = host
        self.port = port
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if isIPv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            _ = inet_pton(AF_INET6, host, &a.sin6_addr)
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, host, &a.sin_addr)
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    fileprivate static func from(_ storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer -> SocketAddress? in
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            if family == AF_INET {
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    var addr = p.pointee.sin_addr
                    guard inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count)) != nil else { return nil }
                    return SocketAddress(host: buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, port: UInt16(bigEndian: p.pointee.sin_port))
                }
            }
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    var addr = p.pointee.sin6_addr
                    guard inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)) != nil else { return nil }
                    return SocketAddress(host: buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, port: UInt16(bigEndian: p.pointee.sin6_port))
                }
            }
            return nil
        }
    }
}

/// A connection taken from a listening socket.
public struct AcceptedSocket: ~Copyable {
    private var descriptor: FileDescriptor
    /// The client's address, when the kernel reported one.
    public let peer: SocketAddress?

    init(descriptor: consuming FileDescriptor, peer: SocketAddress?) {
        self.descriptor = descriptor
        self.peer = peer
    }

    /// Hands over the connected socket.
    public consuming func takeDescriptor() -> FileDescriptor { descriptor }
}

/// Non-blocking TCP socket operations on raw descriptors owned by a `FileDescriptor`.
public enum TCPSocket {
    /// A non-blocking listening socket bound to `address` (SO_REUSEADDR; IPv6 sockets are v6-only).
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024) throws(Errno) -> FileDescriptor {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let raw = try systemCall("socket") { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let fd = FileDescriptor(owning: raw)
        var one: Int32 = 1
        _ = try systemCall("setsockopt(SO_REUSEADDR)") { setsockopt(raw, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        if address.isIPv6 {
            _ = try systemCall("setsockopt(IPV6_V6ONLY)") { setsockopt(raw, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        }
        _ = try systemCall("bind \(address)") { address.withSockAddr { bind(raw, $0, $1) } }
        _ = try systemCall("listen") { Glibc.listen(raw, backlog) }
        return fd
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket with TCP_NODELAY;
    /// nil when none is pending (another loop may have taken it).
    public static func accept(_ listener: Int32) throws(Errno) -> AcceptedSocket? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let raw = CSystemShims_accept_nonblocking(listener, &storage, &length)
        if raw < 0 {
            let code = errno
            switch code {
            case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO: return nil
            case EBADF, EFAULT: preconditionFailure("accept: descriptor bug")
            default: throw Errno(code: code, operation: "accept")
            }
        }
        var one: Int32 = 1
        _ = setsockopt(raw, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return AcceptedSocket(descriptor: FileDescriptor(owning: raw), peer: SocketAddress.from(storage))
    }

    /// Ends our sending direction (TCP FIN) while still reading: the first half of a lingering close.
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// The port a socket is bound to (useful after binding port 0).
    public static func localPort(_ fd: borrowing FileDescriptor) throws(Errno) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { p throws(Errno) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp throws(Errno) in
                try systemCall("getsockname") { getsockname(fd.rawValue, sp, &length) }
            }
        }
        return SocketAddress.from(storage)?.port ?? 0
    }

    /// Reads into `buffer`'s spare room, up to `maxBytes`, appending what arrived.
    public static func read(_ fd: Int32, into buffer: inout [UInt8], maxBytes: Int) throws(Errno) -> IOResult {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: maxBytes))
        let n = buffer.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress! + start, maxBytes) }
        if n >= 0 {
            buffer.removeLast(maxBytes - n)
            return .transferred(n)
        }
        buffer.removeLast(maxBytes)
        let code = errno
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        case EBADF, EFAULT: preconditionFailure("read: descriptor bug")
        default: throw Errno(code: code, operation: "read")
        }
    }

    /// Writes from `bytes[offset...]`; MSG_NOSIGNAL so a closed peer is an error, not SIGPIPE.
    public static func write(_ fd: Int32, _ bytes: [UInt8], from offset: Int) throws(Errno) -> IOResult {
        precondition(offset < bytes.count, "nothing to write")
        let n = bytes.withUnsafeBytes { raw in send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return .transferred(n) }
        let code = errno
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        case EBADF, EFAULT: preconditionFailure("send: descriptor bug")
        default: throw Errno(code: code, operation: "send")
        }
    }
}

extension SocketAddress {
    /// The text form of a raw IPv4 (4 bytes) or IPv6 (16 bytes) address, as inet_ntop(3) writes
    /// it (`127.0.0.1`, `::1`); nil for any other length. For addresses read out of certificates.
    public static func text(ofRawAddress bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) }
        guard ok != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension SocketAddress {
    /// Whether `text` is an IPv4 or IPv6 address literal (inet_pton(3) accepts it).
    public static func isIPLiteral(_ text: String) -> Bool {
        var scratch = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &scratch) == 1 || inet_pton(AF_INET6, text, &scratch) == 1
    }
}
