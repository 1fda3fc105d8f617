package import TLS

/// How a node is named in its certificate: one subjectAltName URI
/// `spiffe://strongroom/region/<region>/node/<nodeId>` (the SPIFFE ID form, whose X.509-SVID
/// rules ask for exactly one URI SAN). OpenSSL verifies the chain and the validity period; the
/// application compares this identity with what the peer claims (a replication hello).
package enum NodeIdentity {
    /// The URI's fixed start.
    package static let prefix = "spiffe://strongroom/region/"
    /// Between the region and the node id.
    package static let nodeSeparator = "/node/"
    /// The longest region or node id accepted.
    package static let maximumComponentBytes = 64

    /// The URI naming node `nodeId` of `region`. Both should satisfy `isValidComponent` (the
    /// configuration checks them); an invalid one makes a URI that `parse` refuses.
    package static func uri(region: String, nodeId: String) -> String {
        prefix + region + nodeSeparator + nodeId
    }

    /// (region, nodeId) named by the certificate; nil when it carries no URI, more than one
    /// URI, or a URI that is not a node identity.
    package static func identity(of certificate: PeerCertificate) -> (region: String, nodeId: String)? {
        guard certificate.uris.count == 1 else { return nil }
        return parse(certificate.uris[0])
    }

    /// (region, nodeId) of a node identity URI; nil for anything else (another scheme or
    /// authority, a missing or empty part, extra path segments, a query or fragment, characters
    /// outside `isValidComponent`).
    package static func parse(_ uri: String) -> (region: String, nodeId: String)? {
        guard uri.hasPrefix(prefix) else { return nil }
        let rest = uri.dropFirst(prefix.count)
        guard let separator = rest.firstRange(of: nodeSeparator) else { return nil }
        let region = String(rest[..<separator.lowerBound])
        let nodeId = String(rest[separator.upperBound...])
        guard isValidComponent(region), isValidComponent(nodeId) else { return nil }
        return (region, nodeId)
    }

    /// 1 to 64 characters from `a-z A-Z 0-9 - _ .`: what region names and node ids use, and
    /// nothing that could split or extend the URI (no `/`, `?`, `#`, `%`).
    package static func isValidComponent(_ text: String) -> Bool {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= maximumComponentBytes else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
    }
}
