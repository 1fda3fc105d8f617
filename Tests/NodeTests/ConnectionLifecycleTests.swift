@testable import Admission
@testable import HTTPServer
import TestSupport
import Testing

/// Every deadline of a client connection, with a fake clock: the times below are seconds since
/// an arbitrary start, passed in; nothing waits.
@Suite struct ConnectionLifecycleTests {
    static let timeouts = ConnectionLifecycle.Timeouts(handshake: 10, silent: 3, header: 10, request: 30, idle: 60, handler: 120, linger: 2)

    func due(_ lifecycle: ConnectionLifecycle, at now: Double, readingHeaders: Bool = true) -> ConnectionLifecycle.DeadlineAction {
        lifecycle.deadline(now: now, readingHeaders: readingHeaders, timeouts: Self.timeouts)
    }

    /// A connection accepted at 100 whose handshake finished at once.
    func open() -> ConnectionLifecycle {
        var lifecycle = ConnectionLifecycle(acceptedAt: 100)
        lifecycle.bytesReceived()
        lifecycle.handshakeCompleted()
        return lifecycle
    }

    @Test func aSilentConnectionClosesAfterTheSilentTimeout() {
        let lifecycle = ConnectionLifecycle(acceptedAt: 100)
        #expect(due(lifecycle, at: 103) == .none)
        #expect(due(lifecycle, at: 103.01) == .close)
    }

    @Test func aStartedHandshakeGetsTheHandshakeTimeout() {
        var lifecycle = ConnectionLifecycle(acceptedAt: 100)
        lifecycle.bytesReceived()
        #expect(due(lifecycle, at: 109.9) == .none)
        #expect(due(lifecycle, at: 110.01) == .close)
    }

    @Test func slowHeadersAreAnswered408AfterTheHeaderTimeout() {
        var lifecycle = open()
        lifecycle.requestProgress(parserIdle: false, now: 200)
        lifecycle.requestProgress(parserIdle: false, now: 205)  // more bytes: the clock runs from the first
        #expect(due(lifecycle, at: 210) == .none)
        #expect(due(lifecycle, at: 210.01) == .requestTimeout)
    }

    @Test func aSlowBodyGetsTheRequestTimeout() {
        var lifecycle = open()
        lifecycle.requestProgress(parserIdle: false, now: 200)
        #expect(due(lifecycle, at: 229, readingHeaders: false) == .none)
        #expect(due(lifecycle, at: 230.01, readingHeaders: false) == .requestTimeout)
    }

    @Test func anIdleKeepAliveConnectionClosesAfterTheIdleTimeout() {
        var lifecycle = open()
        lifecycle.plaintextReceived(now: 150)
        lifecycle.requestProgress(parserIdle: false, now: 150)
        lifecycle.dispatched(now: 150)
        lifecycle.responded(keepAlive: true, now: 151)
        #expect(lifecycle.state == .open)
        #expect(due(lifecycle, at: 211) == .none)
        #expect(due(lifecycle, at: 211.01) == .close)
    }

    @Test func aHandlerThatNeverAnswersGets500() {
        var lifecycle = open()
        lifecycle.dispatched(now: 200)
        #expect(lifecycle.requestStartedAt == nil)
        #expect(due(lifecycle, at: 320) == .none)
        #expect(due(lifecycle, at: 320.01) == .handlerTimeout)
    }

    @Test func aPeerThatNeverReadsItsFinalAnswerIsNotKeptForever() {
        var lifecycle = open()
        lifecycle.dispatched(now: 200)
        lifecycle.responded(keepAlive: false, now: 201)
        #expect(lifecycle.state == .closingAfterFlush)
        #expect(due(lifecycle, at: 231) == .none)
        #expect(due(lifecycle, at: 231.01) == .close)
    }

    @Test func lingeringEndsAfterTheLingerTime() {
        var lifecycle = open()
        lifecycle.dispatched(now: 200)
        lifecycle.responded(keepAlive: false, now: 201)
        lifecycle.startLingering(now: 202)
        #expect(lifecycle.state == .lingering)
        #expect(due(lifecycle, at: 204) == .none)
        #expect(due(lifecycle, at: 204.01) == .close)
    }

