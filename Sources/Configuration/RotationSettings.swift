import JSON
public import Platform

/// The node's rotation functions and how it runs them: the `rotation` section of its
/// configuration.
///
/// ```json
/// "rotation": {
///   "functions": {
///     "arn:aws:lambda:us-east-1:123456789012:function:postgres-single": {
///       "executable": "/opt/strongroom/rotators/postgresql-single-user",
///       "arguments": [], "environment": {"EXCLUDE_CHARACTERS": "/@\"'\\"}, "timeoutSeconds": 30
///     },
///     "arn:aws:lambda:us-east-1:123456789012:function:hook": {
///       "webhook": "https://10.0.0.5:8443/rotate", "ca": "hook-ca.pem", "timeoutSeconds": 30
///     }
///   },
///   "role": "strongroom-rotation",
///   "maxAttempts": 3, "retryDelaySeconds": 2, "checkIntervalSeconds": 5,
///   "minimumScheduleIntervalSeconds": 14400, "sessionDurationSeconds": 900
/// }
/// ```
/// A function is an executable (run once per step, AWS's Lambda event as JSON on its standard
/// input, session credentials of the rotation role and the node's endpoint in its environment)
/// or an HTTPS webhook (the event POSTed as JSON; a 2xx answer is success). `role` is the role
/// whose session credentials an executable gets: a role name, taken in the secret's own
/// account, or a whole role ARN; a function may name its own. The schedule floor is AWS's four
/// hours unless lowered (for tests: then `rate(N minutes)` is accepted too).
public struct RotationSettings: Sendable, Equatable {
    public struct Function: Sendable, Equatable {
        public enum Target: Sendable, Equatable {
            case executable(path: String, arguments: [String])
            case webhook(url: TargetURL, caFile: String?)
        }

        public var target: Target
        /// Added to an executable's environment.
        public var environment: [String: String] = [:]
        /// This function's role (a name or an ARN); nil: the section's.
        public var role: String?
        public var timeoutSeconds: Double = Function.defaultTimeoutSeconds

        /// A step's time when the function names none (AWS's rotation templates use 30 s).
        public static let defaultTimeoutSeconds: Double = 30

