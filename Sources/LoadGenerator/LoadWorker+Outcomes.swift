import HTTP1
import Platform

extension LoadWorker {
    /// A complete response for the slot's request: record it, then send the next request.
    func completed(_ index: Int, _ response: HTTPResponseSummary, reusable: Bool) {
        let now = MonotonicClock.nanoseconds()
        if !reusable { closeConnection(index) }
        var failed = !response.isSuccess
        // Seeding is idempotent: a secret or version already there is what was asked for.
        if failed && options.workload.isWorkQueue && response.status == 400
            && String(decoding: response.bodyPrefix, as: UTF8.self).contains("ResourceExistsException") {
            failed = false
        }
        if slots[index].measured && now < control.measureEndNs {
            report.histogram.record(now &- slots[index].sentNs)
            report.requests += 1
            report.lastCompletionNs = now
            if failed {
                report.errors += 1
                control.noteError(ErrorSample(status: response.status, message: String(decoding: response.bodyPrefix, as: UTF8.self)))
            }
        }
        requestDone(index)
        sendNext(index, now: now)
    }

    /// The slot's connection failed (or could not be opened). A request the server dropped on
    /// a reused connection before answering is re-sent at once; otherwise the request is
    /// counted as an error (or, for `sm-seed`, tried again up to `seedAttempts` times) and the
    /// slot reconnects after `reconnectDelayNs`.
    func connectionFailed(_ index: Int, _ message: String, now: UInt64, retryable: Bool = false) {
        closeConnection(index)
        guard slots[index].inFlight else { return scheduleRetry(index, now: now) }
        if retryable {
            report.retries += 1
            return sendNext(index, now: now)
        }
        if options.workload.isWorkQueue && slots[index].attempts + 1 < Self.seedAttempts {
            slots[index].attempts += 1
            return scheduleRetry(index, now: now)
        }
        if slots[index].measured && now < control.measureEndNs {
            report.requests += 1
            report.errors += 1
            report.lastCompletionNs = now
            control.noteError(ErrorSample(status: nil, message: message))
        }
        requestDone(index)
        scheduleRetry(index, now: now)
    }

    /// Sends what is due: slots whose reconnect delay has passed.
    func runRetries(now: UInt64) {
        for index in slots.indices where slots[index].retryAtNs != 0 && slots[index].retryAtNs <= now {
            slots[index].retryAtNs = 0
            waitingRetries -= 1
            sendNext(index, now: now)
        }
    }

    // MARK: - Pieces

    private func requestDone(_ index: Int) {
        slots[index].inFlight = false
        slots[index].retainedRequest = []
        guard options.workload.isWorkQueue else { return }
        slots[index].seedStep += 1
        if slots[index].seedStep > options.versions { slots[index].seedSecret = nil }
    }

    private func scheduleRetry(_ index: Int, now: UInt64) {
        guard slots[index].retryAtNs == 0, !slots[index].finished else { return }
        slots[index].retryAtNs = now + Self.reconnectDelayNs
        waitingRetries += 1
    }

    func closeConnection(_ index: Int) {
        slots[index].connection = nil
        poller.retire(index)
    }
}
