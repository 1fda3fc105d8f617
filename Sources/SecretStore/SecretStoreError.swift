/// A refusal decided by the core, worded as AWS words it.
///
/// `code` is the AWS `__type` (`ResourceNotFoundException`, …); the API layer maps it to an HTTP
/// status. Messages never contain a secret value: only names, ARNs, version ids and labels.
public struct SecretStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The AWS `__type` of the error.
    public var code: String
    /// The message, as AWS sends it.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    // MARK: The errors of the core, one constructor per AWS wording.

    static let resourceNotFound = "ResourceNotFoundException"
    static let invalidRequest = "InvalidRequestException"
    static let invalidParameter = "InvalidParameterException"
    static let resourceExists = "ResourceExistsException"
    static let limitExceeded = "LimitExceededException"
    static let validation = "ValidationException"

    /// The secret (or, for a partial ARN, any secret of that name) does not exist.
    public static let secretNotFound = SecretStoreError(
        code: resourceNotFound, message: "Secrets Manager can't find the specified secret.")

    /// Any write (and GetSecretValue) on a secret scheduled for deletion.
    public static let markedForDeletion = SecretStoreError(
        code: invalidRequest,
        message: "You can't perform this operation on the secret because it was marked for deletion.")

    /// CreateSecret with the name of a secret scheduled for deletion.
    public static let nameScheduledForDeletion = SecretStoreError(
        code: invalidRequest,
        message: "You can't create this secret because a secret with this name is already scheduled for deletion.")

    /// CreateSecret with the name of an existing secret.
    public static func secretExists(_ name: String) -> SecretStoreError {
        SecretStoreError(code: resourceExists, message: "The operation failed because the secret \(name) already exists.")
    }

    /// A ClientRequestToken naming an existing version whose value differs.
    public static func tokenInUse(_ token: String, arn: String) -> SecretStoreError {
        SecretStoreError(
            code: resourceExists,
            message: "You can't use ClientRequestToken \(token) because that value is already in use for a version of secret \(arn).")
    }

    public static let badClientRequestToken = SecretStoreError(
        code: invalidParameter, message: "ClientRequestToken must be 32-64 characters long.")

    /// AWS answers a bad name with a ValidationException (recorded against the service).
    public static let invalidName = SecretStoreError(
        code: validation,
        message: "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")

    public static let badRecoveryWindow = SecretStoreError(
        code: invalidParameter,
        message: "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")

    public static let forceDeleteWithWindow = SecretStoreError(
        code: invalidParameter,
        message: "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")

    public static let tooManyTags = SecretStoreError(
        code: invalidParameter,
        message: "The request failed because it would exceed the maximum number of tags (50) for this secret.")

    public static let reservedTagKey = SecretStoreError(
        code: invalidParameter,
        message: "Invalid tag key. Tag keys that start with 'aws:' are reserved for AWS use.")

    public static let invalidTag = SecretStoreError(
        code: invalidParameter,
        message: "Invalid tag. Tag keys must be 1-128 and values 0-256 characters of letters, numbers, spaces and _.:/=+-@.")

    public static let tooManyLabels = SecretStoreError(
        code: limitExceeded,
        message: "The request failed because it would exceed the maximum number of staging labels (20) for this secret.")

    public static let tooManyVersions = SecretStoreError(
        code: limitExceeded,
        message: "The operation failed because the secret would exceed the quota of 100 versions; versions without staging labels are removed only once they are 24 hours old.")

    public static let stageVersionMismatch = SecretStoreError(
        code: invalidRequest,
        message: "You provided a VersionStage that is not associated to the provided VersionId.")

    public static let rotationInProgress = SecretStoreError(
        code: invalidRequest,
        message: "A previous rotation isn't complete. That rotation will be reattempted.")

    /// RotateSecret without a function ARN on a secret that never had one (AWS's message,
    /// quoted in the API-fidelity issue).
    public static let noRotationFunction = SecretStoreError(
        code: invalidRequest, message: "No Lambda rotation function ARN is associated with this secret.")

    public static let noRotationLambda = SecretStoreError(
        code: invalidRequest,
        message: "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.")

    /// UpdateSecretVersionStage putting AWSCURRENT or AWSPREVIOUS on a rotation's version
    /// before its createSecret step gave it a value.
    public static func versionHasNoValue(_ versionId: String, label: String) -> SecretStoreError {
        SecretStoreError(code: invalidRequest,
                         message: "You can't attach the staging label \(label) to version \(versionId) because it has no secret value yet.")
    }

    /// The rotation runner's check after finishSecret: the function returned without moving
    /// AWSCURRENT to the rotation's version.
    public static func rotationNotFinished(_ token: String) -> SecretStoreError {
        SecretStoreError(code: invalidRequest,
                         message: "The rotation function's finishSecret step did not make version \(token) AWSCURRENT.")
    }

    public static let badRotationDays = SecretStoreError(
        code: invalidParameter, message: "RotationRules.AutomaticallyAfterDays must be within 1-1000.")

    public static let removeCurrentWithoutMove = SecretStoreError(
        code: invalidParameter,
        message: "You can't remove the staging label AWSCURRENT without moving it to another version: specify MoveToVersionId.")

    public static let invalidNextToken = SecretStoreError(
        code: "InvalidNextTokenException", message: "The NextToken value is invalid.")

    public static let bothRotationSchedules = SecretStoreError(
        code: invalidParameter, message: "You cannot specify both rotation frequency and schedule expression together.")

    public static func valueNotFound(versionId: String) -> SecretStoreError {
        SecretStoreError(
            code: resourceNotFound,
            message: "Secrets Manager can't find the specified secret value for VersionId: \(versionId)")
    }

    public static func valueNotFound(stage: String) -> SecretStoreError {
        SecretStoreError(
            code: resourceNotFound,
            message: "Secrets Manager can't find the specified secret value for staging label: \(stage)")
    }

    public static func notAValidVersion(_ versionId: String) -> SecretStoreError {
        SecretStoreError(code: invalidParameter, message: "Not a valid version: \(versionId)")
    }

    public static func labelNotOnVersion(_ label: String, _ versionId: String) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter, message: "Version stage \(label) not found in version \(versionId)")
    }

    public static func removeFromVersionIdRequired(_ label: String, attachedTo versionId: String) -> SecretStoreError {
        SecretStoreError(
            code: invalidParameter,
            message: "The parameter RemoveFromVersionId can't be empty. Staging label \(label) is currently attached to version \(versionId), so you must explicitly reference that version in RemoveFromVersionId.")
    }

    /// A length limit the service model states, worded as AWS's request validation words it.
    public static func tooLong(_ member: String, max: Int) -> SecretStoreError {
        SecretStoreError(
            code: validation,
            message: "1 validation error detected: Value at '\(member)' failed to satisfy constraint: Member must have length less than or equal to \(max)")
    }
}