        public init(target: Target, environment: [String: String] = [:], role: String? = nil,
                    timeoutSeconds: Double = Function.defaultTimeoutSeconds) {
            self.target = target
            self.environment = environment
            self.role = role
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// By Lambda function ARN, exactly as RotateSecret's `RotationLambdaARN` names it.
    public var functions: [String: Function] = [:]
    public var role = "strongroom-rotation"
    public var maxAttempts = 3
    public var retryDelaySeconds: Double = 2
    public var checkIntervalSeconds: Double = 5
    public var minimumScheduleIntervalSeconds: Double = 14_400
    public var sessionDurationSeconds = 900

    public init() {}

    /// Whether `arn` is a Lambda function ARN: `arn:aws:lambda:REGION:ACCOUNT:function:NAME`,
    /// optionally with a version or alias.
    public static func isFunctionARN(_ arn: String) -> Bool {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 7 || parts.count == 8, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "lambda",
              // The account is digits; not only twelve of them: the AWS CLI reference's own example
              // (rotate-secret) names a thirteen-digit one, and an operator may register it.
              NodeConfiguration.isValidRegion(String(parts[3])), !parts[4].isEmpty, parts[4].allSatisfy(\.isNumber),
              parts[5] == "function", (1...64).contains(parts[6].count) else { return false }
        let nameCharacters: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        guard parts[6].allSatisfy(nameCharacters) else { return false }
        if parts.count == 8 { return parts[7] == "$LATEST" || (!parts[7].isEmpty && parts[7].allSatisfy(nameCharacters)) }
        return true
    }

    static func decode(_ value: JSONValue, base: String) throws(NodeConfiguration.Problem) -> RotationSettings {
        typealias Problem = NodeConfiguration.Problem
        let root = try SettingsObject(value, prefix: "rotation.", known: [
            "functions", "role", "maxAttempts", "retryDelaySeconds", "checkIntervalSeconds", "minimumScheduleIntervalSeconds",
            "sessionDurationSeconds",
        ], notAnObject: "'rotation' must be an object")
        var settings = RotationSettings()
        func number(_ key: String, _ range: ClosedRange<Double>) throws(Problem) -> Double? {
            guard let raw = root[key] else { return nil }
            guard let number = raw.doubleValue, range.contains(number) else {
                throw Problem("'rotation.\(key)' must be a number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        if let n = try number("maxAttempts", 1...20) {
            guard n == n.rounded() else { throw Problem("'rotation.maxAttempts' must be a whole number") }
            settings.maxAttempts = Int(n)
        }
        if let n = try number("retryDelaySeconds", 0...3600) { settings.retryDelaySeconds = n }
        if let n = try number("checkIntervalSeconds", 0.1...3600) { settings.checkIntervalSeconds = n }
        if let n = try number("minimumScheduleIntervalSeconds", 60...14_400) { settings.minimumScheduleIntervalSeconds = n }
        if let n = try number("sessionDurationSeconds", 900...43_200) { settings.sessionDurationSeconds = Int(n) }
        if let role = root["role"] {
            guard case .string(let text) = role, !text.isEmpty else { throw Problem("'rotation.role' must be a role name or a role ARN") }
            settings.role = text
        }
        guard let functions = root["functions"] else { return settings }
        // An ARN given twice is refused (SettingsObject's rule), not silently the last one.
        let entries = try SettingsObject(functions, prefix: "rotation.functions.", known: nil,
                                         notAnObject: "'rotation.functions' must be an object keyed by Lambda function ARN")
        for arn in entries.names.sorted() {
            let body = entries[arn] ?? .null
            let prefix = "rotation.functions[\(arn)]."
            guard isFunctionARN(arn) else {
                throw Problem("'rotation.functions' key '\(arn)' is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)")
            }
            let object = try SettingsObject(body, prefix: prefix, known: [
                "executable", "arguments", "environment", "webhook", "ca", "role", "timeoutSeconds",
            ], notAnObject: "'rotation.functions[\(arn)]' must be an object")
            let target: Function.Target
            switch (object["executable"], object["webhook"]) {
            case (.string(let path)?, nil) where !path.isEmpty:
                let absolute = path.hasPrefix("/") ? path : Files.absolutePath(base + "/" + path)
                var arguments: [String] = []
                if let given = object["arguments"] {
                    guard case .array(let items) = given, items.allSatisfy({ $0.stringValue != nil }) else {
                        throw Problem("'\(prefix)arguments' must be a list of strings")
                    }
                    arguments = items.compactMap(\.stringValue)
                }
                target = .executable(path: absolute, arguments: arguments)
            case (nil, .string(let text)?):
                guard let url = TargetURL(text), url.isTLS else {
                    throw Problem("'\(prefix)webhook' must be an https:// URL with an IP address or localhost and a port")
                }
                var ca: String?
                if let given = object["ca"] {
                    guard case .string(let path) = given, !path.isEmpty else { throw Problem("'\(prefix)ca' must be a file path") }
                    ca = path.hasPrefix("/") ? path : Files.absolutePath(base + "/" + path)
                }
                target = .webhook(url: url, caFile: ca)
            default:
                throw Problem("'rotation.functions[\(arn)]' needs exactly one of 'executable' (a path) and 'webhook' (an https:// URL)")
            }
            var function = Function(target: target)
            if let environment = object["environment"] {
                guard case .object(let pairs) = environment, pairs.allSatisfy({ $0.value.stringValue != nil }) else {
                    throw Problem("'\(prefix)environment' must be an object of strings")
                }
                for pair in pairs { function.environment[pair.key] = pair.value.stringValue }
            }
            if let role = object["role"] {
                guard case .string(let text) = role, !text.isEmpty else { throw Problem("'\(prefix)role' must be a role name or a role ARN") }
                function.role = text
            }
            if let timeout = object["timeoutSeconds"] {
                guard let seconds = timeout.doubleValue, (1...900).contains(seconds) else {
                    throw Problem("'\(prefix)timeoutSeconds' must be a number from 1 to 900 (Lambda's limit)")
                }
                function.timeoutSeconds = seconds
            }
            settings.functions[arn] = function
        }
        return settings
    }

    func encoded() -> JSONValue {
        var functionMembers: [(key: String, value: JSONValue)] = []
        for (arn, function) in functions.sorted(by: { $0.key < $1.key }) {
            var members: [(key: String, value: JSONValue)] = []
            switch function.target {
            case let .executable(path, arguments):
                members.append(("executable", .string(path)))
                if !arguments.isEmpty { members.append(("arguments", .strings(arguments))) }
            case let .webhook(url, caFile):
                members.append(("webhook", .string("https://\(url.authority)\(url.path)")))
                if let caFile { members.append(("ca", .string(caFile))) }
            }
            if !function.environment.isEmpty {
                members.append(("environment", .object(function.environment.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
            }
            if let role = function.role { members.append(("role", .string(role))) }
            members.append(("timeoutSeconds", .number(String(function.timeoutSeconds))))
            functionMembers.append((arn, .object(members)))
        }
        return .object([
            ("functions", .object(functionMembers)), ("role", .string(role)), ("maxAttempts", .integer(maxAttempts)),
            ("retryDelaySeconds", .number(String(retryDelaySeconds))), ("checkIntervalSeconds", .number(String(checkIntervalSeconds))),
            ("minimumScheduleIntervalSeconds", .number(String(minimumScheduleIntervalSeconds))),
            ("sessionDurationSeconds", .integer(sessionDurationSeconds)),
        ])
    }
}
