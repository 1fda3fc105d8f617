internal import Glibc

/// Process-wide signal set-up: SIGPIPE ignored, and the shutdown/reload signals delivered to one
/// waiting thread instead of interrupting arbitrary ones.
public enum Signals {
    /// The signals a node handles.
    public enum Kind: Sendable, Equatable {
        case interrupt, terminate, hangup
    }

    /// Ignores SIGPIPE and blocks SIGINT, SIGTERM and SIGHUP in the calling thread; threads
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
        return set
    }
}
