import Platform
import TLS

/// Runs one load test: starts the event-loop threads, measures the process's CPU over the
/// measured phase, waits for the threads and merges what they measured.
///
/// Guarantees:
/// - The run is bounded: threads stop by themselves at the end of the measured phase (or when
///   their work is done); if any is still running `--timeout` seconds later, the run stops
///   waiting and throws `LoadRunError.stuck`.
/// - The CPU figure is the whole process's user + system time (getrusage) between the start
///   and the end of the measured phase, divided by that wall time: 100% is one core busy.
public enum LoadRun {
    /// Connections per thread: `concurrency` split as evenly as possible.
    static func connections(concurrency: Int, threads: Int) -> [Int] {
        (0..<threads).map { concurrency / threads + ($0 < concurrency % threads ? 1 : 0) }
    }

    /// Runs `options` to completion.
    /// - Throws: `LoadRunError` when TLS cannot be configured, a thread cannot start, or the
    ///   run does not end in time.
    public static func execute(_ options: LoadOptions) throws(LoadRunError) -> LoadResult {
        var context: TLSContext?
        if options.url.isTLS {
            do {
                context = try TLSContext.client(trustedCAFile: options.caFile ?? "", minimumVersion: .tls12)
            } catch {
                throw LoadRunError("TLS: \(error)")
            }
        }
        ResourceLimits.raiseOpenFileLimit()
        let threads = min(options.threads, options.concurrency)
        let control = RunControl(
            startNs: MonotonicClock.nanoseconds(), warmup: options.warmup, duration: options.duration,
            requestCap: options.requests, seedSecrets: options.workload.isWorkQueue ? options.secrets : 0
        )
        var started: [OSThread] = []
        for (thread, count) in connections(concurrency: options.concurrency, threads: threads).enumerated() {
            do {
                started.append(try OSThread.start(name: "load-\(thread)") { [context] in
                    do {
                        let worker = try LoadWorker(options: options, control: control, tls: context, thread: thread, connections: count)
                        worker.run()
                    } catch {
                        control.finish(with: WorkerReport(), setupFailure: "\(error)")
                    }
                })
            } catch {
                control.requestStop()
                started.forEach { $0.join() }
                throw LoadRunError("cannot start thread: \(error)")
            }
        }

        while MonotonicClock.nanoseconds() < control.measureStartNs && control.finishedCount < started.count {
            OSThread.sleep(seconds: min(0.005, Double(control.measureStartNs &- MonotonicClock.nanoseconds()) / 1e9))
        }
        let cpuStart = ProcessCPU.times()
        let wallStart = MonotonicClock.nanoseconds()
        let giveUpNs = control.measureEndNs + UInt64(options.timeout * 1e9)
        while control.finishedCount < started.count {
            let now = MonotonicClock.nanoseconds()
            if now >= giveUpNs {
                control.requestStop()
                // Threads that are stuck cannot be interrupted; the process exits without them.
                throw LoadRunError.stuck(seconds: options.timeout)
            }
            OSThread.sleep(seconds: min(0.005, Double(giveUpNs - now) / 1e9))
        }
        let wallEnd = MonotonicClock.nanoseconds()
        let cpuEnd = ProcessCPU.times()
        started.forEach { $0.join() }
        if let failure = control.setupFailure { throw LoadRunError("event loop: \(failure)") }

        var merged = WorkerReport()
        for report in control.reports {
            merged.histogram.merge(report.histogram)
            merged.requests += report.requests
            merged.errors += report.errors
            merged.retries += report.retries
            merged.lastCompletionNs = max(merged.lastCompletionNs, report.lastCompletionNs)
            merged.buildNs += report.buildNs
            merged.built += report.built
        }
        let measuredWall = Double(max(wallEnd, wallStart + 1) - wallStart) / 1e9
        // A run that ends early (a request cap, finished seeding) lasted until its last answer.
        let endedEarly = options.requests != nil || options.workload.isWorkQueue
        var seconds = options.duration
        if endedEarly && merged.lastCompletionNs > control.measureStartNs {
            seconds = Double(merged.lastCompletionNs - control.measureStartNs) / 1e9
        } else if endedEarly {
            seconds = measuredWall
        }
        return LoadResult(
            label: options.label, workload: options.workload, concurrency: options.concurrency, threads: threads,
            requests: merged.requests, errors: merged.errors, retries: merged.retries, seconds: seconds,
            histogram: merged.histogram,
            cpuPercent: (cpuEnd.total - cpuStart.total) / measuredWall * 100,
            cores: ProcessCPU.onlineCores,
            buildMicros: merged.built == 0 ? 0 : Double(merged.buildNs) / Double(merged.built) / 1000,
            firstError: control.firstError
        )
    }
}

/// A run that could not be carried out (as opposed to one whose requests failed).
public struct LoadRunError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func stuck(seconds: Double) -> LoadRunError {
        LoadRunError("the run did not end within \(seconds) s of its measured phase; abandoned")
    }
}
