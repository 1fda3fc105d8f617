public import JSON
/// An error answered to the client: an AWS error type (`__type`), its HTTP status and a message.
///
/// Codes map one to one to an AWS `__type` and status (STYLE.md: errors are structs with a code
/// and a message, not growing enums). The body is AWS JSON 1.1's error shape,
/// `{"__type": "<Type>", "message": "<text>"}`; botocore reads both fields. Some protocol errors
/// (`UnknownOperationException`, `SerializationException` for a body that is not JSON) carry no
/// message at all, as AWS sends them.
public struct AWSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An AWS error type with the HTTP status AWS sends it with.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The `__type` value, e.g. `InvalidRequestException`.
        public var type: String
        /// The HTTP status code.
        public var status: Int

        public init(type: String, status: Int) {
            self.type = type
            self.status = status
        }

        public var description: String { type }

        // Protocol and authentication errors of AWS's JSON frontend. Statuses as AWS JSON 1.x
        // services answer them (dynalite/kinesalite connection tests, recorded against AWS).
        public static let unknownOperation = Code(type: "UnknownOperationException", status: 400)
        public static let serialization = Code(type: "SerializationException", status: 400)
        public static let missingAuthenticationToken = Code(type: "MissingAuthenticationTokenException", status: 400)
        public static let incompleteSignature = Code(type: "IncompleteSignatureException", status: 400)
        public static let invalidSignature = Code(type: "InvalidSignatureException", status: 400)
        public static let unrecognizedClient = Code(type: "UnrecognizedClientException", status: 400)
        /// Session credentials past their expiration.
        public static let expiredToken = Code(type: "ExpiredTokenException", status: 400)
        public static let validation = Code(type: "ValidationException", status: 400)
        /// A request that is not an AWS JSON call at all (wrong method, path or content type), when
        /// it carries no credentials: AWS's frontend answers 403 here.
        public static let missingAuthenticationTokenForbidden = Code(type: "MissingAuthenticationTokenException", status: 403)
        /// The same, when the request carries an `Authorization` header.
        public static let accessDenied = Code(type: "AccessDeniedException", status: 403)

        // Secrets Manager's modeled errors (service-2.json), all client faults except
        // InternalServiceError, which the model marks as a server fault.
        public static let invalidParameter = Code(type: "InvalidParameterException", status: 400)
        public static let invalidRequest = Code(type: "InvalidRequestException", status: 400)
        public static let internalServiceError = Code(type: "InternalServiceError", status: 500)
        /// An IAM (or KMS key policy) refusal of a signed request: AWS JSON services answer it
        /// with status 400.
        public static let notAuthorized = Code(type: "AccessDeniedException", status: 400)
    }

    public var code: Code
    /// The message; nil when AWS sends the error without one.
    public var message: String?

    public init(_ code: Code, _ message: String?) {
        self.code = code
        self.message = message
    }

    public var description: String { message.map { "\(code.type): \($0)" } ?? code.type }

    /// Error types of Secrets Manager's own model. AWS sends their text as `Message` (capital
    /// M, as recorded from the service); the frontend's protocol, authentication and validation
    /// errors use `message`. botocore reads either.
    static let modeledTypes: Set<String> = [
        "ResourceNotFoundException", "InvalidParameterException", "InvalidRequestException", "ResourceExistsException",
        "LimitExceededException", "MalformedPolicyDocumentException", "EncryptionFailure", "DecryptionFailure",
        "InternalServiceError", "PreconditionNotMetException", "PublicPolicyException", "InvalidNextTokenException",
    ]

    /// The JSON body AWS sends for this error.
    public var body: JSONValue {
        var members: [(key: String, value: JSONValue)] = [(key: "__type", value: .string(code.type))]
        let key = Self.modeledTypes.contains(code.type) ? "Message" : "message"
        if let message { members.append((key: key, value: .string(message))) }
        return .object(members)
    }

    /// The error Secrets Manager reports for a failure on our side (for example the random source).
    public static let internalFailure = AWSError(.internalServiceError, "An error occurred on the server side.")
}
