import Synchronization

/// The first failure of a run, kept to print: a non-2xx status with its body, or a transport
/// error (status nil).
public struct ErrorSample: Sendable, Equatable {
    public var status: Int?
    public var message: String

    public init(status: Int?, message: String) {
        self.status = status
        self.message = message
    }

    /// "400 {...}" or the transport error's text.
    public var description: String { status.map { "\($0) \(message)" } ?? message }
}

/// What one event-loop thread measured, handed to the run when the thread ends.
struct WorkerReport: Sendable {
    var histogram = LatencyHistogram()
    /// Measured requests completed: responses of any status, and transport failures.
    var requests = 0
    /// Measured non-2xx responses (not counting ones the workload accepts) and transport errors.
    var errors = 0
    /// Requests re-sent on a new connection after the server closed a reused one before answering.
    var retries = 0
    /// When the last measured response completed (monotonic ns; 0 if none).
    var lastCompletionNs: UInt64 = 0
    /// Thread CPU time spent building and signing the requests whose build was timed, and how
    /// many those were (a sample of all builds).
    var buildNs: UInt64 = 0
    var built = 0
}

/// State shared by the event-loop threads of one run: the phase boundaries (fixed before any
/// thread starts), the `--requests` tickets, the `sm-seed` work queue, the first error and the
/// reports. Every member is a constant, an atomic or under a mutex.
final class RunControl: Sendable {
    /// When load starts, measuring starts (after the warm-up) and measuring ends (monotonic ns).
    let startNs: UInt64
    let measureStartNs: UInt64
    let measureEndNs: UInt64
    /// `--requests`: measured requests allowed in total; nil for no cap.
    let requestCap: Int?
    /// `sm-seed`: secrets to create.
    let seedSecrets: Int

    private let ticketsTaken = Atomic<Int>(0)
    private let nextSeedSecret = Atomic<Int>(0)
    private let stopRequested = Atomic<Bool>(false)
    private let errorRecorded = Atomic<Bool>(false)
    private let firstErrorSample = Mutex<ErrorSample?>(nil)
    private let collected = Mutex<[WorkerReport]>([])
    private let setupFailureText = Mutex<String?>(nil)
    private let finished = Atomic<Int>(0)

    init(startNs: UInt64, warmup: Double, duration: Double, requestCap: Int?, seedSecrets: Int) {
        precondition(warmup >= 0 && duration > 0, "phases must not be negative")
        self.startNs = startNs
        measureStartNs = startNs + UInt64(warmup * 1e9)
        measureEndNs = measureStartNs + UInt64(duration * 1e9)
        self.requestCap = requestCap
        self.seedSecrets = seedSecrets
    }

    /// Takes the right to send one measured request; false once `requestCap` were taken.
    func takeTicket() -> Bool {
        guard let requestCap else { return true }
        if ticketsTaken.load(ordering: .relaxed) >= requestCap { return false }
        return ticketsTaken.wrappingAdd(1, ordering: .relaxed).oldValue < requestCap
    }

    /// The next secret to seed, each index handed out exactly once; nil when all were.
    func takeSeedSecret() -> Int? {
        if nextSeedSecret.load(ordering: .relaxed) >= seedSecrets { return nil }
        let index = nextSeedSecret.wrappingAdd(1, ordering: .relaxed).oldValue
        return index < seedSecrets ? index : nil
    }

    /// Asks every thread to stop at its next loop turn (the hard timeout).
    func requestStop() { stopRequested.store(true, ordering: .relaxed) }
    var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// Keeps `sample` if it is the run's first error; later ones cost one atomic load.
    func noteError(_ sample: @autoclosure () -> ErrorSample) {
        if errorRecorded.load(ordering: .relaxed) { return }
        let value = sample()
        firstErrorSample.withLock { first in
            if first == nil { first = value }
        }
        errorRecorded.store(true, ordering: .relaxed)
    }

    var firstError: ErrorSample? { firstErrorSample.withLock { $0 } }

    /// A thread's final report; called exactly once per thread, as its last act. A thread that
    /// could not set up its event loop says why.
    func finish(with report: WorkerReport, setupFailure: String? = nil) {
        if let setupFailure { setupFailureText.withLock { $0 = $0 ?? setupFailure } }
        collected.withLock { $0.append(report) }
        finished.add(1, ordering: .releasing)
    }

    /// Threads that have finished.
    var finishedCount: Int { finished.load(ordering: .acquiring) }
    var reports: [WorkerReport] { collected.withLock { $0 } }
    /// The first thread setup failure, if any.
    var setupFailure: String? { setupFailureText.withLock { $0 } }
}
