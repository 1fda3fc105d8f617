import Configuration
import Cryptography
import Foundation
import HTTP1
import JSON
import Links
import Logging
import Platform
import RotationEngine
import SecretStore
import SecretsAPI
import Synchronization
import TLS

/// Invokes a rotation function for one step, as AWS invokes a rotation Lambda: the event
/// `{"Step", "SecretId", "ClientRequestToken", "RotationToken"}` as JSON, to an executable's
/// standard input (with session credentials of the rotation role, the region and the node's
/// endpoint in its environment: what a Lambda written with boto3 reads) or POSTed to an HTTPS
/// webhook. What the function prints goes to the node's log with every value of the secret
/// (and of the secret its `masterarn` names) replaced by `[REDACTED]`.
final class RotationInvoker: Sendable {
    static let maximumLoggedLines = 40
    static let maximumResponseBytes = 65_536

    private let settings: RotationSettings
    private let region: String
    private let endpointURL = Mutex<String>("")
    private let caFile: String
    private let identities: @Sendable () -> IAMConfiguration
    private let storage: any SecretStorage
    private let sealer: ValueSealer
    private let log: Logger
    private let random: any RandomSource

    init(settings: RotationSettings, region: String, caFile: String,
         identities: @escaping @Sendable () -> IAMConfiguration, storage: any SecretStorage, sealer: ValueSealer, log: Logger,
         random: any RandomSource) {
        self.settings = settings
        self.region = region
        self.caFile = caFile
        self.identities = identities
        self.storage = storage
        self.sealer = sealer
        self.log = log
        self.random = random
    }

    /// The node's API, as functions reach it: a wildcard listen address is reached on loopback.
    func setEndpoint(_ address: SocketAddress) {
        let loopback = ["0.0.0.0": "127.0.0.1", "::": "::1"][address.host].flatMap { SocketAddress(host: $0, port: address.port) }
        endpointURL.withLock { $0 = "https://\(loopback ?? address)" }
    }

    func invoke(step: RotationStep, secretARN: String, token: String, account: String, attempt: Int, timeoutSeconds: Double,
                cancelled: @escaping () -> Bool) -> StepOutcome {
        guard let lambda = storage.read({ $0.secrets[secretARN]?.rotation.lambdaARN }) else {
            return .failed("the secret has no rotation function")
        }
        guard let function = settings.functions[lambda] else {
            return .failed("no rotation function is registered on this node for \(lambda)")
        }
        let rotationToken = (try? Random.uuidString(using: random)) ?? token
        let event = JSONValue.object([
            ("Step", .string(step.rawValue)), ("SecretId", .string(secretARN)), ("ClientRequestToken", .string(token)),
            ("RotationToken", .string(rotationToken)),
        ])
        let label = "rotation function \(Self.functionName(lambda)) \(step.rawValue) for \(secretARN)"
        switch function.target {
        case let .executable(path, arguments):
            return runExecutable(path, arguments: arguments, function: function, lambda: lambda, event: event, account: account,
                                 secretARN: secretARN, timeout: timeoutSeconds, label: label, cancelled: cancelled)
        case let .webhook(url, ca):
            // On a thread of its own, so that a node stopping (or deposed) does not wait for a
            // slow webhook's timeout: the run stops at once and the answer, when it comes, is
            // only logged.
            let answer = ConditionLock<StepOutcome?>(nil)
            let trusted = ca ?? caFile
            do {
                try OSThread.startDetached(name: "webhook") { [self] in
                    let outcome = post(event, to: url, caFile: trusted, timeout: timeoutSeconds, secretARN: secretARN, label: label)
                    answer.withLock { $0 = outcome }
                    answer.broadcast()
                }
            } catch {
                return .failed("cannot start a thread for the webhook: \(error)")
            }
            while true {
                let outcome = answer.withLock(waitingUntil: { $0 != nil }, timeout: 0.2) { value, _ in value }
                if let outcome { return outcome }
                if cancelled() { return .failed("stopped waiting for the webhook: the node stopped or is no longer the primary") }
            }
        }
    }

