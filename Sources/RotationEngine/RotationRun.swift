/// One step of AWS's rotation protocol, named as the Lambda event's `Step` names it.
public enum RotationStep: String, Sendable, Hashable, CaseIterable {
    case createSecret
    case setSecret
    case testSecret
    case finishSecret
}

/// How a run treats its function: the time one invocation may take, how many times a step is
/// tried, and the wait before a retry (doubled after each failure, as Lambda's retries back off).
public struct RotationPolicy: Sendable, Hashable {
    public var stepTimeoutMillis: Int64
    public var maxAttempts: Int
    public var retryDelayMillis: Int64

    public init(stepTimeoutMillis: Int64 = 30_000, maxAttempts: Int = 3, retryDelayMillis: Int64 = 2_000) {
        precondition(stepTimeoutMillis > 0 && maxAttempts >= 1 && retryDelayMillis >= 0, "a usable rotation policy")
        self.stepTimeoutMillis = stepTimeoutMillis
        self.maxAttempts = maxAttempts
        self.retryDelayMillis = retryDelayMillis
    }

    /// The longest wait between two attempts, however many failed.
    public static let maximumDelayMillis: Int64 = 300_000

    /// The wait before attempt `attempt + 1` of a step that failed `attempt` times (doubling,
    /// at most five minutes).
    public func delay(after attempt: Int) -> Int64 {
        min(Self.maximumDelayMillis, retryDelayMillis << Int64(min(max(attempt - 1, 0), 16)))
    }
}

/// How one invocation of the function ended.
public enum StepOutcome: Sendable, Hashable {
    case succeeded
    /// The function answered with an error (an exit status, an HTTP status), with what it said
    /// (already stripped of secret values by the runner).
    case failed(String)
    /// It did not answer within the step's timeout and was stopped.
    case timedOut
}

/// One rotation of one secret as a pure state machine: the runner feeds it what happened
/// (`start`, `stepEnded`, `tick`, `recorded`) with the time, and performs the actions it
/// returns (invoke a step, record the outcome in the log, report). No clock, process or socket
/// inside, so that retries, timeouts and outcomes are tested with a fake clock.
///
/// A `.rotate` run invokes createSecret → setSecret → testSecret → finishSecret for its token
/// and then records the rotation (`recordFinish`: the runner logs `finishRotation`, which
/// checks that finishSecret made the version AWSCURRENT). A `.test` run (RotateImmediately
/// false) invokes testSecret only and then asks for its staged version's AWSPENDING to be
/// removed (`recordFinish` too). A step that fails is tried again after the policy's delay, up
/// to `maxAttempts`; after that the run fails and leaves everything as it is (AWSPENDING stays
/// on the version, so the next attempt resumes it, as AWS leaves a failed rotation).
public struct RotationRun: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case rotate
        case test
    }

    public enum Phase: Sendable, Hashable {
        case notStarted
        /// `step` is running (attempt `attempt`, 1-based).
        case invoking(RotationStep, attempt: Int)
        /// `step` failed `attempt` times; the next attempt is due at `until`.
        case waiting(RotationStep, attempt: Int, until: Int64)
        /// Every step succeeded; the outcome is being recorded in the log.
        case recording
        case succeeded
        /// The run gave up at `step` (nil: recording the outcome failed) with `reason`.
        case failed(RotationStep?, reason: String)

        public var isFinished: Bool {
            switch self {
            case .succeeded, .failed: true
            default: false
            }
        }
    }

    /// What the runner does next.
    public enum Action: Sendable, Hashable {
        /// Run the function for `step`; report with `stepEnded` (the runner stops it after
        /// `timeoutMillis` and reports `.timedOut`).
        case invoke(RotationStep, attempt: Int, timeoutMillis: Int64)
        /// Call `tick` at `at` or later.
        case wake(at: Int64)
        /// Record the run's outcome in the log; report with `recorded`.
        case recordFinish
        /// For the audit trail and the operators' status (never a secret value).
        case report(Report)
    }

    /// One thing worth an audit record.
    public enum Report: Sendable, Hashable {
        case runStarted
        case stepStarted(RotationStep, attempt: Int)
        case stepSucceeded(RotationStep, attempt: Int)
        case stepFailed(RotationStep, attempt: Int, reason: String, willRetry: Bool)
        case runSucceeded
        case runFailed(RotationStep?, reason: String)
    }

    public let secretARN: String
    public let token: String
    public let kind: Kind
    public let policy: RotationPolicy
    public private(set) var phase: Phase = .notStarted
    /// When the run started and last changed phase (milliseconds since the epoch).
    public private(set) var startedAt: Int64?
    public private(set) var updatedAt: Int64?

    public init(secretARN: String, token: String, kind: Kind, policy: RotationPolicy) {
        self.secretARN = secretARN
        self.token = token
        self.kind = kind
        self.policy = policy
    }

    /// The steps this run invokes, in order.
    public var steps: [RotationStep] { kind == .rotate ? RotationStep.allCases : [.testSecret] }

    public mutating func start(now: Int64) -> [Action] {
        guard case .notStarted = phase else { return [] }
        startedAt = now
        return [.report(.runStarted)] + invoke(steps[0], attempt: 1, now: now)
    }

    /// The invocation of the current step ended with `outcome`.
    public mutating func stepEnded(_ outcome: StepOutcome, now: Int64) -> [Action] {
        guard case let .invoking(step, attempt) = phase else { return [] }
        updatedAt = now
        switch outcome {
        case .succeeded:
            var actions: [Action] = [.report(.stepSucceeded(step, attempt: attempt))]
            if let index = steps.firstIndex(of: step), index + 1 < steps.count {
                actions += invoke(steps[index + 1], attempt: 1, now: now)
            } else {
                phase = .recording
                actions.append(.recordFinish)
            }
            return actions
        case .failed, .timedOut:
            let reason: String
            if case .failed(let said) = outcome { reason = said } else { reason = "timed out after \(policy.stepTimeoutMillis / 1000) s" }
            let retry = attempt < policy.maxAttempts
            var actions: [Action] = [.report(.stepFailed(step, attempt: attempt, reason: reason, willRetry: retry))]
            if retry {
                let until = now + policy.delay(after: attempt)
                phase = .waiting(step, attempt: attempt, until: until)
                actions.append(.wake(at: until))
            } else {
                phase = .failed(step, reason: reason)
                actions.append(.report(.runFailed(step, reason: reason)))
            }
            return actions
        }
    }

    /// Time passed: a step waiting for its retry is invoked again once its time has come.
    public mutating func tick(now: Int64) -> [Action] {
        guard case let .waiting(step, attempt, until) = phase else { return [] }
        guard now >= until else { return [.wake(at: until)] }
        return invoke(step, attempt: attempt + 1, now: now)
    }

    /// The outcome was recorded (nil) or refused with `error`.
    public mutating func recorded(error: String?, now: Int64) -> [Action] {
        guard case .recording = phase else { return [] }
        updatedAt = now
        if let error {
            phase = .failed(nil, reason: error)
            return [.report(.runFailed(nil, reason: error))]
        }
        phase = .succeeded
        return [.report(.runSucceeded)]
    }

    private mutating func invoke(_ step: RotationStep, attempt: Int, now: Int64) -> [Action] {
        phase = .invoking(step, attempt: attempt)
        updatedAt = now
        return [.report(.stepStarted(step, attempt: attempt)), .invoke(step, attempt: attempt, timeoutMillis: policy.stepTimeoutMillis)]
    }
}
