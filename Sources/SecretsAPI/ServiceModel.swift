/// The parts of an AWS service model (botocore's `service-2.json`) that request validation needs.
/// The Secrets Manager instance is generated: `ServiceModel+Generated.swift`.
public struct ServiceModel: Sendable {
    /// Shape types of the botocore model that occur in Secrets Manager inputs.
    public enum ShapeType: String, Sendable {
        case string, integer, long, boolean, blob, timestamp, list, map, structure
    }

    /// One shape: a type plus its constraints.
    public struct Shape: Sendable {
        public var name: String
        public var type: ShapeType
        /// Minimum length (string, blob, list, map) or value (integer, long).
        public var min: Int64?
        /// Maximum length (string, blob, list, map) or value (integer, long).
        public var max: Int64?
        /// A Java regular expression the whole string value must match.
        public var pattern: String?
        /// Allowed values of an enum string; empty for any string.
        public var enumValues: [String]
        /// Sensitive values are never echoed in error messages.
        public var sensitive: Bool
        /// Structure members, in model order: (member name, shape name).
        public var members: [(name: String, shape: String)]
        /// Required structure members.
        public var required: [String]
        /// The element shape of a list.
        public var listMember: String?
        /// The key and value shapes of a map.
        public var mapKey: String?
        public var mapValue: String?

        public init(
            name: String, type: ShapeType, min: Int64? = nil, max: Int64? = nil, pattern: String? = nil,
            enumValues: [String] = [], sensitive: Bool = false, members: [(String, String)] = [],
            required: [String] = [], listMember: String? = nil, mapKey: String? = nil, mapValue: String? = nil
        ) {
            self.name = name
            self.type = type
            self.min = min
            self.max = max
            self.pattern = pattern
            self.enumValues = enumValues
            self.sensitive = sensitive
            self.members = members.map { (name: $0.0, shape: $0.1) }
            self.required = required
            self.listMember = listMember
            self.mapKey = mapKey
            self.mapValue = mapValue
        }
    }

    /// One operation and its input shape.
    public struct Operation: Sendable {
        public var name: String
        public var input: String?

        public init(name: String, input: String?) {
            self.name = name
            self.input = input
        }
    }

    public var apiVersion: String
    /// The `X-Amz-Target` prefix, e.g. `secretsmanager`.
    public var targetPrefix: String
    /// The SigV4 service name.
    public var signingName: String
    /// Every operation, sorted by name.
    public var operations: [Operation]
    /// Shapes by name.
    public var shapes: [String: Shape]

    public init(apiVersion: String, targetPrefix: String, signingName: String, operations: [Operation], shapes: [Shape]) {
        self.apiVersion = apiVersion
        self.targetPrefix = targetPrefix
        self.signingName = signingName
        self.operations = operations
        var byName: [String: Shape] = [:]
        for shape in shapes {
            precondition(byName[shape.name] == nil, "duplicate shape \(shape.name) in the service model")
            byName[shape.name] = shape
        }
        self.shapes = byName
    }

    /// The operation called `name`, if the model has it.
    public func operation(named name: String) -> Operation? {
        operations.first { $0.name == name }
    }
}
