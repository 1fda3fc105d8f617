/// Header fields in the order they were received; names keep the case the client sent.
///
/// Lookups compare names ASCII case-insensitively (RFC 9110 §5.1). Values are stored with
/// surrounding whitespace removed; they are decoded as UTF-8, with invalid sequences replaced by
/// U+FFFD (obs-text is legal on the wire but carries no defined meaning).
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    /// One field, as received.
    public typealias Element = (name: String, value: String)

    private var fields: [Element]

    /// Creates an empty header list.
    public init() {
        self.fields = []
    }

    /// Creates a header list holding `fields` in order.
    public init(_ fields: [(name: String, value: String)]) {
        self.fields = fields
    }

    /// The number of fields, repeated names counted each time.
    public var count: Int { fields.count }

    /// The value of the first field named `name` (case-insensitive), or `nil`.
    public subscript(name: String) -> String? {
        for field in fields where ASCII.caseInsensitiveEquals(field.name, name) {
            return field.value
        }
        return nil
    }

    /// The values of every field named `name` (case-insensitive), in order received.
    public func values(for name: String) -> [String] {
        fields.lazy.filter { ASCII.caseInsensitiveEquals($0.name, name) }.map(\.value)
    }

    /// Appends a field at the end.
    public mutating func append(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    /// Iterates the fields in the order received.
    public func makeIterator() -> IndexingIterator<[Element]> {
        fields.makeIterator()
    }

    /// Reserves room for `count` fields.
    mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// Two lists are equal when they hold the same fields, byte for byte, in the same order.
    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}
