/// An IPv4 or IPv6 CIDR block of an `IpAddress` / `NotIpAddress` condition (RFC 4632, RFC 4291
/// text forms, including `::` compression and an embedded dotted quad). A bare address is a
/// block of one (`/32`, `/128`). Families never match each other: an IPv4 request address is not
/// in an IPv6 block, IPv4-mapped or not, which is what the IAM documentation's examples imply
/// (they list the IPv4 and IPv6 ranges separately).
struct IPAddressRange: Sendable, Equatable {
    /// An address as 128 bits; IPv4 uses the low 32.
    struct Address: Sendable, Equatable {
        var isIPv6: Bool
        var high: UInt64
        var low: UInt64
    }

    let network: Address
    let prefixLength: Int

    /// Parses `address` or `address/prefix`; nil when malformed. Host bits beyond the prefix are
    /// ignored, as IAM does.
    init?(_ text: String) {
        let pieces = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddressRange.address(pieces[0]) else { return nil }
        let maximum = address.isIPv6 ? 128 : 32
        var prefix = maximum
        if pieces.count == 2 {
            guard !pieces[1].isEmpty, pieces[1].count <= 3, pieces[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(pieces[1]), value <= maximum else { return nil }
            prefix = value
        }
        self.prefixLength = prefix
        self.network = IPAddressRange.masked(address, prefix: prefix)
    }

    /// Whether the request address `text` lies in the block (false when it is not an address).
    func contains(_ text: String) -> Bool {
        guard let address = IPAddressRange.address(Substring(text)), address.isIPv6 == network.isIPv6 else { return false }
        return IPAddressRange.masked(address, prefix: prefixLength) == network
    }

    static func masked(_ address: Address, prefix: Int) -> Address {
        // Work in a 128-bit space: IPv4 prefixes count from bit 96.
        let bits = address.isIPv6 ? prefix : prefix + 96
        let highMask: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : ~(UInt64.max >> UInt64(bits)))
        let lowBits = bits - 64
        let lowMask: UInt64 = lowBits <= 0 ? 0 : (lowBits >= 64 ? .max : ~(UInt64.max >> UInt64(lowBits)))
        return Address(isIPv6: address.isIPv6, high: address.high & highMask, low: address.low & lowMask)
    }

    static func address(_ text: Substring) -> Address? {
        if text.contains(":") { return ipv6(text) }
        guard let value = ipv4(text) else { return nil }
        return Address(isIPv6: false, high: 0, low: UInt64(value))
    }

    /// A dotted quad: four decimal octets, no leading zeros beyond a single `0`.
    static func ipv4(_ text: Substring) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(octet.count > 1 && octet.first == "0"), let number = UInt32(octet), number <= 255 else { return nil }
            value = value << 8 | number
        }
        return value
    }

    static func ipv6(_ text: Substring) -> Address? {
        guard text.count <= 45 else { return nil }
        var head = text
        var tail: Substring?
        if let gap = text.firstRange(of: "::") {
            head = text[..<gap.lowerBound]
            tail = text[gap.upperBound...]
            guard !tail!.contains("::") else { return nil }
        }
        // The dotted quad may only end the address, so only the last run may hold one.
        guard var groups = hexGroups(head, mayEndWithIPv4: tail == nil) else { return nil }
        if let tail {
            guard let tailGroups = hexGroups(tail, mayEndWithIPv4: true), groups.count + tailGroups.count < 8 else { return nil }
            groups += Array(repeating: 0, count: 8 - groups.count - tailGroups.count) + tailGroups
        }
        guard groups.count == 8 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(groups[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(groups[i]) }
        return Address(isIPv6: true, high: high, low: low)
    }

    /// The 16-bit groups of a colon-separated run (empty text is no groups).
    private static func hexGroups(_ text: Substring, mayEndWithIPv4: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (position, piece) in pieces.enumerated() {
            if mayEndWithIPv4, position == pieces.count - 1, piece.contains(".") {
                guard let v4 = ipv4(piece) else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
            } else {
                guard let group = hexGroup(piece) else { return nil }
                groups.append(group)
            }
        }
        return groups
    }

    static func hexGroup(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.count <= 4, text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt16(text, radix: 16)
    }
}
