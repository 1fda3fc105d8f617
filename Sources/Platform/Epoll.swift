internal import Glibc
internal import CSystemShims

/// Readiness interest and events for `Epoll`.
public struct EpollEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = EpollEvents(rawValue: CSystemShims_EPOLLIN())
    public static let writable = EpollEvents(rawValue: CSystemShims_EPOLLOUT())
    public static let error = EpollEvents(rawValue: CSystemShims_EPOLLERR())
    public static let hangup = EpollEvents(rawValue: CSystemShims_EPOLLHUP())
    public static let readHangup = EpollEvents(rawValue: CSystemShims_EPOLLRDHUP())
    /// Wake only one of the epoll instances waiting on the same descriptor (shared listeners).
    public static let exclusive = EpollEvents(rawValue: CSystemShims_EPOLLEXCLUSIVE())
}

/// One epoll instance, level-triggered, with a caller-chosen 64-bit tag per descriptor.
public struct Epoll: ~Copyable {
    private let fd: FileDescriptor
    /// The largest number of events one `wait` returns (the shim's fixed array).
    public static let maxEventsPerWait = 256

    public init() throws(Errno) {
        fd = FileDescriptor(owning: try systemCall("epoll_create1") { CSystemShims_epoll_create() })
    }

    public func add(_ descriptor: Int32, events: EpollEvents, tag: UInt64) throws(Errno) {
        _ = try systemCall("epoll_ctl(ADD)") { CSystemShims_epoll_ctl(fd.rawValue, 1, descriptor, events.rawValue, tag) }
    }

    public func modify(_ descriptor: Int32, events: EpollEvents, tag: UInt64) throws(Errno) {
        _ = try systemCall("epoll_ctl(MOD)") { CSystemShims_epoll_ctl(fd.rawValue, 3, descriptor, events.rawValue, tag) }
    }

    public func remove(_ descriptor: Int32) {
        _ = CSystemShims_epoll_ctl(fd.rawValue, 2, descriptor, 0, 0)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns (tag, events) pairs.
    public func wait(timeoutMilliseconds: Int32, into events: inout [(tag: UInt64, events: EpollEvents)]) throws(Errno) {
        events.removeAll(keepingCapacity: true)
        var tags = [UInt64](repeating: 0, count: Self.maxEventsPerWait)
        var flags = [UInt32](repeating: 0, count: Self.maxEventsPerWait)
        let n = try systemCall("epoll_wait") {
            CSystemShims_epoll_wait(fd.rawValue, &tags, &flags, Int32(Self.maxEventsPerWait), timeoutMilliseconds)
        }
        for i in 0..<Int(n) { events.append((tags[i], EpollEvents(rawValue: flags[i]))) }
    }
}

/// A non-blocking eventfd used to wake an event loop from another thread.
public struct EventFD: ~Copyable {
    private let fd: FileDescriptor
    public var rawValue: Int32 { fd.rawValue }

    public init() throws(Errno) {
        fd = FileDescriptor(owning: try systemCall("eventfd") { CSystemShims_eventfd() })
    }

    /// Makes the descriptor readable; safe from any thread.
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd.rawValue, &one, 8)
    }

    /// Clears readability.
    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(fd.rawValue, &value, 8)
    }
}
