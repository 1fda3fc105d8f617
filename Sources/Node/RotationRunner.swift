import Audit
import Configuration
import Cryptography
import Foundation
import JSON
import Logging
import Platform
import RotationEngine
import SecretStore
import SecretsAPI
import Synchronization
import AWSProtocol

/// Runs rotations on the region's primary: AWS's four-step protocol over the node's rotation
/// functions (`RotationSettings`), with the decisions in `RotationEngine` (which rotation is
/// due, one run's steps, retries and timeouts) and the I/O here: the log writes that start and
/// finish a rotation, the function's invocations (`RotationInvoker`), the audit records.
///
/// A scheduler thread asks `RotationPlanner` every `checkIntervalSeconds` (and at once when
/// RotateSecret asks) what is due; each run has a thread of its own, which performs its
/// `RotationRun`'s actions one after the other. At most `maximumRuns` run at once; the others
/// wait for the next check. Only a primary runs rotations (a standby's state is its primary's,
/// which runs them); a new primary finds the schedules and the rotations in progress in the
/// replicated state and carries on.
final class RotationRunner: Sendable {
    static let maximumRuns = 8
    static let recentRuns = 32

    struct RunStatus: Sendable {
        var run: RotationRun
        var lastError: String?
        var finishedAt: Int64?
    }

    private struct State: Sendable {
        var running: [String: RunStatus] = [:]
        var recent: [RunStatus] = []
        /// Secrets whose last run failed: not tried again on their own before this time.
        var heldUntil: [String: Int64] = [:]
        var requests: [RotationHooks.Request] = []
        var stopping = false
    }

    private let settings: RotationSettings
    private let region: String
    private let storage: any SecretStorage
    private let sealer: ValueSealer
    private let invoker: RotationInvoker
    private let audit: AuditTrail
    private let log: Logger
    private let random: any RandomSource
    /// False on a standby: its primary runs the rotations.
    private let runs: Bool
    /// Whether this primary may act now: not while it confirms its epoch after a start, nor
    /// once a newer epoch fenced it. A function is never invoked by a node whose writes could
    /// be set aside (an old primary's setSecret would give a database a password the region's
    /// log never keeps).
    private let mayAct: @Sendable () -> Bool
    private let state = ConditionLock(State())
    private let scheduler = Mutex<OSThread?>(nil)

    init(settings: RotationSettings, region: String, storage: any SecretStorage, sealer: ValueSealer, invoker: RotationInvoker,
         audit: AuditTrail, log: Logger, random: any RandomSource, runs: Bool, mayAct: @escaping @Sendable () -> Bool) {
        self.settings = settings
        self.region = region
        self.storage = storage
        self.sealer = sealer
        self.invoker = invoker
        self.audit = audit
        self.log = log
        self.random = random
        self.runs = runs
        self.mayAct = mayAct
    }

    /// What RotateSecret needs of the runner.
    var hooks: RotationHooks {
        let functions = settings.functions
        return RotationHooks(canInvoke: { functions[$0] != nil },
                             minimumIntervalMillis: Int64(settings.minimumScheduleIntervalSeconds * 1000),
                             requested: { [self] request in
                                 state.withLock { $0.requests.append(request) }
                                 state.broadcast()
                             })
    }

    func start() throws(Errno) {
        guard runs else { return }
        let thread = try OSThread.start(name: "rotation") { [self] in schedule() }
        scheduler.withLock { $0 = thread }
    }

