internal import Glibc

/// A lock that protects a value and lets a thread sleep until the value satisfies a condition:
/// a `pthread_mutex_t` with a `pthread_cond_t` beside it.
///
/// `Synchronization.Mutex` has no condition variable, and a `pthread_cond_t` can only wait on a
/// `pthread_mutex_t` (apple/swift-subprocess `Thread.swift` makes the same choice). Dedicated
/// threads (the journal's group-commit writer) sleep here; never use it from async code.
public final class ConditionLock<State: Sendable>: @unchecked Sendable {
    // Safety: `state` is read and written only between pthread_mutex_lock and
    // pthread_mutex_unlock of `mutex` (in `withLock` and `withLock(waitingUntil:)`), and the
    // mutex and condition live at stable heap addresses for the object's whole life.
    private var state: State
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// Creates the lock around `initial`.
    public init(_ initial: State) {
        state = initial
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        let mutexResult = pthread_mutex_init(mutex, nil)
        precondition(mutexResult == 0, "pthread_mutex_init failed: \(mutexResult)")
        let conditionResult = pthread_cond_init(condition, nil)
        precondition(conditionResult == 0, "pthread_cond_init failed: \(conditionResult)")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held.
    public func withLock<Result, Failure: Error>(
        _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&state)
    }

    /// Sleeps until `condition` holds (checked with the lock held, again after every wake-up),
    /// then runs `body` with the lock still held.
    public func withLock<Result>(
        waitingUntil isReady: (borrowing State) -> Bool,
        _ body: (inout State) -> Result
    ) -> Result {
        lock()
        defer { unlock() }
        while !isReady(state) {
            let result = pthread_cond_wait(condition, mutex)
            precondition(result == 0, "pthread_cond_wait failed: \(result)")
        }
        return body(&state)
    }

    /// Sleeps until `condition` holds or `timeout` seconds have passed, then runs `body` with the
    /// lock held; `body` learns whether the condition held.
    public func withLock<Result>(
        waitingUntil isReady: (borrowing State) -> Bool, timeout: Double,
        _ body: (inout State, _ ready: Bool) -> Result
    ) -> Result {
        // The condition variable's clock is CLOCK_REALTIME (its default attribute).
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let total = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + max(0, timeout)
        var deadline = timespec()
        deadline.tv_sec = Int(total.rounded(.down))
        deadline.tv_nsec = min(999_999_999, Int((total - total.rounded(.down)) * 1e9))
        lock()
        defer { unlock() }
        while !isReady(state) {
            let result = pthread_cond_timedwait(condition, mutex, &deadline)
            if result == ETIMEDOUT { return body(&state, isReady(state)) }
            precondition(result == 0, "pthread_cond_timedwait failed: \(result)")
        }
        return body(&state, true)
    }

    /// Wakes one thread sleeping in `withLock(waitingUntil:)`.
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every thread sleeping in `withLock(waitingUntil:)`.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }

    private func lock() {
        let result = pthread_mutex_lock(mutex)
        precondition(result == 0, "pthread_mutex_lock failed: \(result)")
    }

    private func unlock() {
        let result = pthread_mutex_unlock(mutex)
        precondition(result == 0, "pthread_mutex_unlock failed: \(result)")
    }
}