    /// The node's environment variables a function gets: where to find programs and libraries,
    /// the locale and the time zone.
    static func inherited(_ name: String) -> Bool {
        ["PATH", "HOME", "LANG", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYENV_ROOT", "PYENV_VERSION", "LD_LIBRARY_PATH", "SSL_CERT_FILE"].contains(name)
            || name.hasPrefix("LC_") || name.hasPrefix("PYTHON")
    }

    static func functionName(_ lambda: String) -> String {
        let parts = lambda.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 6 ? String(parts[6]) : lambda
    }

    /// The rotation role's ARN for a secret of `account`: a name is a role of that account.
    func roleARN(_ function: RotationSettings.Function, account: String) -> String {
        let role = function.role ?? settings.role
        return role.hasPrefix("arn:") ? role : "arn:aws:iam::\(account):role/\(role)"
    }

    private func runExecutable(
        _ path: String, arguments: [String], function: RotationSettings.Function, lambda: String, event: JSONValue, account: String,
        secretARN: String, timeout: Double, label: String, cancelled: @escaping () -> Bool
    ) -> StepOutcome {
        let role = roleARN(function, account: account)
        let credentials: SessionCredentials
        do {
            credentials = try identities().issueSession(principalArn: role, sessionName: "strongroom-rotation",
                                                        durationSeconds: Int64(settings.sessionDurationSeconds), tags: [:],
                                                        now: Date(), random: random)
        } catch {
            return .failed("no session credentials for the rotation role \(role): \(error.message)")
        }
        let endpoint = endpointURL.withLock { $0 }
        let secretKey = String(decoding: credentials.secretAccessKey.unsafeCopiedBytes, as: UTF8.self)
        // What finds programs and libraries comes from the node's own environment (an operator's
        // PATH, a virtualenv, PYTHONPATH); nothing else of it, its AWS_ variables least of all.
        var environment: [String: String] = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"]
        for (key, value) in ProcessInfo.processInfo.environment where Self.inherited(key) { environment[key] = value }
        environment.merge([
            "AWS_ACCESS_KEY_ID": credentials.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": secretKey,
            "AWS_SESSION_TOKEN": credentials.sessionToken,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "SECRETS_MANAGER_ENDPOINT": endpoint,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
            "AWS_CA_BUNDLE": caFile,
            "AWS_LAMBDA_FUNCTION_NAME": Self.functionName(lambda),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": String(Int(timeout)),
        ]) { _, given in given }
        for (key, value) in function.environment { environment[key] = value }
        let outcome: Subprocess.Outcome
        do {
            outcome = try Subprocess.run(path, arguments: arguments, environment: environment, input: event.serializedBytes(),
                                         timeout: timeout, cancelled: cancelled)
        } catch {
            return .failed("cannot run \(path): \(error.message)")
        }
        var lines: [String] = []
        if !outcome.standardOutput.isEmpty || !outcome.standardError.isEmpty {
            // The whole text is redacted before it is split into lines (a value may span lines),
            // with the session's own credentials among the values.
            let redactor = Redactor(values: secretValues(secretARN) + [credentials.accessKeyId, secretKey, credentials.sessionToken])
            for (stream, bytes) in [("stdout", outcome.standardOutput), ("stderr", outcome.standardError)] {
                var text = redactor.redact(String(decoding: bytes, as: UTF8.self))
                // Cut at the output bound, the last line may end inside a value: it is dropped.
                if outcome.truncated, let lastBreak = text.lastIndex(of: "\n") { text = String(text[..<lastBreak]) }
                for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                    lines.append("\(stream): \(line)")
                }
            }
        }
        for line in lines.prefix(Self.maximumLoggedLines) { log.info("\(label): \(line)") }
        if lines.count > Self.maximumLoggedLines { log.info("\(label): \(lines.count - Self.maximumLoggedLines) more lines not logged") }
        if outcome.timedOut { return .timedOut }
        if outcome.succeeded { return .succeeded }
        let said = lines.last { $0.hasPrefix("stderr: ") }.map { String($0.dropFirst(8)) } ?? lines.last ?? ""
        let how = outcome.exitStatus.map { "exit status \($0)" } ?? "signal \(outcome.signal ?? 0)"
        return .failed(said.isEmpty ? how : "\(how): \(String(said.prefix(300)))")
    }

