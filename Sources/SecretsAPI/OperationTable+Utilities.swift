public import JSON
public import AWSProtocol
extension OperationTable {
    /// Operations that touch no secret: `GetRandomPassword`.
    mutating func registerUtilities() {
        register("GetRandomPassword") { context, input throws(AWSError) in
            try context.authorizeAction("GetRandomPassword")
            var generator = PasswordGenerator()
            if let length = input["PasswordLength"], case .number(let text) = length,
               let n = RequestValidator.integer(text, within: Int64(PasswordGenerator.lengths.lowerBound)...Int64(PasswordGenerator.lengths.upperBound)) {
                generator.length = Int(n)
            }
            generator.excludeCharacters = input["ExcludeCharacters"]?.stringValue ?? ""
            generator.excludeNumbers = Self.flag(input["ExcludeNumbers"], default: false)
            generator.excludePunctuation = Self.flag(input["ExcludePunctuation"], default: false)
            generator.excludeUppercase = Self.flag(input["ExcludeUppercase"], default: false)
            generator.excludeLowercase = Self.flag(input["ExcludeLowercase"], default: false)
            generator.includeSpace = Self.flag(input["IncludeSpace"], default: false)
            generator.requireEachIncludedType = Self.flag(input["RequireEachIncludedType"], default: true)
            let password = try generator.generate(using: context.random)
            return .object([(key: "RandomPassword", value: .string(password))])
        }
    }

    /// A validated boolean member, or `default` when absent or null.
    private static func flag(_ value: JSONValue?, default fallback: Bool) -> Bool {
        if case .bool(let b)? = value { return b }
        return fallback
    }
}

extension OperationTable {
    /// `Strongroom.GetNodeStatus`: the node's region, role and logs (`strongroom status`),
    /// for the cluster's admins whose policies allow `strongroom:GetNodeStatus` (on resource
    /// `*`).
    public mutating func registerNodeStatus(_ status: @escaping @Sendable () -> JSONValue) {
        register("GetNodeStatus") { context, _ throws(AWSError) in
            try context.authorizeNodeOperation("strongroom:GetNodeStatus")
            return status()
        }
    }
}

extension OperationTable {
    /// `Strongroom.PromoteNode` (`strongroom promote --node ID`): makes this node, a standby,
    /// its region's primary at a new epoch, for the cluster's admins whose policies allow
    /// `strongroom:PromoteNode`. `Force: true` promotes even when a reached node is further
    /// ahead or too few answered (the answer's `MayLose` says what may be lost). `promote` runs
    /// on a thread of its own (it waits on the region's other nodes for seconds) and answers
    /// the promotion's JSON, or why it was refused, and what to do once that answer is on its way
    /// (the node's restart in its new role).
    public mutating func registerPromoteNode(_ promote: @escaping @Sendable (_ force: Bool) -> (Result<JSONValue, AWSError>, then: (@Sendable () -> Void)?),
                                             onThread start: @escaping @Sendable (@escaping @Sendable () -> Void) -> Bool) {
        registerDeferred("PromoteNode") { context, input, done in
            let force: Bool
            do throws(AWSError) {
                try context.authorizeNodeOperation("strongroom:PromoteNode")
                guard case .object = input else { throw AWSError(.invalidParameter, "The request body must be a JSON object.") }
                if let flag = input["Force"], flag != .null {
                    guard case .bool(let value) = flag else { throw AWSError(.invalidParameter, "Force must be true or false.") }
                    force = value
                } else {
                    force = false
                }
            } catch {
                return done(.failure(error))
            }
            if !start({
                let (result, then) = promote(force)
                done(result)
                then?()
            }) {
                done(.failure(AWSError(.internalServiceError, "An error occurred on the server side: no thread for the promotion.")))
            }
        }
    }
}
