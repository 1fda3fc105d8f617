/// A condition operator as IAM spells it: an optional set qualifier (`ForAnyValue:` /
/// `ForAllValues:`), a base operator, and an optional `IfExists` suffix
/// (IAM User Guide, "IAM JSON policy elements: Condition operators").
public struct ConditionOperator: Sendable, Equatable, CustomStringConvertible {
    /// The base operators. Each negated operator is the negation of a positive one (`test`).
    public enum Base: String, Sendable, Equatable, CaseIterable {
        case stringEquals = "StringEquals"
        case stringNotEquals = "StringNotEquals"
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase"
        case stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
        case stringLike = "StringLike"
        case stringNotLike = "StringNotLike"
        case numericEquals = "NumericEquals"
        case numericNotEquals = "NumericNotEquals"
        case numericLessThan = "NumericLessThan"
        case numericLessThanEquals = "NumericLessThanEquals"
        case numericGreaterThan = "NumericGreaterThan"
        case numericGreaterThanEquals = "NumericGreaterThanEquals"
        case dateEquals = "DateEquals"
        case dateNotEquals = "DateNotEquals"
        case dateLessThan = "DateLessThan"
        case dateLessThanEquals = "DateLessThanEquals"
        case dateGreaterThan = "DateGreaterThan"
        case dateGreaterThanEquals = "DateGreaterThanEquals"
        case bool = "Bool"
        case binaryEquals = "BinaryEquals"
        case ipAddress = "IpAddress"
        case notIpAddress = "NotIpAddress"
        case arnEquals = "ArnEquals"
        case arnLike = "ArnLike"
        case arnNotEquals = "ArnNotEquals"
        case arnNotLike = "ArnNotLike"
        case null = "Null"

        /// Negated operators are true when no policy value matches (IAM: "logical NOR").
        public var isNegated: Bool {
            switch self {
            case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotLike, .numericNotEquals, .dateNotEquals,
                 .notIpAddress, .arnNotEquals, .arnNotLike:
                return true
            default:
                return false
            }
        }

        /// The positive test a negated operator negates; itself for positive operators.
        var test: Test {
            switch self {
            case .stringEquals, .stringNotEquals: return .stringEquals
            case .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase: return .stringEqualsIgnoreCase
            case .stringLike, .stringNotLike: return .stringLike
            case .numericEquals, .numericNotEquals: return .numeric(.equal)
            case .numericLessThan: return .numeric(.less)
            case .numericLessThanEquals: return .numeric(.lessOrEqual)
            case .numericGreaterThan: return .numeric(.greater)
            case .numericGreaterThanEquals: return .numeric(.greaterOrEqual)
            case .dateEquals, .dateNotEquals: return .date(.equal)
            case .dateLessThan: return .date(.less)
            case .dateLessThanEquals: return .date(.lessOrEqual)
            case .dateGreaterThan: return .date(.greater)
            case .dateGreaterThanEquals: return .date(.greaterOrEqual)
            case .bool: return .bool
            case .binaryEquals: return .binary
            case .ipAddress, .notIpAddress: return .ipAddress
            // ArnEquals and ArnLike are the same test in IAM: component-wise, wildcards allowed.
            case .arnEquals, .arnLike, .arnNotEquals, .arnNotLike: return .arn
            case .null: return .null
            }
        }
    }

    /// How a multivalued request key is compared (IAM: "set operators").
    public enum SetQualifier: String, Sendable, Equatable {
        /// At least one request value must satisfy the operator; false for an absent or empty set.
        case forAnyValue = "ForAnyValue"
        /// Every request value must satisfy the operator; true for an absent or empty set.
        case forAllValues = "ForAllValues"
    }

    /// The comparisons the operators perform.
    enum Test: Equatable {
        enum Ordering: Equatable { case equal, less, lessOrEqual, greater, greaterOrEqual }
        case stringEquals, stringEqualsIgnoreCase, stringLike, numeric(Ordering), date(Ordering), bool, binary,
             ipAddress, arn, null
    }

    /// The operator without qualifier and suffix.
    public let base: Base
    /// `ForAnyValue:` / `ForAllValues:`, if written.
    public let qualifier: SetQualifier?
    /// `…IfExists`: true when the key is absent from the request.
    public let ifExists: Bool

    /// The canonical spelling, e.g. `ForAnyValue:StringLikeIfExists`.
    public var description: String {
        (qualifier.map { "\($0.rawValue):" } ?? "") + base.rawValue + (ifExists ? "IfExists" : "")
    }

    /// Reads an operator name; nil when IAM has no such operator. Names are matched
    /// case-insensitively. `Null` takes neither `IfExists` (meaningless: it tests existence)
    /// nor a set qualifier.
    public init?(_ name: String) {
        var rest = Substring(name)
        var qualifier: SetQualifier?
        for candidate in [SetQualifier.forAnyValue, .forAllValues] {
            let prefix = candidate.rawValue + ":"
            if rest.count > prefix.count, equalsIgnoringCase(String(rest.prefix(prefix.count)), prefix) {
                qualifier = candidate
                rest = rest.dropFirst(prefix.count)
                break
            }
        }
        var ifExists = false
        let suffix = "IfExists"
        if rest.count > suffix.count, equalsIgnoringCase(String(rest.suffix(suffix.count)), suffix) {
            ifExists = true
            rest = rest.dropLast(suffix.count)
        }
        guard let base = Base.allCases.first(where: { equalsIgnoringCase($0.rawValue, String(rest)) }) else { return nil }
        if base == .null && (ifExists || qualifier != nil) { return nil }
        self.base = base
        self.qualifier = qualifier
        self.ifExists = ifExists
    }
}
