/// One `operator → key → values` entry of a `Condition` element, compiled.
///
/// IAM's rules, as implemented here (IAM User Guide, "Condition operators" and "Conditions with
/// multiple context keys or values"):
/// - the values of one key are ORed; a negated operator (`StringNotEquals`, `NotIpAddress`, …)
///   is true when the request value matches *none* of them (NOR);
/// - a key absent from the request makes a positive operator false and a negated one true,
///   except `…IfExists` (true when absent) and `Null` (which tests absence);
/// - `ForAnyValue:` is true when at least one request value satisfies the operator (false for an
///   absent or empty set); `ForAllValues:` when every request value does (true for an absent or
///   empty set);
/// - a multivalued request key under an operator without a set qualifier is compared like
///   `ForAnyValue` for positive operators, and as its negation for negated ones (IAM's docs say
///   such keys "require" a qualifier but do not define the unqualified case; this is the reading
///   under which a negated operator still means "none of the request values match").
///
/// The absent-key rule is behind the "VersionStage trap": `GetSecretValue` called without a
/// `VersionStage` has no `secretsmanager:VersionStage` in its context, so an `Allow` conditioned
/// on `StringEquals secretsmanager:VersionStage AWSCURRENT` does not apply to it (even though the
/// call returns `AWSCURRENT`), and a `Deny` on `StringNotEquals … AWSCURRENT` always does. Use
/// `StringEqualsIfExists` to mean "only AWSCURRENT when a stage is named".
public struct ConditionClause: Sendable, Equatable {
    public let `operator`: ConditionOperator
    /// The condition key as written (keys are matched case-insensitively).
    public let key: String
    /// The policy values as written (JSON numbers and booleans as their text).
    public let values: [String]
    let contextKey: ContextKey
    let compiled: CompiledValues

    enum CompiledValues: Sendable, Equatable {
        case strings([PolicyTemplate])
        case arns([ArnPattern])
        case numbers([Double])
        case dates([Int64])
        case bools([Bool])
        case binaries([[UInt8]])
        case addresses([IPAddressRange])
        /// `Null`: true means "the key must be absent".
        case null([Bool])
    }

    init(operator op: ConditionOperator, key: String, values: [String], compiled: CompiledValues) {
        self.operator = op
        self.key = key
        self.values = values
        self.contextKey = ContextKey(key)
        self.compiled = compiled
    }

    /// Compiles the policy values of `op`; the first malformed value is returned as `.failure`.
    /// Policy variables apply to the string and ARN operators only, and only when `variables`.
    static func compile(_ values: [String], for op: ConditionOperator, variables: Bool) -> Result<CompiledValues, InvalidValue> {
        func each<T>(_ decode: (String) -> T?) -> Result<[T], InvalidValue> {
            var out: [T] = []
            out.reserveCapacity(values.count)
            for value in values {
                guard let decoded = decode(value) else { return .failure(InvalidValue(text: value)) }
                out.append(decoded)
            }
            return .success(out)
        }
        switch op.base.test {
        case .stringEquals, .stringEqualsIgnoreCase:
            return .success(.strings(values.map { PolicyTemplate($0, wildcards: false, variables: variables) }))
        case .stringLike:
            return .success(.strings(values.map { PolicyTemplate($0, wildcards: true, variables: variables) }))
        case .arn:
            return .success(.arns(values.map { ArnPattern(PolicyTemplate($0, wildcards: true, variables: variables)) }))
        case .numeric: return each { ConditionLiterals.number($0) }.map { .numbers($0) }
        case .date: return each { ConditionLiterals.date($0) }.map { .dates($0) }
        case .bool, .null: return each { ConditionLiterals.bool($0) }.map { op.base == .null ? .null($0) : .bools($0) }
        case .binary: return each { ConditionLiterals.base64($0) }.map { .binaries($0) }
        case .ipAddress: return each { IPAddressRange($0) }.map { .addresses($0) }
        }
    }

    struct InvalidValue: Error {
        var text: String
    }

    /// Whether the clause holds for `request`.
    func holds(in request: RequestContext) -> Bool {
        let value = contextKey.value(in: request)
        if case .null(let expectations) = compiled {
            let absent = value == nil
            return expectations.contains(absent)
        }
        guard let value else {
            if self.operator.ifExists { return true }
            switch self.operator.qualifier {
            case .forAllValues?: return true
            case .forAnyValue?: return false
            case nil: return self.operator.base.isNegated
            }
        }
        let negated = self.operator.base.isNegated
        switch value {
        case .single(let item):
            // A single value is a set of one for the qualifiers, so every form agrees.
            return test(item, in: request) != negated
        case .multiple(let items):
            switch self.operator.qualifier {
            case .forAnyValue?: return items.contains { test($0, in: request) != negated }
            case .forAllValues?: return items.allSatisfy { test($0, in: request) != negated }
            case nil:
                let any = items.contains { test($0, in: request) }
                return any != negated
            }
        }
    }

