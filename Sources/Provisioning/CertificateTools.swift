import Configuration
package import Foundation
import Platform

/// `strongroom ca init` and `strongroom ca issue`: a cluster CA, and node certificates for nodes
/// on their own hosts. The certificates are those `strongroom cluster init` makes for local
/// clusters (ECDSA P-256, server and client use), with the host names and addresses given
/// instead of 127.0.0.1.
package enum CertificateTools {
    /// The CA's files in its directory.
    package static let caCertificateName = "ca.pem"
    package static let caKeyName = "ca.key"

    /// Makes `directory` (when missing) with a new CA: `ca.key` (0600) and `ca.pem` (0644).
    /// Refuses to replace a CA that is there: the certificates it issued would no longer verify.
    package static func initialize(directory: String, commonName: String, now: Date) throws(ProvisioningError) {
        try ClusterEnvironment.makeDirectory(directory)
        let certificate = directory + "/" + caCertificateName, key = directory + "/" + caKeyName
        for path in [certificate, key] where Files.exists(path) {
            throw ProvisioningError("\(path) exists: a new CA would not verify the certificates the old one issued; remove it first if that is meant")
        }
        try DevEnvironment.writeCertificateAuthority(commonName: commonName, certificate: certificate, privateKey: key, now: now)
    }

    /// Which subjectAltNames a host becomes: IP literals (v4 or v6) are IP addresses, anything
    /// else must be a DNS name (RFC 1123 labels of letters, digits and '-', dot-separated, at
    /// most 253 characters; a leading "*." wildcard is refused, since a node is one host).
    package static func subjectAltNames(hosts: [String]) throws(ProvisioningError) -> (dnsNames: [String], ipAddresses: [String]) {
        guard !hosts.isEmpty else { throw ProvisioningError("--host: give at least one host name or address the node is reached at") }
        var dns: [String] = [], ips: [String] = []
        for host in hosts {
            if SocketAddress.isIPLiteral(host) {
                if !ips.contains(host) { ips.append(host) }
            } else if isDNSName(host) {
                let lowered = host.lowercased()
                if !dns.contains(lowered) { dns.append(lowered) }
            } else {
                throw ProvisioningError("--host: '\(host)' is neither an IP address nor a DNS name")
            }
        }
        return (dns, ips)
    }

    static func isDNSName(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let name = host.hasSuffix(".") ? String(host.dropLast()) : host
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// A node certificate signed by the CA in `caDirectory`, into `outputDirectory` (made when
    /// missing): `node.pem` (0644), `node.key` (0600) and a copy of `ca.pem`. The certificate
    /// names the node `spiffe://strongroom/region/REGION/node/NODE` (the URI the replication
    /// links check) and carries `hosts` as DNS names and IP addresses.
    package static func issue(caDirectory: String, nodeId: String, region: String, hosts: [String], outputDirectory: String,
                              now: Date) throws(ProvisioningError) {
        guard NodeConfiguration.isValidNodeId(nodeId) else {
            throw ProvisioningError("--node-id: '\(nodeId)' must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        guard NodeConfiguration.isValidRegion(region) else {
            throw ProvisioningError("--region: '\(region)' must look like an AWS region name such as us-east-1")
        }
        let names = try subjectAltNames(hosts: hosts)
        let caCertificate = caDirectory + "/" + caCertificateName, caKey = caDirectory + "/" + caKeyName
        for path in [caCertificate, caKey] where !Files.exists(path) {
            throw ProvisioningError("\(path) is missing: make the CA with `strongroom ca init --dir \(caDirectory)`")
        }
        try ClusterEnvironment.makeDirectory(outputDirectory)
        try DevEnvironment.writeCertificate(
            commonName: nodeId, organizationalUnit: region, dnsNames: names.dnsNames, ipAddresses: names.ipAddresses,
            uris: [NodeIdentity.uri(region: region, nodeId: nodeId)], certificate: outputDirectory + "/node.pem",
            privateKey: outputDirectory + "/node.key", caCertificate: caCertificate, caPrivateKey: caKey, now: now)
        let caPEM: Data
        do {
            caPEM = try Data(contentsOf: URL(fileURLWithPath: caCertificate))
        } catch {
            throw ProvisioningError("\(caCertificate): cannot read: \(error.localizedDescription)")
        }
        try DevEnvironment.writeFile(Array(caPEM), to: outputDirectory + "/" + caCertificateName, mode: 0o644)
    }
}
