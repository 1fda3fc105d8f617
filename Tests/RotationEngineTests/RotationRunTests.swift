import Testing
@testable import RotationEngine

/// One run's steps, retries, timeouts and outcome, with a fake clock: the runner performs these
/// actions and nothing else.
@Suite struct RotationRunTests {
    static let policy = RotationPolicy(stepTimeoutMillis: 5_000, maxAttempts: 3, retryDelayMillis: 1_000)

    func run(_ kind: RotationRun.Kind = .rotate) -> RotationRun {
        RotationRun(secretARN: "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf", token: "t", kind: kind, policy: Self.policy)
    }

    static func invoked(_ actions: [RotationRun.Action]) -> [RotationStep] {
        actions.compactMap { if case let .invoke(step, _, _) = $0 { step } else { nil } }
    }

    @Test func theFourStepsRunInAWSsOrderThenTheOutcomeIsRecorded() {
        var r = run()
        var seen: [RotationStep] = Self.invoked(r.start(now: 0))
        var actions: [RotationRun.Action] = []
        for t in 1...3 {
            actions = r.stepEnded(.succeeded, now: Int64(t))
            seen += Self.invoked(actions)
        }
        #expect(seen == [.createSecret, .setSecret, .testSecret, .finishSecret])
        actions = r.stepEnded(.succeeded, now: 4)
        #expect(actions.contains(.recordFinish))
        #expect(r.phase == .recording)
        #expect(r.recorded(error: nil, now: 5) == [.report(.runSucceeded)])
        #expect(r.phase == .succeeded)
        // Nothing more happens to a finished run.
        #expect(r.stepEnded(.succeeded, now: 6).isEmpty && r.tick(now: 7).isEmpty)
    }

    @Test func aFailedStepIsRetriedAfterABackoffThatDoubles() {
        var r = run()
        _ = r.start(now: 0)
        _ = r.stepEnded(.succeeded, now: 10)  // createSecret
        var actions = r.stepEnded(.failed("exit status 1"), now: 20)  // setSecret, attempt 1
        #expect(actions.contains(.report(.stepFailed(.setSecret, attempt: 1, reason: "exit status 1", willRetry: true))))
        #expect(actions.contains(.wake(at: 1_020)))
        // Too early: nothing but a reminder.
        #expect(r.tick(now: 500) == [.wake(at: 1_020)])
        actions = r.tick(now: 1_020)
        #expect(actions.contains(.invoke(.setSecret, attempt: 2, timeoutMillis: 5_000)))
        actions = r.stepEnded(.timedOut, now: 7_000)
        #expect(actions.contains(.wake(at: 9_000)))  // 2 s after the second failure
        #expect(r.tick(now: 9_000).contains(.invoke(.setSecret, attempt: 3, timeoutMillis: 5_000)))
        actions = r.stepEnded(.failed("still down"), now: 9_500)
        #expect(actions.contains(.report(.runFailed(.setSecret, reason: "still down"))))
        #expect(r.phase == .failed(.setSecret, reason: "still down"))
        #expect(!actions.contains(.recordFinish))
    }

    @Test func aTimeoutIsReportedAsOne() {
        var r = run()
        _ = r.start(now: 0)
        let actions = r.stepEnded(.timedOut, now: 5_000)
        #expect(actions.contains(.report(.stepFailed(.createSecret, attempt: 1, reason: "timed out after 5 s", willRetry: true))))
    }

    @Test func aTestRunInvokesTestSecretOnly() {
        var r = run(.test)
        #expect(Self.invoked(r.start(now: 0)) == [.testSecret])
        #expect(r.stepEnded(.succeeded, now: 1).contains(.recordFinish))
        #expect(r.recorded(error: "refused", now: 2) == [.report(.runFailed(nil, reason: "refused"))])
    }

    @Test func startingTwiceDoesNothingTheSecondTime() {
        var r = run()
        #expect(!r.start(now: 0).isEmpty)
        #expect(r.start(now: 1).isEmpty)
    }

    /// Random outcomes: every run ends (succeeded or failed) within 4 × maxAttempts invocations,
    /// each step is invoked at most maxAttempts times, steps never go backwards, and it succeeds
    /// exactly when every step's last attempt succeeded.
    @Test func randomOutcomesAlwaysEndAndRespectTheBounds() {
        var seed: UInt64 = 0x5EED_0001
        func random() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for caseNumber in 0..<2_000 {
            var r = run()
            var now: Int64 = 0
            var actions = r.start(now: now)
            var invocations: [RotationStep: Int] = [:]
            var order: [RotationStep] = []
            var steps = 0
            while !r.phase.isFinished {
                steps += 1
                #expect(steps < 100, "case \(caseNumber): the run does not end")
                if steps >= 100 { break }
                var next: [RotationRun.Action] = []
                for action in actions {
                    switch action {
                    case let .invoke(step, attempt, _):
                        invocations[step, default: 0] += 1
                        #expect(attempt == invocations[step], "case \(caseNumber)")
                        if let last = order.last { #expect(RotationStep.allCases.firstIndex(of: step)! >= RotationStep.allCases.firstIndex(of: last)!) }
                        order.append(step)
                        now += 1
                        let roll = random() % 4
                        next += r.stepEnded(roll == 0 ? .failed("x") : roll == 1 ? .timedOut : .succeeded, now: now)
                    case .wake(let at):
                        now = at
                        next += r.tick(now: now)
                    case .recordFinish:
                        next += r.recorded(error: nil, now: now)
                    case .report:
                        break
                    }
                }
                actions = next
            }
            for (_, count) in invocations { #expect(count <= Self.policy.maxAttempts, "case \(caseNumber)") }
            if r.phase == .succeeded { #expect(Set(invocations.keys) == Set(RotationStep.allCases), "case \(caseNumber)") }
        }
    }
}
