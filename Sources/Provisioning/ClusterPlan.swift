package import Foundation
import Cryptography
import JSON
import Platform
import Configuration

/// `strongroom cluster plan --spec FILE --out DIR`: a cluster of nodes on their own hosts, from a
/// short description, as one bundle per node to copy to its host.
///
/// The spec (JSON):
///
/// ```json
/// {"ports": {"api": 7443, "replication": 7444},
///  "regions": [
///    {"name": "us-east-1", "syncStandbys": 1,
///     "nodes": [{"id": "use1-a", "address": "10.0.1.10", "hosts": ["use1-a.secrets.internal"]},
///               {"id": "use1-b", "address": "10.0.1.11"}]},
///    {"name": "eu-west-1", "nodes": [{"id": "euw1-a", "address": "10.0.2.10"}]}]}
/// ```
///
/// `address` is the IP a node listens on (API and replication) and is reached at; `hosts` more
/// names or addresses for its certificate; a node may set its own `apiPort` and
/// `replicationPort`. The first node of a region is its first primary, the others its standbys
/// (`syncStandbys` of them, default 0, synchronous).
///
/// ```
/// DIR/ca/ca.pem, ca.key        the cluster CA: keep ca.key here, it goes to no host
/// DIR/<nodeId>/config.json     for `strongroom serve --config`, paths relative to the bundle
/// DIR/<nodeId>/node.pem|key    the node's certificate (its address, hosts and identity URI)
/// DIR/<nodeId>/ca.pem          the CA certificate
/// DIR/<nodeId>/iam.json        the cluster's IAM file (one for every node)
/// DIR/<nodeId>/keyring.json    the region's keys (the same in every node of the region)
/// DIR/credentials.json         the accounts and their users' keys, as endpoint.json lists them
/// ```
package enum ClusterPlan {
    package static let defaultAPIPort = 7443
    package static let defaultReplicationPort = 7444

    /// One node of the spec.
    struct Node {
        var id: String
        var region: String
        var ordinal: Int
        /// Its certificate's subjectAltNames: the address and the spec's `hosts`.
        var names: (dnsNames: [String], ipAddresses: [String])
        var api: SocketAddress
        var replication: SocketAddress
    }

    struct Region {
        var name: String
        var syncStandbys: Int
        var nodes: [Node]
    }

    /// Reads and checks a spec; every problem names its place in the document.
    static func parse(_ bytes: [UInt8]) throws(ProvisioningError) -> [Region] {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw ProvisioningError("the spec is not JSON: \(error)")
        }
        guard case .object = root else { throw ProvisioningError("the spec must be a JSON object with 'regions'") }
        if let stray = root.objectMembers?.map(\.key).first(where: { !["ports", "regions"].contains($0) }) {
            throw ProvisioningError("the spec has an unknown member '\(stray)' (known: ports, regions)")
        }
        let apiPort = try port(root["ports"]?["api"], at: "ports.api") ?? defaultAPIPort
        let replicationPort = try port(root["ports"]?["replication"], at: "ports.replication") ?? defaultReplicationPort
        guard let regionList = root["regions"]?.arrayValue, !regionList.isEmpty else {
            throw ProvisioningError("'regions' must be a non-empty list")
        }
        var regions: [Region] = []
        var ids = Set<String>(), endpoints = Set<String>()
        for (r, entry) in regionList.enumerated() {
            let at = "regions[\(r)]"
            guard let name = entry["name"]?.stringValue, NodeConfiguration.isValidRegion(name) else {
                throw ProvisioningError("\(at).name must look like an AWS region name such as us-east-1")
            }
            guard !regions.contains(where: { $0.name == name }) else { throw ProvisioningError("\(at): region \(name) is listed twice") }
            guard let nodeList = entry["nodes"]?.arrayValue, !nodeList.isEmpty else {
                throw ProvisioningError("\(at).nodes must list the region's nodes (its first primary first)")
            }
            guard nodeList.count <= 1 + ClusterEnvironment.maximumStandbys else {
                throw ProvisioningError("\(at).nodes: at most \(1 + ClusterEnvironment.maximumStandbys) nodes in a region")
            }
            let sync = entry["syncStandbys"].map { $0.exactIntegerValue } ?? 0
            guard let sync, (0..<nodeList.count).contains(sync) else {
                throw ProvisioningError("\(at).syncStandbys must be a whole number from 0 to \(nodeList.count - 1) (its standbys)")
            }
            var nodes: [Node] = []
            for (n, item) in nodeList.enumerated() {
                let at = "\(at).nodes[\(n)]"
                guard let id = item["id"]?.stringValue, NodeConfiguration.isValidNodeId(id) else {
                    throw ProvisioningError("\(at).id must be 1 to 64 letters, digits, '-', '_' or '.'")
                }
                guard ids.insert(id).inserted else { throw ProvisioningError("\(at): node id \(id) is used twice") }
                guard let address = item["address"]?.stringValue, SocketAddress.isIPLiteral(address) else {
                    throw ProvisioningError("\(at).address must be the IP address the node listens on")
                }
                var hosts = [address]
                if let extra = item["hosts"] {
                    guard let list = extra.arrayValue?.compactMap(\.stringValue), list.count == extra.arrayValue?.count else {
                        throw ProvisioningError("\(at).hosts must be a list of names or addresses")
                    }
                    hosts += list
                }
                let names: (dnsNames: [String], ipAddresses: [String])
                do {
                    names = try CertificateTools.subjectAltNames(hosts: hosts)
                } catch {
                    throw ProvisioningError("\(at).hosts: \(error.message.replacingOccurrences(of: "--host: ", with: ""))")
                }
                let api = try port(item["apiPort"], at: "\(at).apiPort") ?? apiPort
                let replication = try port(item["replicationPort"], at: "\(at).replicationPort") ?? replicationPort
                guard api != replication else { throw ProvisioningError("\(at): the API and replication ports are both \(api)") }
                guard let apiAddress = SocketAddress(host: address, port: UInt16(api)),
                      let replicationAddress = SocketAddress(host: address, port: UInt16(replication)) else {
                    throw ProvisioningError("\(at).address: '\(address)' is not an IP address")
                }
                for endpoint in [apiAddress, replicationAddress] {
                    guard endpoints.insert(endpoint.description).inserted else {
                        throw ProvisioningError("\(at): \(endpoint) is used by another node (give it its own apiPort or replicationPort)")
                    }
                }
                nodes.append(Node(id: id, region: name, ordinal: n, names: names, api: apiAddress,
                                  replication: replicationAddress))
            }
            regions.append(Region(name: name, syncStandbys: sync, nodes: nodes))
        }
        return regions
    }

    static func port(_ value: JSONValue?, at: String) throws(ProvisioningError) -> Int? {
        guard let value else { return nil }
        guard let port = value.exactIntegerValue, (1...65535).contains(port) else {
            throw ProvisioningError("\(at) must be a port number from 1 to 65535")
        }
        return port
    }

    /// Writes the bundles of the cluster `spec` describes into `directory` (missing or empty).
    /// - Returns: the node ids, by region in the spec's order.
    @discardableResult
    package static func write(spec: [UInt8], directory: String, now: Date) throws(ProvisioningError) -> [String] {
        let regions = try parse(spec)
        let dir = Files.absolutePath(directory)
        if let entries = try? Files.listDirectory(dir), !entries.isEmpty {
            throw ProvisioningError("\(dir) is not empty; plan into a new directory")
        }
        try ClusterEnvironment.makeDirectory(dir)
        let caDir = dir + "/ca"
        try CertificateTools.initialize(directory: caDir, commonName: "Strongroom cluster CA", now: now)
        var random = SystemRandomSource()
        let iam = Array(try DevEnvironment.iamDocument(random: &random).utf8)
        guard let caPEM = FileManager.default.contents(atPath: caDir + "/" + CertificateTools.caCertificateName) else {
            throw ProvisioningError("\(caDir)/ca.pem: cannot read the CA just made")
        }

        var written: [String] = []
        for region in regions {
            let keyring = Array(try DevEnvironment.keyring(region: region.name, random: &random).encoded())
            // Every node of every other region: a region's log is served by whichever of its
            // nodes is primary.
            let peers = regions.filter { $0.name != region.name }.flatMap { other in
                other.nodes.map { ReplicationSettings.Peer(nodeId: $0.id, region: other.name, address: $0.replication) }
            }
            for node in region.nodes {
                let bundle = dir + "/" + node.id
                try ClusterEnvironment.makeDirectory(bundle)
                try DevEnvironment.writeCertificate(
                    commonName: node.id, organizationalUnit: region.name, dnsNames: node.names.dnsNames, ipAddresses: node.names.ipAddresses,
                    uris: [NodeIdentity.uri(region: region.name, nodeId: node.id)], certificate: bundle + "/node.pem",
                    privateKey: bundle + "/node.key", caCertificate: caDir + "/ca.pem", caPrivateKey: caDir + "/ca.key", now: now)
                try DevEnvironment.writeFile(Array(caPEM), to: bundle + "/ca.pem", mode: 0o644)
                try DevEnvironment.writeFile(iam, to: bundle + "/iam.json", mode: 0o600)
                try DevEnvironment.writeFile(keyring, to: bundle + "/keyring.json", mode: 0o600)
                var replication = ReplicationSettings(listen: node.replication, peers: peers)
                if region.nodes.count > 1 {
                    replication.regionNodes = region.nodes.map {
                        ReplicationSettings.RegionNode(nodeId: $0.id, address: $0.replication, ordinal: $0.ordinal, api: $0.api)
                    }
                    replication.syncStandbys = region.syncStandbys
                }
                let configuration = NodeConfiguration(
                    nodeId: node.id, region: region.name, listen: [node.api], dataDirectory: "data", certificateFile: "node.pem",
                    privateKeyFile: "node.key", caFile: "ca.pem", iamFile: "iam.json", keyringFile: "keyring.json",
                    replication: replication)
                try DevEnvironment.writeFile(Array(portable(configuration)), to: bundle + "/config.json", mode: 0o600)
                written.append(node.id)
            }
        }
        let credentials: JSONValue = ["caBundle": "ca/ca.pem", "accounts": try DevEnvironment.describeAccounts(iamFile: dir + "/" + written[0] + "/iam.json"),
                                      "nodes": .array(regions.flatMap { region in region.nodes.map { node -> JSONValue in
                                          ["id": .string(node.id), "region": .string(region.name), "ordinal": .integer(node.ordinal),
                                           "endpoint": .string("https://\(node.api)"), "replication": .string(node.replication.description)]
                                      } })]
        try DevEnvironment.writeFile(Array(DevEnvironment.fileText(credentials).utf8), to: dir + "/credentials.json", mode: 0o600)
        return written
    }

    /// The configuration's file without `eventLoops`: the planning machine's core count is not
    /// the host's (a node defaults to its own).
    static func portable(_ configuration: NodeConfiguration) -> Data {
        let encoded = configuration.encoded()
        guard case .object(let members)? = try? JSONValue.parse(Array(encoded)) else { return encoded }
        return Data(DevEnvironment.fileText(.object(members.filter { $0.key != "eventLoops" })).utf8)
    }
}