    /// Stops scheduling, stops the functions running (their process groups are killed within a
    /// second), and waits for the runs to end, so that nothing writes after the node's storage
    /// closes. A run cut short leaves AWSPENDING where it is: the next primary resumes it.
    func stop() {
        state.withLock { $0.stopping = true }
        state.broadcast()
        scheduler.withLock { thread -> OSThread? in
            defer { thread = nil }
            return thread
        }?.join()
        state.withLock(waitingUntil: { $0.running.isEmpty }, timeout: 10) { _, _ in () }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    static func nowMillis() -> Int64 { WallClock.millis() }

    // MARK: Scheduling

    private func schedule() {
        var nextCheck = 0.0
        while true {
            let (requests, stop) = state.withLock(waitingUntil: { !$0.requests.isEmpty || $0.stopping },
                                                  timeout: max(0, nextCheck - MonotonicClock.seconds())) { state, _ in
                defer { state.requests = [] }
                return (state.requests, state.stopping)
            }
            if stop { return }
            guard mayAct() else {
                // Asked while confirming: the request waits for the next check, which resumes
                // a rotation in progress from the state anyway.
                nextCheck = MonotonicClock.seconds() + settings.checkIntervalSeconds
                continue
            }
            for request in requests { begin(request) }
            if MonotonicClock.seconds() >= nextCheck {
                check()
                nextCheck = MonotonicClock.seconds() + settings.checkIntervalSeconds
            }
        }
    }

    /// Starts what the planner finds due.
    private func check() {
        let now = Self.nowMillis()
        let (running, held) = state.withLock { (Set($0.running.keys), $0.heldUntil) }
        let due = storage.read { state in RotationPlanner.due(state.secrets.values, now: now, running: running, heldUntil: held) }
        for item in due {
            switch item.kind {
            case .scheduled:
                guard let token = try? Random.uuidString(using: random) else { continue }
                launch(arn: item.secretARN, token: token, kind: .rotate, prepare: .startVersion)
            case .resume(let token):
                launch(arn: item.secretARN, token: token, kind: .rotate, prepare: .none)
            case .record(let token):
                let error = write(.finishRotation(secretId: item.secretARN, token: token), account: item.accountId)
                log.info("rotation of \(item.secretARN) (version \(token)): finished before the runner stopped; "
                    + (error.map { "recording it failed: \($0)" } ?? "recorded now"))
            }
        }
    }

    private func begin(_ request: RotationHooks.Request) {
        switch request.kind {
        case .rotate:
            launch(arn: request.secretARN, token: request.token, kind: .rotate, prepare: .none)
        case .test:
            launch(arn: request.secretARN, token: request.token, kind: .test, prepare: .stageTestVersion)
        case .resume:
            // "That rotation will be reattempted": the hold of a failed run is lifted.
            state.withLock { _ = $0.heldUntil.removeValue(forKey: request.secretARN) }
            let pending = storage.read { state in state.secrets[request.secretARN].flatMap(SecretState.rotationInProgress) }
            if let pending { launch(arn: request.secretARN, token: pending.versionId, kind: .rotate, prepare: .none) }
        }
    }

    private enum Preparation {
        /// The version exists already (RotateSecret made it, or a rotation resumes).
        case none
        /// A scheduled rotation: log the version (AWSPENDING, no value) first.
        case startVersion
        /// RotateImmediately false: stage the current value as `token`, AWSPENDING, for testSecret.
        case stageTestVersion
    }

    private func launch(arn: String, token: String, kind: RotationRun.Kind, prepare: Preparation) {
        let run = RotationRun(secretARN: arn, token: token, kind: kind, policy: policyFor(arn))
        let admitted = state.withLock { state -> Bool in
            guard !state.stopping, state.running[arn] == nil, state.running.count < Self.maximumRuns else { return false }
            state.running[arn] = RunStatus(run: run)
            return true
        }
        guard admitted else { return }
        do {
            try OSThread.startDetached(name: "rotate") { [self] in perform(run, prepare: prepare) }
        } catch {
            log.error("rotation of \(arn): cannot start a thread: \(error)")
            state.withLock { _ = $0.running.removeValue(forKey: arn) }
            state.broadcast()
        }
    }

    /// The settings' retries, with the timeout of the function the secret names.
    private func policyFor(_ arn: String) -> RotationPolicy {
        let lambda = storage.read { $0.secrets[arn]?.rotation.lambdaARN }
        let timeout = lambda.flatMap { settings.functions[$0]?.timeoutSeconds } ?? RotationSettings.Function.defaultTimeoutSeconds
        return RotationPolicy(stepTimeoutMillis: Int64(timeout * 1000), maxAttempts: settings.maxAttempts,
                              retryDelayMillis: Int64(settings.retryDelaySeconds * 1000))
    }

    // MARK: One run

    private func perform(_ initial: RotationRun, prepare: Preparation) {
        var run = initial
        var lastError: String?
        defer { finish(run, lastError: lastError) }
        let account = storage.read { $0.secrets[run.secretARN]?.accountId } ?? ""
        switch prepare {
        case .none:
            break
        case .startVersion:
            if let error = write(.startRotation(secretId: run.secretARN, token: run.token), account: account) {
                lastError = error
                report(.runFailed(nil, reason: "the rotation's version could not be made: \(error)"), run, account: account)
                return
            }
        case .stageTestVersion:
            if let error = stageTestVersion(run, account: account) {
                lastError = error
                report(.runFailed(nil, reason: "the version for testSecret could not be staged: \(error)"), run, account: account)
                return
            }
        }
        // A test's staged copy is removed however the test ends, while this node may still
        // write (otherwise it is a stale copy the next rotation moves AWSPENDING off).
        defer {
            if run.kind == .test, mayAct(), !isStopping { _ = removeTestVersion(run, account: account) }
        }
        var actions = run.start(now: Self.nowMillis())
        while !actions.isEmpty {
            var next: [RotationRun.Action] = []
            for action in actions {
                switch action {
                case .report(let report):
                    if case .stepFailed(_, _, let reason, _) = report { lastError = reason }
                    if case .runFailed(_, let reason) = report { lastError = reason }
                    self.report(report, run, account: account)
                case let .invoke(step, attempt, timeout):
                    update(run)
                    // Fenced (or confirming again) since the run began: it stops here, and
                    // the region's primary resumes it from the state.
                    if !mayAct() {
                        lastError = "this node stopped being its region's primary"
                        return
                    }
                    // CancelRotateSecret (or a deletion) since the run began: it is abandoned
                    // where it is, and AWSPENDING stays for the operator, as AWS leaves it.
                    if let reason = abandonment(run.secretARN) {
                        lastError = reason
                        self.report(.runFailed(step, reason: reason), run, account: account, abandoned: true)
                        return
                    }
                    let outcome = invoker.invoke(step: step, secretARN: run.secretARN, token: run.token, account: account,
                                                 attempt: attempt, timeoutSeconds: Double(timeout) / 1000,
                                                 cancelled: { [self] in isStopping || !mayAct() })
                    if isStopping || !mayAct() {
                        lastError = "stopped in the middle of \(step.rawValue): the node stopped or is no longer its region's primary"
                        return
                    }
                    next += run.stepEnded(outcome, now: Self.nowMillis())
                case .wake(let at):
                    update(run)
                    while Self.nowMillis() < at {
                        if isStopping { return }
                        OSThread.sleep(seconds: min(0.2, Double(at - Self.nowMillis()) / 1000))
                    }
                    next += run.tick(now: Self.nowMillis())
                case .recordFinish:
                    let error = run.kind == .rotate
                        ? write(.finishRotation(secretId: run.secretARN, token: run.token), account: account)
                        : removeTestVersion(run, account: account)
                    next += run.recorded(error: error, now: Self.nowMillis())
                }
            }
            actions = next
        }
    }

    /// Why a run in progress should stop: its rotation cancelled, its secret deleted or gone.
    private func abandonment(_ arn: String) -> String? {
        storage.read { state in
            guard let secret = state.secrets[arn] else { return "the secret no longer exists" }
            if secret.isScheduledForDeletion { return "the secret is scheduled for deletion" }
            if !secret.rotation.enabled { return "rotation was cancelled (CancelRotateSecret)" }
            return nil
        }
    }

    private func update(_ run: RotationRun) {
        state.withLock { state in state.running[run.secretARN]?.run = run }
    }

    private func finish(_ run: RotationRun, lastError: String?) {
        let now = Self.nowMillis()
        let next = storage.read { $0.secrets[run.secretARN]?.rotation.nextRotationDate }
        state.withLock { state in
            state.running.removeValue(forKey: run.secretARN)
            if case .failed = run.phase, run.kind == .rotate {
                // Not again on its own before its next window (or an hour): RotateSecret
                // resumes it at once, as AWS reattempts it.
                state.heldUntil[run.secretARN] = max(next ?? 0, now + 3_600_000)
            } else if case .notStarted = run.phase, lastError != nil {
                state.heldUntil[run.secretARN] = now + 60_000
            } else {
                state.heldUntil.removeValue(forKey: run.secretARN)
            }
            state.recent.append(RunStatus(run: run, lastError: lastError, finishedAt: now))
            if state.recent.count > Self.recentRuns { state.recent.removeFirst(state.recent.count - Self.recentRuns) }
        }
        state.broadcast()
    }

    /// Logs `command` as the rotation service (no caller to authorize) and waits for it to be
    /// durable; the error's message, or nil.
    private func write(_ command: Command, account: String) -> String? {
        guard let context = decisionContext(account: account) else { return "no randomness for the decision" }
        let done = ConditionLock<Result<JSONValue, AWSError>?>(nil)
        storage.write(command, context: context, completion: { result in
            done.withLock { $0 = result }
            done.broadcast()
        })
        let result = done.withLock(waitingUntil: { $0 != nil }) { $0 }
        if case .failure(let error) = result { return error.message ?? error.code.type }
        return nil
    }

    private func decisionContext(account: String) -> DecisionContext? {
        // The rotation's writes make no secret (the suffix is never used) and name their version.
        guard let versionId = try? Random.uuidString(using: random) else { return nil }
        return DecisionContext(now: Self.nowMillis(), region: region, accountId: account, arnSuffix: "AAAAAA", versionId: versionId)
    }

    /// RotateImmediately false: the current value, sealed again for the version `token`, staged
    /// AWSPENDING so that testSecret finds it (AWS: "The test creates an AWSPENDING version of
    /// the secret and then removes it").
    private func stageTestVersion(_ run: RotationRun, account: String) -> String? {
        guard let secret = storage.read({ $0.secrets[run.secretARN] }),
              let current = secret.version(withStage: StagingLabel.current), !current.sealed.isAbsent else {
            return "the secret has no AWSCURRENT value to test with"
        }
        do throws(AWSError) {
            let plaintext = try sealer.open(current.sealed, arn: secret.arn, versionId: current.versionId)
            let key = try sealer.key(for: secret.kmsKeyId, account: secret.accountId, region: region)
            let value = try sealer.seal(plaintext, kind: current.sealed.kind, key: key, account: secret.accountId, arn: secret.arn,
                                        versionId: run.token)
            return write(.putSecretValue(secretId: secret.arn, clientRequestToken: run.token, value: value,
                                         versionStages: [StagingLabel.pending]), account: account)
        } catch {
            return error.message ?? error.code.type
        }
    }

    private func removeTestVersion(_ run: RotationRun, account: String) -> String? {
        let holds = storage.read { $0.secrets[run.secretARN]?.version(id: run.token)?.stages.contains(StagingLabel.pending) } ?? false
        guard holds else { return nil }
        return write(.updateSecretVersionStage(secretId: run.secretARN, versionStage: StagingLabel.pending,
                                               removeFromVersionId: run.token, moveToVersionId: nil), account: account)
    }

    // MARK: Reports: the audit trail and the log

    private func report(_ report: RotationRun.Report, _ run: RotationRun, account: String, abandoned: Bool = false) {
        var (name, details, line) = Self.describe(report)
        if abandoned {
            name = "RotationAbandoned"
            line = "abandoned: " + line
        }
        var members: [(key: String, value: JSONValue)] = [
            ("SecretId", .string(run.secretARN)), ("ClientRequestToken", .string(run.token)), ("Kind", .string(run.kind.rawValue)),
        ]
        members += details
        let event = RotationAudit.event(name: name, region: region, account: account,
                                        details: .object(members), eventId: (try? Random.uuidString(using: random)) ?? "")
        do {
            try audit.reserve()
            try audit.append(event)
        } catch {
            log.error("rotation of \(run.secretARN): audit record \(name) not written: \(error)")
        }
        log.info("rotation of \(run.secretARN) (\(run.kind.rawValue), version \(run.token)): \(line)")
    }

    static func describe(_ report: RotationRun.Report) -> (String, [(key: String, value: JSONValue)], String) {
        switch report {
        case .runStarted:
            return ("RotationStarted", [], "started")
        case let .stepStarted(step, attempt):
            return ("RotationStepStarted", [("Step", .string(step.rawValue)), ("Attempt", .integer(attempt))],
                    "\(step.rawValue) started (attempt \(attempt))")
        case let .stepSucceeded(step, attempt):
            return ("RotationStepSucceeded", [("Step", .string(step.rawValue)), ("Attempt", .integer(attempt))],
                    "\(step.rawValue) succeeded")
        case let .stepFailed(step, attempt, reason, willRetry):
            return ("RotationStepFailed", [("Step", .string(step.rawValue)), ("Attempt", .integer(attempt)),
                                           ("Reason", .string(reason)), ("WillRetry", .bool(willRetry))],
                    "\(step.rawValue) failed (attempt \(attempt)\(willRetry ? ", will retry" : "")): \(reason)")
        case .runSucceeded:
            return ("RotationSucceeded", [], "succeeded")
        case let .runFailed(step, reason):
            return ("RotationFailed", [("Step", step.map { .string($0.rawValue) } ?? .null), ("Reason", .string(reason))],
                    "failed\(step.map { " at \($0.rawValue)" } ?? ""): \(reason) (AWSPENDING stays for the next attempt)")
        }
    }

    // MARK: Status

    /// For `strongroom status` and `strongroom rotation status`.
    func status() -> JSONValue {
        let (running, recent, held) = state.withLock { ($0.running.values.sorted { $0.run.secretARN < $1.run.secretARN }, $0.recent, $0.heldUntil) }
        func entry(_ status: RunStatus) -> JSONValue {
            let phase: String
            var step: JSONValue = .null
            var attempt: JSONValue = .null
            switch status.run.phase {
            case .notStarted: phase = "starting"
            case let .invoking(s, a): phase = "invoking"; step = .string(s.rawValue); attempt = .integer(a)
            case let .waiting(s, a, _): phase = "waiting to retry"; step = .string(s.rawValue); attempt = .integer(a)
            case .recording: phase = "recording"
            case .succeeded: phase = "succeeded"
            case let .failed(s, _): phase = "failed"; step = s.map { .string($0.rawValue) } ?? .null
            }
            return .object([
                ("secretId", .string(status.run.secretARN)), ("clientRequestToken", .string(status.run.token)),
                ("kind", .string(status.run.kind.rawValue)), ("phase", .string(phase)), ("step", step), ("attempt", attempt),
                ("startedAt", status.run.startedAt.map { .integer($0) } ?? .null),
                ("finishedAt", status.finishedAt.map { .integer($0) } ?? .null),
                ("lastError", status.lastError.map { .string($0) } ?? .null),
                ("heldUntil", held[status.run.secretARN].map { .integer($0) } ?? .null),
            ])
        }
        return .object([
            ("runsRotations", .bool(runs)),
            ("functions", .strings(settings.functions.keys.sorted())),
            ("running", .array(running.map(entry))),
            ("recent", .array(recent.reversed().map(entry))),
        ])
    }
}

/// The audit records of rotations: service events as CloudTrail records Secrets Manager's own
/// (`RotationStarted`, `RotationSucceeded`, `RotationFailed`), and one per step of ours.
enum RotationAudit {
    static func event(name: String, region: String, account: String, details: JSONValue, eventId: String) -> JSONValue {
        .object([
            ("eventVersion", .string("1.08")),
            ("userIdentity", .object([("accountId", .string(account)), ("invokedBy", .string("secretsmanager.amazonaws.com"))])),
            ("eventTime", .string(AWSTimestamp.extended(Date()))),
            ("eventSource", .string("secretsmanager.amazonaws.com")),
            ("eventName", .string(name)),
            ("awsRegion", .string(region)),
            ("sourceIPAddress", .string("secretsmanager.amazonaws.com")),
            ("userAgent", .string("secretsmanager.amazonaws.com")),
            ("requestParameters", .null),
            ("responseElements", .null),
            ("additionalEventData", details),
            ("eventID", .string(eventId)),
            ("readOnly", .bool(false)),
            ("eventType", .string("AwsServiceEvent")),
            ("managementEvent", .bool(true)),
            ("recipientAccountId", .string(account)),
            ("eventCategory", .string("Management")),
        ])
    }
}