    @Test func aWriteThatFailedBeforeTheAnswerStillEndsTheConnection() {
        var lifecycle = open()
        lifecycle.dispatched(now: 200)
        lifecycle.finishAfterFlush()  // the TLS session could not take the answer
        lifecycle.responded(keepAlive: false, now: 201)
        #expect(lifecycle.state == .closingAfterFlush)
    }

    @Test func aClosedConnectionHasNoDeadline() {
        var lifecycle = ConnectionLifecycle(acceptedAt: 100)
        lifecycle.closed()
        #expect(due(lifecycle, at: 1_000_000) == .none)
        #expect(lifecycle.standing(now: 1_000_000, parserIdle: true, hasPendingOutput: false) == nil)
    }

    @Test func standingsFollowTheState() {
        var lifecycle = ConnectionLifecycle(acceptedAt: 100)
        #expect(lifecycle.standing(now: 100.1, parserIdle: true, hasPendingOutput: false) == .fresh)
        #expect(lifecycle.standing(now: 100.3, parserIdle: true, hasPendingOutput: false) == .silent)
        lifecycle.bytesReceived()
        #expect(lifecycle.standing(now: 100.3, parserIdle: true, hasPendingOutput: false) == .handshaking)
        lifecycle.handshakeCompleted()
        #expect(lifecycle.standing(now: 101, parserIdle: true, hasPendingOutput: false) == .idle)
        #expect(lifecycle.standing(now: 101, parserIdle: true, hasPendingOutput: true) == .reading)
        lifecycle.requestProgress(parserIdle: false, now: 101)
        #expect(lifecycle.standing(now: 101, parserIdle: false, hasPendingOutput: false) == .reading)
        lifecycle.dispatched(now: 102)
        #expect(lifecycle.standing(now: 102, parserIdle: true, hasPendingOutput: false) == nil)
        lifecycle.responded(keepAlive: false, now: 103)
        #expect(lifecycle.standing(now: 103, parserIdle: true, hasPendingOutput: true) == .reading)
        lifecycle.startLingering(now: 104)
        #expect(lifecycle.standing(now: 104, parserIdle: true, hasPendingOutput: false) == .lingering)
    }

    /// Random legal event sequences: a deadline is never due before its time, and every state
    /// reaches a deadline eventually (nothing is kept forever).
    @Test func everyStateEndsEventually() {
        var rng = SplitMix64(seed: 0x11FE)
        for _ in 0..<2_000 {
            var lifecycle = ConnectionLifecycle(acceptedAt: 0)
            var now = 0.0
            for _ in 0..<Int.random(in: 0..<8, using: &rng) {
                if lifecycle.state == .lingering { break }  // nothing more happens: check at its start
                now += Double.random(in: 0..<1, using: &rng)
                switch (lifecycle.state, Int.random(in: 0..<4, using: &rng)) {
                case (.handshaking, 0): lifecycle.bytesReceived()
                case (.handshaking, _): lifecycle.bytesReceived(); lifecycle.handshakeCompleted()
                case (.open, 0): lifecycle.requestProgress(parserIdle: false, now: now)
                case (.open, 1): lifecycle.dispatched(now: now)
                case (.open, _): lifecycle.plaintextReceived(now: now)
                case (.awaitingResponse, 0): lifecycle.responded(keepAlive: false, now: now)
                case (.awaitingResponse, _): lifecycle.responded(keepAlive: true, now: now)
                case (.closingAfterFlush, _): lifecycle.startLingering(now: now)
                case (.lingering, _), (.closed, _): break
                }
            }
            #expect(due(lifecycle, at: now) == .none || lifecycle.state == .closed, "\(lifecycle) at \(now)")
            #expect(lifecycle.state == .closed || due(lifecycle, at: now + 1_000) != .none)
        }
    }
}
