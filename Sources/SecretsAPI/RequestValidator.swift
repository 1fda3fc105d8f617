import JSON
import AWSProtocol
/// Checks a decoded JSON body against an input shape of the service model, the way AWS's Coral
/// frontend does, in its two layers:
///
/// 1. Deserialization: a member whose JSON type cannot become the modeled type fails the whole
///    request with `SerializationException` and Coral's wording ("STRING_VALUE can not be
///    converted to a Long", "Start of list found where not expected"). The first such member,
///    in document order, is reported. Unknown members are ignored; `null` is "absent".
/// 2. Validation: every constraint violation (required, length, range, pattern, enum) is
///    collected and reported at once as `ValidationException`:
///    "2 validation errors detected: Value null at 'secretId' failed to satisfy constraint:
///    Member must not be null; Value '…' at '…' failed …". Member paths use AWS's lower-camel
///    names (`secretId`, `rotationRules.duration`, list elements as `tags.1.member.key`).
///    Values of sensitive shapes are never echoed ("Value at 'secretString' …").
struct RequestValidator {
    let model: ServiceModel

    /// Validates `body` against the structure `shapeName`.
    /// - Throws: `SerializationException` or `ValidationException`.
    func validate(_ body: JSONValue, shapeName: String) throws(AWSError) {
        var state = State()
        let root: JSONValue = body == .null ? .object([]) : body
        check(root, shapeName: shapeName, path: nil, state: &state)
        if let serialization = state.serialization {
            throw AWSError(.serialization, serialization)
        }
        if !state.violations.isEmpty {
            let count = state.violations.count
            let noun = count == 1 ? "error" : "errors"
            throw AWSError(.validation, "\(count) validation \(noun) detected: " + state.violations.joined(separator: "; "))
        }
    }

    private struct State {
        var serialization: String?
        var violations: [String] = []

        mutating func wrongType(_ message: String) {
            if serialization == nil { serialization = message }
        }
    }

    private func shape(_ name: String) -> ServiceModel.Shape {
        guard let shape = model.shapes[name] else { preconditionFailure("service model has no shape \(name)") }
        return shape
    }

    /// Checks one present, non-null value.
    private func check(_ value: JSONValue, shapeName: String, path: String?, state: inout State) {
        let shape = self.shape(shapeName)
        let where_ = path ?? ""
        switch shape.type {
        case .structure:
            guard case .object = value else { return state.wrongType(Self.notAnAggregate(value, expectingList: false)) }
            for member in shape.members {
                let memberPath = path.map { "\($0).\(Self.lowerCamel(member.name))" } ?? Self.lowerCamel(member.name)
                let memberValue = value[member.name] ?? .null
                if memberValue == .null {
                    if shape.required.contains(member.name) {
                        state.violations.append("Value null at '\(memberPath)' failed to satisfy constraint: Member must not be null")
                    }
                    continue
                }
                check(memberValue, shapeName: member.shape, path: memberPath, state: &state)
            }

        case .list:
            guard case .array(let items) = value else { return state.wrongType(Self.notAnAggregate(value, expectingList: true)) }
            guard let memberShape = shape.listMember else { return }
            for (i, item) in items.enumerated() where item != .null {
                check(item, shapeName: memberShape, path: "\(where_).\(i + 1).member", state: &state)
            }
            checkLength(Int64(items.count), shape: shape, rendered: renderList(items, memberShape: memberShape), path: where_, state: &state)

        case .map:
            guard case .object(let entries) = value else { return state.wrongType(Self.notAnAggregate(value, expectingList: false)) }
            if let keyShape = shape.mapKey {
                for entry in entries { check(.string(entry.key), shapeName: keyShape, path: "\(where_).\(entry.key).key", state: &state) }
            }
            if let valueShape = shape.mapValue {
                for entry in entries where entry.value != .null {
                    check(entry.value, shapeName: valueShape, path: "\(where_).\(entry.key).value", state: &state)
                }
            }
            checkLength(Int64(entries.count), shape: shape, rendered: nil, path: where_, state: &state)

        case .string:
            guard case .string(let s) = value else { return state.wrongType(Self.notScalar(value, typeName: "a String")) }
            let rendered = shape.sensitive ? nil : s
            checkLength(Int64(s.utf16.count), shape: shape, rendered: rendered, path: where_, state: &state)
            if let pattern = shape.pattern, let regex = try? Regex(pattern), (try? regex.wholeMatch(in: s)) == nil {
                state.violations.append("\(Self.subject(rendered, where_)) failed to satisfy constraint: Member must satisfy regular expression pattern: \(pattern)")
            }
            if !shape.enumValues.isEmpty, !shape.enumValues.contains(s) {
                state.violations.append("\(Self.subject(rendered, where_)) failed to satisfy constraint: Member must satisfy enum value set: [\((Self.awsEnumOrder[shape.name] ?? shape.enumValues).joined(separator: ", "))]")
            }

        case .integer, .long:
            let typeName = shape.type == .integer ? "an Integer" : "a Long"
            guard case .number(let text) = value else { return state.wrongType(Self.notScalar(value, typeName: typeName)) }
            let bounds: ClosedRange<Int64> = shape.type == .integer ? Int64(Int32.min)...Int64(Int32.max) : Int64.min...Int64.max
            guard let n = Self.integer(text, within: bounds) else {
                return state.wrongType("NUMBER_VALUE can not be converted to \(typeName)")
            }
            let rendered = shape.sensitive ? nil : String(n)
            if let min = shape.min, n < min {
                state.violations.append("\(Self.subject(rendered, where_)) failed to satisfy constraint: Member must have value greater than or equal to \(min)")
            }
            if let max = shape.max, n > max {
                state.violations.append("\(Self.subject(rendered, where_)) failed to satisfy constraint: Member must have value less than or equal to \(max)")
            }

        case .boolean:
            guard case .bool = value else { return state.wrongType(Self.notScalar(value, typeName: "a Boolean")) }

        case .blob:
            guard case .string(let s) = value else { return state.wrongType(Self.notScalar(value, typeName: "a ByteBuffer")) }
            guard let bytes = Base64.decode(s) else { return state.wrongType("Base64 encoded value could not be decoded") }
            checkLength(Int64(bytes.count), shape: shape, rendered: nil, path: where_, state: &state)

        case .timestamp:
            guard case .number = value else { return state.wrongType(Self.notScalar(value, typeName: "a Date")) }
        }
    }

