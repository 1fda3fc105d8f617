internal import Glibc

/// CPU time consumed by this process, for tools that must show they were not the bottleneck
/// (the load generator reports its own CPU next to the throughput it measured).
public enum ProcessCPU {
    /// User and system CPU seconds of every thread of the process so far (getrusage(RUSAGE_SELF)).
    public struct Times: Sendable, Equatable {
        public var user: Double
        public var system: Double
        /// User plus system.
        public var total: Double { user + system }

        public init(user: Double, system: Double) {
            self.user = user
            self.system = system
        }
    }

    /// The process's CPU times now; zero if the kernel refuses (it never does for RUSAGE_SELF).
    public static func times() -> Times {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return Times(user: 0, system: 0) }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return Times(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime))
    }

    /// CPU time consumed by the calling thread so far, in nanoseconds (CLOCK_THREAD_CPUTIME_ID):
    /// what a piece of work cost, without the time the thread spent preempted.
    public static func threadNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// The number of processors online (sysconf(_SC_NPROCESSORS_ONLN)), at least 1. Unlike
    /// `OSThread.availableCores` this ignores the affinity mask: it is the machine's size.
    public static var onlineCores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

extension MonotonicClock {
    /// CLOCK_MONOTONIC in whole nanoseconds, for latency measurements that must not round.
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
