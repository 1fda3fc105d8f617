internal import Glibc

/// Waiting on one descriptor with a timeout (poll(2)), for blocking-style I/O with deadlines over
/// non-blocking sockets: a thread polls, then reads or writes, and the deadline stays its own.
public enum Poll {
    /// What to wait for.
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }

        /// Data (or an end of file) can be read without blocking.
        public static let readable = Events(rawValue: Int16(POLLIN))
        /// Data can be written without blocking.
        public static let writable = Events(rawValue: Int16(POLLOUT))
    }

    /// The longest single wait, in milliseconds; longer timeouts are clamped (callers loop on
    /// their own deadline anyway).
    public static let maximumWaitMilliseconds: Int32 = 24 * 3600 * 1000

    /// Waits until `fd` is ready for `events`, or for an error or hang-up (which the next read or
    /// write then reports), or until `timeout` seconds have passed.
    ///
    /// - Returns: false when the timeout passed with nothing ready; true otherwise. A signal that
    ///   interrupts the wait also returns true: the caller's read or write then says "would
    ///   block" and it waits again with what is left of its deadline.
    /// - Throws: `Errno` for a failure other than EINTR (ENOMEM).
    public static func wait(_ fd: Int32, for events: Events, timeout: Double) throws(Errno) -> Bool {
        let milliseconds: Int32
        if timeout <= 0 {
            milliseconds = 0
        } else {
            // Rounded up, so that a wait never ends just before the deadline and spins.
            milliseconds = Int32(min((timeout * 1000).rounded(.up), Double(maximumWaitMilliseconds)))
        }
        var descriptor = pollfd(fd: fd, events: events.rawValue, revents: 0)
        let result = Glibc.poll(&descriptor, 1, milliseconds)
        if result >= 0 {
            precondition(descriptor.revents & Int16(POLLNVAL) == 0, "poll: descriptor \(fd) is not open (a descriptor bug)")
            return result > 0
        }
        let code = errno
        switch code {
        case EINTR: return true
        case EFAULT, EINVAL: preconditionFailure("poll failed with \(String(cString: strerror(code))): a pointer or argument bug")
        default: throw Errno(code: code, operation: "poll")
        }
    }
}

extension Poll {
    /// Waits until at least one of `fds` is readable (or has an error or hang-up), or until
    /// `timeout` seconds have passed.
    ///
    /// - Returns: the descriptors that are ready, in the order given; empty on a timeout or
    ///   a signal.
    /// - Throws: `Errno` for a failure other than EINTR (ENOMEM).
    public static func readable(_ fds: [Int32], timeout: Double) throws(Errno) -> [Int32] {
        let milliseconds = timeout <= 0 ? 0 : Int32(min((timeout * 1000).rounded(.up), Double(maximumWaitMilliseconds)))
        var descriptors = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let result = descriptors.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), milliseconds) }
        if result > 0 {
            return descriptors.compactMap { d in
                precondition(d.revents & Int16(POLLNVAL) == 0, "poll: descriptor \(d.fd) is not open (a descriptor bug)")
                return d.revents != 0 ? d.fd : nil
            }
        }
        if result == 0 { return [] }
        let code = errno
        switch code {
        case EINTR: return []
        case EFAULT, EINVAL: preconditionFailure("poll failed with \(String(cString: strerror(code))): a pointer or argument bug")
        default: throw Errno(code: code, operation: "poll")
        }
    }
}

extension TCPSocket {
    /// Shuts both directions (shutdown(2) with SHUT_RDWR): a thread blocked in `poll` or `read`
    /// on this socket wakes up and sees an end of file, a writer gets an error. The descriptor
    /// stays open (and its number reserved) until its owner closes it, so no other thread can
    /// act on a reused number meanwhile.
    public static func shutdownBoth(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }
}
