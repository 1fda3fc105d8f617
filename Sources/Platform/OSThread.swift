internal import Glibc
internal import CSystemShims

/// A dedicated operating-system thread for blocking work (an event loop's epoll_wait, a signal
/// waiter), kept off Swift's cooperative pool.
public final class OSThread: Sendable {
    // Safety: written once by `start` before any other thread can see the object, read by `join`.
    nonisolated(unsafe) private var handle = pthread_t()

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    private init() {}

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept by Linux).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(Errno) -> OSThread {
        let thread = OSThread()
        let box = Unmanaged.passRetained(Box({
            name.withCString { CSystemShims_set_thread_name($0) }
            body()
        })).toOpaque()
        let rc = pthread_create(&thread.handle, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw Errno(code: rc, operation: "pthread_create")
        }
        return thread
    }

    /// Waits for the thread to finish.
    public func join() {
        _ = pthread_join(handle, nil)
    }

    /// Whether the caller runs on this thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// The number of CPUs this process may run on.
    public static var availableCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
