/// The indented form, for files people read and edit (configuration, keyring, IAM,
/// `endpoint.json`, `cluster.json`) and for documents a command prints.
extension JSONValue {
    /// Serializes with two-space indentation, one member or element per line and `"name": value`,
    /// members in stored order; empty containers stay `{}` and `[]`. Strings and numbers are
    /// written exactly as by ``serialized()``, so the text parses back to this value.
    public func formatted() -> String {
        String(decoding: formattedBytes(), as: UTF8.self)
    }

    /// ``formatted()`` as UTF-8 bytes, what goes into a file.
    public func formattedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        writeFormatted(to: &out, indent: 0)
        return out
    }

    private func writeFormatted(to out: inout [UInt8], indent: Int) {
        func newline(_ level: Int) {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
        }
        switch self {
        case .array(let items) where !items.isEmpty:
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                item.writeFormatted(to: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                JSONValue.writeString(member.key, to: &out)
                out.append(contentsOf: ": ".utf8)
                member.value.writeFormatted(to: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        default:
            out.append(contentsOf: serializedBytes())
        }
    }
}
