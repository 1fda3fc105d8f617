/// Building documents in code and reading numbers, for the files the project writes and reads
/// (configuration, keyring, IAM, `endpoint.json`, `cluster.json`).
///
/// A dictionary literal keeps its members in source order (it is a list of pairs, not a
/// `Dictionary`), so a document written from a literal has the member order of the literal.
///
/// There is deliberately no `ExpressibleByNilLiteral`: with it, `value["member"] == nil` would
/// compare with `.null` instead of asking whether the member is there.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }

    /// An integer as a JSON number (its decimal text: exact whatever its size).
    public static func integer(_ value: some BinaryInteger) -> JSONValue { .number(String(value)) }

    /// A finite `Double` as a JSON number, written as Foundation's JSON writer wrote it
    /// (the files we write read back the same in Python, whose `json` makes `10` an int and
    /// `10.0` a float): an integral value below 2^53 without a fraction, any other value in
    /// Swift's shortest round-tripping form (`0.5`, `1e-05`, `1e+20`), which is valid JSON.
    public static func double(_ value: Double) -> JSONValue {
        precondition(value.isFinite, "JSON has no number for \(value)")
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            return .number(String(Int64(value)))
        }
        let text = value.description
        precondition(isNumber(text), "Double.description gave '\(text)', not a JSON number")
        return .number(text)
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    /// This value with the members of every object, at every depth, sorted by name (byte order
    /// of their UTF-8; members of the same name keep their order). The files we write keep the
    /// order Foundation's JSON writer gave them with `.sortedKeys`, so that they stay comparable across
    /// versions whatever order the code builds them in.
    public func sortingMembers() -> JSONValue {
        switch self {
        case .null, .bool, .number, .string: return self
        case .array(let items): return .array(items.map { $0.sortingMembers() })
        case .object(let members):
            let sorted = members.enumerated().sorted { a, b in
                a.element.key == b.element.key ? a.offset < b.offset : a.element.key.utf8.lexicographicallyPrecedes(b.element.key.utf8)
            }
            return .object(sorted.map { (key: $0.element.key, value: $0.element.value.sortingMembers()) })
        }
    }

    /// The number's value as the nearest `Double` (±infinity beyond its range, as `strtod`);
    /// nil if this is not a number.
    public var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        // The JSON number grammar is a subset of what `Double(_:)` reads, so this only fails
        // for a `.number` that was built by hand with a non-number text.
        return Double(text)
    }

    /// The number's value if it is a whole number that `Int` holds exactly, whatever its
    /// spelling (`3`, `3.0`, `3e0`, `300e-2`); nil otherwise or if this is not a number.
    public var exactIntegerValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let exact = Int(text) { return exact }
        guard let value = Double(text) else { return nil }
        return Int(exactly: value)
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The members in document order, if this is an object.
    public var objectMembers: [(key: String, value: JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }
}