    /// An enum whose values AWS's validation message lists in another order than the model's:
    /// moto records AWS's answer to an unknown ListSecrets filter key as "…enum value set: [all,
    /// name, tag-key, description, tag-value]" (recorded before `primary-region` and
    /// `owning-service` existed; where AWS now prints those two is not known, and they follow
    /// in the model's order).
    static let awsEnumOrder: [String: [String]] = [
        "FilterNameStringType": ["all", "name", "tag-key", "description", "tag-value", "primary-region", "owning-service"],
    ]

    private func checkLength(_ length: Int64, shape: ServiceModel.Shape, rendered: String?, path: String, state: inout State) {
        if let min = shape.min, length < min {
            state.violations.append("\(Self.subject(rendered, path)) failed to satisfy constraint: Member must have length greater than or equal to \(min)")
        }
        if let max = shape.max, length > max {
            state.violations.append("\(Self.subject(rendered, path)) failed to satisfy constraint: Member must have length less than or equal to \(max)")
        }
    }

    /// Java's `List.toString()` of a list of plain strings, as Coral prints it; nil (no value in
    /// the message) for lists of anything else or of sensitive strings.
    private func renderList(_ items: [JSONValue], memberShape: String) -> String? {
        let member = shape(memberShape)
        guard member.type == .string, !member.sensitive else { return nil }
        var parts: [String] = []
        for item in items {
            switch item {
            case .string(let s): parts.append(s)
            case .null: parts.append("null")
            default: return nil
            }
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    private static func subject(_ rendered: String?, _ path: String) -> String {
        rendered.map { "Value '\($0)' at '\(path)'" } ?? "Value at '\(path)'"
    }

    /// Coral's message for a value of the wrong kind where a scalar was expected.
    private static func notScalar(_ value: JSONValue, typeName: String) -> String {
        switch value {
        case .array: return "Start of list found where not expected"
        case .object: return "Start of structure or map found where not expected."
        case .string: return "STRING_VALUE can not be converted to \(typeName)"
        case .number: return "NUMBER_VALUE can not be converted to \(typeName)"
        case .bool(true): return "TRUE_VALUE can not be converted to \(typeName)"
        case .bool(false): return "FALSE_VALUE can not be converted to \(typeName)"
        case .null: return "Expected null"  // unreachable: null is treated as absent
        }
    }

    /// Coral's message for a value of the wrong kind where a list, structure or map was expected.
    private static func notAnAggregate(_ value: JSONValue, expectingList: Bool) -> String {
        switch value {
        case .array: return "Start of list found where not expected"
        case .object: return "Start of structure or map found where not expected."
        default: return "Expected null"
        }
    }

    /// `SecretId` → `secretId`: AWS names members in validation messages with a lower-case
    /// first letter.
    static func lowerCamel(_ name: String) -> String {
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }

    /// A JSON number as an integer; nil when it has a fraction (`10.5`: AWS answers a
    /// SerializationException rather than truncating) or is out of `bounds`. An integral value
    /// written with a fraction or an exponent (`10.0`, `1e1`) is that integer.
    static func integer(_ text: String, within bounds: ClosedRange<Int64>) -> Int64? {
        if let exact = Int64(text) { return bounds.contains(exact) ? exact : nil }
        guard let d = Double(text), d.isFinite, d.rounded(.towardZero) == d else { return nil }
        guard d >= Double(bounds.lowerBound), d <= Double(bounds.upperBound), d < 9.2e18, d > -9.2e18 else { return nil }
        return Int64(d)
    }
}

/// Standard Base64 (RFC 4648 §4) with padding, as AWS JSON encodes blobs.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3)
        var i = 0
        while i < bytes.count {
            var quad: [UInt8] = []
            var padding = 0
            for j in 0..<4 {
                let c = bytes[i + j]
                if c == UInt8(ascii: "=") {
                    guard i + 4 == bytes.count, j >= 2 else { return nil }
                    padding += 1
                    quad.append(0)
                } else {
                    guard padding == 0, let v = value(c) else { return nil }
                    quad.append(v)
                }
            }
            let n = UInt32(quad[0]) << 18 | UInt32(quad[1]) << 12 | UInt32(quad[2]) << 6 | UInt32(quad[3])
            out.append(UInt8(n >> 16 & 0xFF))
            if padding < 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if padding < 1 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