    /// The positive test: does request value `item` match at least one policy value?
    func test(_ item: String, in request: RequestContext) -> Bool {
        switch compiled {
        case .strings(let templates):
            switch self.operator.base.test {
            case .stringEquals:
                return templates.contains { $0.resolvedText(in: request) == item }
            case .stringEqualsIgnoreCase:
                return templates.contains { template in
                    template.resolvedText(in: request).map { equalsIgnoringCase($0, item) } ?? false
                }
            default:
                return templates.contains { $0.matchesGlob(item, in: request) }
            }
        case .arns(let patterns):
            return patterns.contains { $0.matches(item, in: request) }
        case .numbers(let numbers):
            guard let number = ConditionLiterals.number(item) else { return false }
            return numbers.contains { compare(number, $0) }
        case .dates(let dates):
            guard let date = ConditionLiterals.date(item) else { return false }
            return dates.contains { compare(date, $0) }
        case .bools(let bools):
            guard let bool = ConditionLiterals.bool(item) else { return false }
            return bools.contains(bool)
        case .binaries(let binaries):
            guard let bytes = ConditionLiterals.base64(item) else { return false }
            return binaries.contains(bytes)
        case .addresses(let ranges):
            return ranges.contains { $0.contains(item) }
        case .null:
            return false  // handled in `holds`
        }
    }

    /// `request ⋄ policy` for the operator's ordering (`NumericLessThan`: request < policy).
    private func compare<T: Comparable>(_ requestValue: T, _ policyValue: T) -> Bool {
        let ordering: ConditionOperator.Test.Ordering
        switch self.operator.base.test {
        case .numeric(let o), .date(let o): ordering = o
        default: return false
        }
        switch ordering {
        case .equal: return requestValue == policyValue
        case .less: return requestValue < policyValue
        case .lessOrEqual: return requestValue <= policyValue
        case .greater: return requestValue > policyValue
        case .greaterOrEqual: return requestValue >= policyValue
        }
    }
}

/// An `Arn…` condition value. IAM compares ARNs component by component: the six colon-separated
/// parts (`arn:partition:service:region:account:resource`, the resource part keeping any further
/// colons) are matched separately, each with `*` and `?`, so a wildcard never spans a colon
/// except inside the resource part. A value with fewer than six parts (such as `*`) is matched
/// as a glob over the whole string.
struct ArnPattern: Sendable, Equatable {
    enum Form: Sendable, Equatable {
        case components([Wildcard])
        case whole(Wildcard)
    }

    let template: PolicyTemplate
    /// The compiled form when the value has no variables.
    let constantForm: Form?

    init(_ template: PolicyTemplate) {
        self.template = template
        constantForm = template.constantGlob.map { ArnPattern.form(of: $0) }
    }

    static func form(of glob: Wildcard) -> Form {
        components(of: glob.codes).map { .components($0) } ?? .whole(glob)
    }

    func matches(_ subject: String, in request: RequestContext) -> Bool {
        let form: Form
        if let constantForm {
            form = constantForm
        } else {
            guard let glob = template.glob(in: request) else { return false }
            form = ArnPattern.form(of: glob)
        }
        switch form {
        case .whole(let glob):
            return glob.matches(subject)
        case .components(let components):
            var subject = subject
            return subject.withUTF8 { bytes in
                var start = 0
                for index in 0..<6 {
                    var end = bytes.count
                    if index < 5 {
                        guard let colon = bytes[start...].firstIndex(of: UInt8(ascii: ":")) else { return false }
                        end = colon
                    }
                    let part = UnsafeBufferPointer(rebasing: bytes[start..<end])
                    guard components[index].matches(bytes: part) else { return false }
                    start = end + 1
                }
                return true
            }
        }
    }

    /// The six components of a compiled ARN pattern, or nil when it has fewer than six.
    static func components(of codes: [Int16]) -> [Wildcard]? {
        var components: [Wildcard] = []
        var current: [Int16] = []
        for code in codes {
            if code == Int16(UInt8(ascii: ":")) && components.count < 5 {
                components.append(Wildcard(codes: current, foldsCase: false))
                current = []
            } else {
                current.append(code)
            }
        }
        guard components.count == 5 else { return nil }
        components.append(Wildcard(codes: current, foldsCase: false))
        return components
    }
}