    private func post(_ event: JSONValue, to url: TargetURL, caFile: String, timeout: Double, secretARN: String, label: String) -> StepOutcome {
        let deadline = MonotonicClock.seconds() + timeout
        do {
            let context = try TLSContext.client(trustedCAFile: caFile, minimumVersion: .tls12)
            let stream = try TLSStream.connect(to: url.address, context: context, expectedPeerIP: url.address.host, timeout: timeout)
            defer { stream.close() }
            let body = event.serializedBytes()
            let head = "POST \(url.path) HTTP/1.1\r\nHost: \(url.authority)\r\nContent-Type: application/json\r\n"
                + "User-Agent: strongroom-rotation\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            try stream.write(Array(head.utf8) + body, timeout: max(0, deadline - MonotonicClock.seconds()))
            var reader = HTTPResponseReader(
                parser: HTTPResponseParser(captureLimit: Self.maximumResponseBytes, captureSuccessBodies: true),
                byteLimit: Self.maximumResponseBytes + HTTPResponseParser.Limits().headBytes)
            let response = try reader.read(from: stream, deadline: deadline).response
            if !response.bodyPrefix.isEmpty {
                // Redacted whole, then shortened for the log.
                let text = Redactor(values: secretValues(secretARN)).redact(String(decoding: response.bodyPrefix, as: UTF8.self))
                log.info("\(label): HTTP \(response.status): \(String(text.prefix(2048)))")
            }
            return (200..<300).contains(response.status) ? .succeeded : .failed("HTTP status \(response.status)")
        } catch {
            if MonotonicClock.seconds() >= deadline { return .timedOut }
            return .failed("webhook \(url.authority)\(url.path): \(error)")
        }
    }

    /// Every value the function could print: the secret's labelled versions' values, their
    /// JSON members, and the values of the secret a `masterarn` member names.
    func secretValues(_ secretARN: String) -> [String] {
        var values: [String] = []
        var masters: [String] = []
        func collect(_ arn: String, followMaster: Bool) {
            guard let secret = storage.read({ $0.secrets[arn] }) else { return }
            for version in secret.versions where !version.isDeprecated && !version.sealed.isAbsent {
                guard let plaintext = try? sealer.open(version.sealed, arn: secret.arn, versionId: version.versionId) else { continue }
                let text = String(decoding: plaintext.unsafeCopiedBytes, as: UTF8.self)
                values.append(text)
                if followMaster, let json = try? JSONValue.parse(Array(text.utf8)), let master = json["masterarn"]?.stringValue {
                    masters.append(master)
                }
            }
        }
        collect(secretARN, followMaster: true)
        let owned = storage.read { state in masters.compactMap { state.secrets[$0] != nil ? $0 : nil } }
        for master in owned { collect(master, followMaster: false) }
        return values
    }
}

/// Replaces secret values in text a function printed: every whole value, each line of a value
/// that spans lines, their JSON-escaped forms (what `json.dumps` prints), and the string
/// members of values that are JSON objects. Short members (a port, an engine's name) are left:
/// only members of at least `minimumLength` characters are hidden; whole values always are.
struct Redactor {
    static let minimumLength = 6
    static let mark = "[REDACTED]"
    let values: [String]

    init(values: [String], members: [String] = []) {
        var candidates = Set<String>()
        func add(_ value: String, whole: Bool) {
            guard !value.isEmpty, whole || value.count >= Self.minimumLength else { return }
            candidates.insert(value)
            let escaped = JSONValue.string(value).serialized()
            if escaped.count > 2 { candidates.insert(String(escaped.dropFirst().dropLast())) }
            if value.contains("\n") {
                for line in value.split(separator: "\n") where line.count >= Self.minimumLength { candidates.insert(String(line)) }
            }
        }
        for value in values {
            add(value, whole: true)
            if let json = try? JSONValue.parse(Array(value.utf8)), case .object(let object) = json {
                for member in object {
                    if let text = member.value.stringValue { add(text, whole: false) }
                }
            }
        }
        for member in members { add(member, whole: false) }
        // Longest first, so that a value containing another is replaced whole.
        self.values = candidates.sorted { $0.count > $1.count }
    }

    func redact(_ text: String) -> String {
        var out = text
        for value in values where out.contains(value) {
            out = out.replacingOccurrences(of: value, with: Self.mark)
        }
        return out
    }
}
