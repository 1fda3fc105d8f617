public import SecretStore

/// What RotateSecret asks of the node that runs rotations (its rotation runner), so that the
/// operation can answer as AWS does without running anything itself.
public struct RotationHooks: Sendable {
    /// A rotation the runner should run now.
    public struct Request: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// RotateImmediately (the default): the four steps for version `token`.
            case rotate
            /// RotateImmediately false: only testSecret now, on a version staged for the test
            /// and removed after it; the rotation itself waits for its window.
            case test
            /// RotateSecret while a rotation is in progress ("That rotation will be
            /// reattempted."): the runner resumes the rotation of the pending version.
            case resume
        }

        public var secretARN: String
        /// The version the rotation is for (RotateSecret's ClientRequestToken); for `resume`,
        /// the runner finds the pending version itself.
        public var token: String
        public var kind: Kind

        public init(secretARN: String, token: String, kind: Kind) {
            self.secretARN = secretARN
            self.token = token
            self.kind = kind
        }
    }

    /// Whether this node can invoke the function a Lambda ARN names (its function registry).
    public var canInvoke: @Sendable (String) -> Bool
    /// The floor of rotation schedules in milliseconds (AWS's four hours unless configured lower).
    public var minimumIntervalMillis: Int64
    /// Called once a RotateSecret's facts are durable (or it found a rotation in progress).
    public var requested: @Sendable (Request) -> Void

    public init(
        canInvoke: @escaping @Sendable (String) -> Bool,
        minimumIntervalMillis: Int64 = RotationSchedule.awsMinimumIntervalMillis,
        requested: @escaping @Sendable (Request) -> Void
    ) {
        self.canInvoke = canInvoke
        self.minimumIntervalMillis = minimumIntervalMillis
        self.requested = requested
    }

    /// No runner (unit tests of the operations, tools): every function counts as invocable and
    /// nothing runs.
    public static let none = RotationHooks(canInvoke: { _ in true }, requested: { _ in })

    /// AWS's answer for a function it cannot invoke; rotation stays as it was.
    public static let cannotInvoke = "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com."
}
