internal import Glibc

/// Process-wide signal set-up: SIGPIPE ignored, and the shutdown/reload signals delivered to one
/// waiting thread instead of interrupting arbitrary ones.
public enum Signals {
    /// The signals a node handles.
    public enum Kind: Sendable, Equatable {
        case interrupt, terminate, hangup
        /// SIGUSR1, raised by the process itself (`requestRestart`): a node asks its serving
        /// loop to restart it in another role.
        case restart
    }

    /// Wakes the thread in `wait()` with `.restart`.
    public static func requestRestart() {
        kill(getpid(), SIGUSR1)
    }

    /// Ignores SIGPIPE and blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in the calling thread; threads
    /// created afterwards inherit the mask. Call first thing in `main`.
    public static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        var set = handledSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks until one of the handled signals arrives.
    public static func wait() -> Kind {
        var set = handledSet()
        while true {
            var number: Int32 = 0
            if sigwait(&set, &number) != 0 { continue }
            switch number {
            case SIGINT: return .interrupt
            case SIGTERM: return .terminate
            case SIGHUP: return .hangup
            case SIGUSR1: return .restart
            default: continue
            }
        }
    }

    private static func handledSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        sigaddset(&set, SIGUSR1)
        return set
    }
}
