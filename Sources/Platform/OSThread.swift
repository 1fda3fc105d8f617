internal import Glibc
internal import CSystemShims
import Synchronization

/// A dedicated operating-system thread for blocking work (an event loop's epoll_wait, a signal
/// waiter), kept off Swift's cooperative pool.
public final class OSThread: Sendable {
    // Safety: written once by `start` before the object is returned to any other thread, then
    // only read (by `join`, under `joined`'s lock).
    nonisolated(unsafe) private var handle = pthread_t()
    /// pthread_join must happen exactly once: a second join of the same thread is undefined.
    private let joined = Mutex(false)

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

    /// Starts `body` on a new detached thread named `name`: nothing joins it, and the system
    /// releases its resources when `body` returns (a thread per connection, which ends on its own).
    public static func startDetached(name: String, _ body: @escaping @Sendable () -> Void) throws(Errno) {
        let thread = try start(name: name, body)
        // The thread may already have finished: detaching a finished, unjoined thread is valid.
        thread.joined.withLock { done in
            precondition(!done, "a new thread cannot have been joined")
            _ = pthread_detach(thread.handle)
            done = true
        }
    }

    /// Waits for the thread to finish; later calls return at once.
    public func join() {
        joined.withLock { done in
            if !done {
                _ = pthread_join(handle, nil)
                done = true
            }
        }
    }

    /// Blocks the calling thread for about `seconds` (nanosleep, resumed after signals).
    public static func sleep(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// Whether the caller runs on this thread. Only meaningful once `start` has returned.
    public var isCurrent: Bool { pthread_equal(pthread_self(), handle) != 0 }

    /// The number of CPUs this process may run on (its affinity mask, as a container or
    /// `taskset` sets it), at least 1.
    public static var availableCores: Int { max(1, Int(CSystemShims_available_cpus())) }
}

/// The identity of an OS thread, to ask "am I on that thread?" without touching shared state.
public struct ThreadID: Equatable, Sendable {
    private let raw: UInt

    /// The calling thread.
    public static var current: ThreadID { ThreadID(raw: UInt(pthread_self())) }

    public static func == (lhs: ThreadID, rhs: ThreadID) -> Bool {
        pthread_equal(pthread_t(lhs.raw), pthread_t(rhs.raw)) != 0
    }
}

/// Process-wide resource limits.
public enum ResourceLimits {
    /// Raises the soft limit on open descriptors to the hard limit and returns the new soft limit.
    @discardableResult
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= UInt(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// Sets the core-file size limit to zero, so a crash never writes the process's memory
    /// (secret values, data keys, keyring keys) to disk. Returns false if the kernel refused.
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        return setrlimit(Int32(RLIMIT_CORE.rawValue), &none) == 0
    }

    /// The current core-file size limit (soft), for tests.
    public static func coreDumpLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return .max }
        return UInt64(limit.rlim_cur)
    }
}

/// CLOCK_REALTIME: the time of day, for dates recorded and compared with other nodes'.
public enum WallClock {
    /// Milliseconds since the epoch (rounded down), as the secrets' core counts dates.
    public static func millis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// CLOCK_MONOTONIC: seconds that never go back, for deadlines and measuring durations.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
