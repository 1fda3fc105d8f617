public import Foundation
import Cryptography
import JSON
import Platform
public import Configuration

/// `strongroom cluster`: a local multi-region cluster in one directory, one node per region on
/// 127.0.0.1 (and, with `--standbys N`, N standbys per region), made by `init` and described,
/// once its processes run, by `cluster.json`.
///
/// ```
/// DIR/ca.pem, ca.key            the cluster CA (key 0600)
/// DIR/iam.json                  one IAM file for every node (the two dev accounts)
/// DIR/<region>/node.pem|key     SAN URI spiffe://strongroom/region/<region>/node/<nodeId>, IP 127.0.0.1
/// DIR/<region>/config.json      for `strongroom serve --config`, with a replication section
/// DIR/<region>/keyring.json     the region's keys; DIR/<region>/data/ its data directory
/// DIR/<region>-b/ ...           a standby (ordinal 1; -c is 2, -d 3): its own node.pem|key,
///                               config.json and data/, a copy of the region's keyring.json
/// DIR/front/front.pem|key       the front's certificate (IP 127.0.0.1, no node identity)
/// DIR/front.json                the front's listen address, files, routes and command line
/// DIR/cluster.json              written by `cluster/up` once the processes run (`manifest`)
/// ```
/// A region's node `<region>-a` (ordinal 0) keeps the paths it had before standbys existed; a
/// standby's directory is named by its node id, which is never a region name.
public enum ClusterEnvironment {
    public static let defaultRegions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    public static let defaultDirectory = ".strongroom-cluster"
    /// A local cluster is a handful of processes on one machine.
    public static let maximumRegions = 16

    /// The id of a region's node of `ordinal`: `<region>-a` for its first primary (ordinal 0),
    /// `<region>-b`, `-c`, ... for its standbys.
    public static func nodeId(region: String, ordinal: Int = 0) -> String {
        precondition((0..<26).contains(ordinal), "an ordinal names a letter")
        return "\(region)-\(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(ordinal))))"
    }

    /// Parses `--regions`: a comma-separated list of distinct region names, 1 to `maximumRegions`.
    public static func parseRegions(_ text: String) throws(ProvisioningError) -> [String] {
        let regions = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...maximumRegions).contains(regions.count) else {
            throw ProvisioningError("--regions takes 1 to \(maximumRegions) regions, got \(regions.count)")
        }
        for (index, region) in regions.enumerated() {
            guard NodeConfiguration.isValidRegion(region) else {
                throw ProvisioningError("--regions: '\(region)' is not a region name such as us-east-1")
            }
            guard !regions[..<index].contains(region) else { throw ProvisioningError("--regions names \(region) twice") }
        }
        return regions
    }

    /// Parses the values of `--address REGION=IP` or `--address NODE=IP` (repeatable): the IPv4
    /// or IPv6 literal a region's nodes (or one node, `<region>-a`, `<region>-b`, …) listen on
    /// instead of 127.0.0.1 (for nodes in network namespaces, as `chaos/` runs them). A node's
    /// own entry wins over its region's.
    public static func parseAddresses(_ values: [String], regions: [String]) throws(ProvisioningError) -> [String: String] {
        var addresses: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, SocketAddress(host: parts[1], port: 1) != nil else {
                throw ProvisioningError("--address takes REGION=IP or NODE=IP with an IP literal, got '\(value)'")
            }
            let isNode = regions.contains { region in (0..<26).contains { parts[0] == nodeId(region: region, ordinal: $0) } }
            guard regions.contains(parts[0]) || isNode else {
                throw ProvisioningError("--address: the cluster has no region or node \(parts[0])")
            }
            guard addresses[parts[0]] == nil else { throw ProvisioningError("--address: \(parts[0]) is given twice") }
            addresses[parts[0]] = parts[1]
        }
        return addresses
    }

    /// Makes a new cluster in `directory`, which must be missing or empty (an existing cluster is
    /// never overwritten). Returns the regions' first primaries' configurations in the order of
    /// `regions` (`standbys(directory:)` reads the standbys' back).
    /// - Parameters:
    ///   - addresses: by region, the IP a node listens on (API and replication) and its
    ///     certificate names beside 127.0.0.1; a region not named here uses 127.0.0.1. Ports are
    ///     picked free on 127.0.0.1 either way.
    ///   - standbys: standbys per region (`parseStandbys`), each in `DIR/<nodeId>/`; with any,
    ///     every node of a region lists all of them in `replication.regionNodes`.
    ///   - syncStandbys: every node's `replication.syncStandbys` (0 to `standbys`).
    public static func initialize(directory: String, regions: [String], addresses: [String: String] = [:],
                                  standbys: Int = 0, syncStandbys: Int = 0, now: Date) throws(ProvisioningError) -> [NodeConfiguration] {
        precondition(!regions.isEmpty && Set(regions).count == regions.count, "regions come from parseRegions")
        precondition((0...maximumStandbys).contains(standbys) && (0...standbys).contains(syncStandbys), "from parseStandbys")
        let dir = Files.absolutePath(directory)
        if let entries = try? Files.listDirectory(dir), !entries.isEmpty {
            let what = entries.contains("ca.pem") ? "a cluster" : "files (\(entries.sorted().prefix(3).joined(separator: ", ")))"
            throw ProvisioningError("\(dir) already holds \(what); remove it or use another --dir")
        }
        try makeDirectory(dir)

        let caPath = dir + "/ca.pem", caKeyPath = dir + "/ca.key", iamPath = dir + "/iam.json"
        try DevEnvironment.writeCertificateAuthority(commonName: "Strongroom local cluster CA", certificate: caPath, privateKey: caKeyPath, now: now)
        var random = SystemRandomSource()
        try DevEnvironment.writeFile(Array(try DevEnvironment.iamDocument(random: &random).utf8), to: iamPath, mode: 0o600)

        // Two ports per node (API, replication) and one for the front, distinct, picked now: the
        // primaries' first and the front's next (where they were before standbys), then the standbys'.
        let ports = try freePorts(count: 2 * regions.count * (1 + standbys) + 1)
        if let stray = addresses.keys.sorted().first(where: { key in
            !regions.contains(key) && !regions.contains { region in (0...standbys).contains { key == nodeId(region: region, ordinal: $0) } }
        }) {
            throw ProvisioningError("--address: the cluster has no node \(stray) (--standbys \(standbys))")
        }
        func host(_ region: String, _ ordinal: Int) -> String {
            addresses[nodeId(region: region, ordinal: ordinal)] ?? addresses[region] ?? "127.0.0.1"
        }
        func portIndex(region index: Int, ordinal: Int) -> Int {
            ordinal == 0 ? 2 * index : 2 * regions.count + 1 + 2 * (index * standbys + ordinal - 1)
        }
        // Every node of every region, by region then ordinal, with its API and replication addresses.
        var layout: [[(api: SocketAddress, node: ReplicationSettings.RegionNode)]] = []
        for (index, region) in regions.enumerated() {
            var nodes: [(api: SocketAddress, node: ReplicationSettings.RegionNode)] = []
            for ordinal in 0...standbys {
                let first = portIndex(region: index, ordinal: ordinal)
                let ip = host(region, ordinal)
                guard let api = SocketAddress(host: ip, port: ports[first]),
                      let replication = SocketAddress(host: ip, port: ports[first + 1]) else {
                    throw ProvisioningError("--address: '\(ip)' is not an IP literal")
                }
                nodes.append((api, .init(nodeId: nodeId(region: region, ordinal: ordinal), address: replication, ordinal: ordinal, api: api)))
            }
            layout.append(nodes)
        }

        var configurations: [NodeConfiguration] = []
        var regionAPIs: [String: [SocketAddress]] = [:]
        for (index, region) in regions.enumerated() {
            // Every node of every other region, its first primary first: a region's log is served
            // by whichever of its nodes is primary (after a promotion, another one).
            let peers = regions.indices.filter { $0 != index }.flatMap { other in
                layout[other].map { ReplicationSettings.Peer(nodeId: $0.node.nodeId, region: regions[other], address: $0.node.address) }
            }
            for (api, node) in layout[index] {
                let nodeDir = node.ordinal == 0 ? dir + "/" + region : dir + "/" + node.nodeId
                try makeDirectory(nodeDir)
                try DevEnvironment.writeCertificate(
                    commonName: node.nodeId, organizationalUnit: region, dnsNames: [],
                    ipAddresses: node.address.host == "127.0.0.1" ? ["127.0.0.1"] : [node.address.host, "127.0.0.1"],
                    uris: [NodeIdentity.uri(region: region, nodeId: node.nodeId)], certificate: nodeDir + "/node.pem", privateKey: nodeDir + "/node.key",
                    caCertificate: caPath, caPrivateKey: caKeyPath, now: now)
                if node.ordinal == 0 {
                    let keyring = try DevEnvironment.keyring(region: region, random: &random)
                    try DevEnvironment.writeFile(Array(keyring.encoded()), to: nodeDir + "/keyring.json", mode: 0o600)
                } else {
                    // The region's keys, not new ones: the values in the log a standby copies are wrapped under them.
                    try copyFile(dir + "/" + region + "/keyring.json", to: nodeDir + "/keyring.json", mode: 0o600)
                }
                var replication = ReplicationSettings(listen: node.address, peers: peers)
                if standbys > 0 {
                    replication.regionNodes = layout[index].map(\.node)
                    replication.syncStandbys = syncStandbys
                }
                let configuration = NodeConfiguration(
                    nodeId: node.nodeId, region: region, listen: [api], dataDirectory: nodeDir + "/data",
                    certificateFile: nodeDir + "/node.pem", privateKeyFile: nodeDir + "/node.key", caFile: caPath,
                    iamFile: iamPath, keyringFile: nodeDir + "/keyring.json", replication: replication)
                try DevEnvironment.writeFile(Array(configuration.encoded()), to: nodeDir + "/config.json", mode: 0o600)
                if node.ordinal == 0 { configurations.append(configuration) }
                regionAPIs[region, default: []].append(api)
            }
        }

        let frontDir = dir + "/front"
        try makeDirectory(frontDir)
        try DevEnvironment.writeCertificate(
            commonName: "front", organizationalUnit: nil, dnsNames: [], ipAddresses: ["127.0.0.1"], uris: [],
            certificate: frontDir + "/front.pem", privateKey: frontDir + "/front.key",
            caCertificate: caPath, caPrivateKey: caKeyPath, now: now)
        let front = SocketAddress(host: "127.0.0.1", port: ports[2 * regions.count])!
        try DevEnvironment.writeFile(
            Array(frontDocument(listen: front, directory: frontDir, caFile: caPath, routes: configurations, regionNodes: regionAPIs)),
            to: dir + "/front.json", mode: 0o644)
        return configurations
    }

    /// `front.json`: what `strongroom front` is started with, as settings and as its arguments.
    /// `regionNodes`: every node's API address by region (first primary first); the front tries
    /// them in order when one cannot be reached. `routes` keeps the first primaries.
    static func frontDocument(listen: SocketAddress, directory: String, caFile: String, routes: [NodeConfiguration],
                              regionNodes: [String: [SocketAddress]] = [:]) -> Data {
        let certificate = directory + "/front.pem", privateKey = directory + "/front.key"
        var arguments = ["front", "--listen", listen.description, "--certificate", certificate, "--private-key", privateKey, "--ca", caFile]
        for node in routes {
            for address in regionNodes[node.region] ?? [node.listen[0]] { arguments += ["--route", "\(node.region)=\(address)"] }
        }
        let document: JSONValue = [
            "listen": .string(listen.description), "certificate": .string(certificate), "privateKey": .string(privateKey),
            "ca": .string(caFile), "routes": .object(routes.map { (key: $0.region, value: .string($0.listen[0].description)) }),
            "arguments": .strings(arguments),
        ]
        return Data(DevEnvironment.fileText(document).utf8)
    }

    /// The nodes' configurations of the cluster in `directory`, ordered by region name.
    public static func nodes(directory: String) throws(ProvisioningError) -> [NodeConfiguration] {
        let dir = Files.absolutePath(directory)
        let entries: [String]
        do {
            entries = try Files.listDirectory(dir)
        } catch {
            throw ProvisioningError("\(dir): no cluster here (\(error.message)); make one with strongroom cluster init")
        }
        var nodes: [NodeConfiguration] = []
        for entry in entries.sorted() where NodeConfiguration.isValidRegion(entry) && Files.exists("\(dir)/\(entry)/config.json") {
            do {
                nodes.append(try NodeConfiguration.load(path: "\(dir)/\(entry)/config.json"))
            } catch {
                throw ProvisioningError(error.message)
            }
        }
        guard !nodes.isEmpty else { throw ProvisioningError("\(dir): no cluster here; make one with strongroom cluster init") }
        return nodes
    }

    /// `cluster.json`: the CA, the accounts (as `endpoint.json` lists them), the front, every
    /// region's first primary (`nodes`) and every standby (`standbys`, by region then ordinal;
    /// `[]` without), each with its ordinal, endpoints, data directory and process id.
    /// - Parameters:
    ///   - pids: each running first primary's process id, by region; every one must have one.
    ///   - standbyPids: each running standby's process id, by node id; every standby must have one.
    ///   - frontPid: nil when no front runs; `front` and `frontPid` are then null.
    public static func manifest(directory: String, pids: [String: Int32], standbyPids: [String: Int32] = [:],
                                frontPid: Int32?) throws(ProvisioningError) -> Data {
        let dir = Files.absolutePath(directory)
        let configurations = try nodes(directory: dir)
        let known = Set(configurations.map(\.region))
        if let stray = pids.keys.sorted().first(where: { !known.contains($0) }) {
            throw ProvisioningError("\(dir) has no node in \(stray)")
        }
        var nodes: [JSONValue] = []
        for node in configurations {
            guard let pid = pids[node.region] else { throw ProvisioningError("no process id given for the node in \(node.region)") }
            nodes.append(manifestEntry(node, pid: pid))
        }
        let standbyNodes = try standbys(directory: dir)
        if let stray = standbyPids.keys.sorted().first(where: { id in !standbyNodes.contains { $0.nodeId == id } }) {
            throw ProvisioningError("\(dir) has no standby \(stray)")
        }
        var standbys: [JSONValue] = []
        for node in standbyNodes {
            guard let pid = standbyPids[node.nodeId] else { throw ProvisioningError("no process id given for the standby \(node.nodeId)") }
            standbys.append(manifestEntry(node, pid: pid))
        }
        var front = JSONValue.null
        if frontPid != nil {
            guard let data = FileManager.default.contents(atPath: dir + "/front.json"),
                  let listen = (try? JSONValue.parse(Array(data)))?["listen"]?.stringValue else {
                throw ProvisioningError("\(dir)/front.json: cannot read the front's settings")
            }
            front = .string("https://\(listen)")
        }
        let document: JSONValue = [
            "caBundle": .string(configurations[0].caFile), "accounts": try DevEnvironment.describeAccounts(iamFile: configurations[0].iamFile),
            "front": front, "nodes": .array(nodes), "frontPid": frontPid.map { .integer($0) } ?? .null,
            "standbys": .array(standbys),
        ]
        return Data(DevEnvironment.fileText(document).utf8)
    }

    /// What `cluster/up` prints: every endpoint and the exports for the first account's admin.
    public static func banner(manifest: Data, directory: String) -> String {
        guard let root = try? JSONValue.parse(Array(manifest)),
              let ca = root["caBundle"]?.stringValue, let nodes = root["nodes"]?.arrayValue,
              // us-east-1 when the cluster has it (the default cluster's first region), else the first listed.
              let first = nodes.first(where: { $0["region"]?.stringValue == ClusterEnvironment.defaultRegions[0] }) ?? nodes.first,
              let firstEndpoint = first["endpoint"]?.stringValue, let firstRegion = first["region"]?.stringValue,
              let accounts = root["accounts"]?.arrayValue,
              let admin = accounts.first?["principals"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "admin" }),
              let keyId = admin["accessKeyId"]?.stringValue, let secret = admin["secretAccessKey"]?.stringValue
        else { return "cluster.json is incomplete" }
        let front = root["front"]?.stringValue
        var lines = ["Strongroom cluster in \(directory) (credentials of every account and user: \(directory)/cluster.json)", ""]
        for node in nodes {
            let region = node["region"]?.stringValue ?? "?"
            lines.append("  \(region.padding(toLength: 16, withPad: " ", startingAt: 0)) \(node["endpoint"]?.stringValue ?? "?")"
                + "  replication \(node["replication"]?.stringValue ?? "-")  pid \(node["pid"]?.exactIntegerValue ?? 0)")
        }
        for standby in root["standbys"]?.arrayValue ?? [] {
            let id = standby["id"]?.stringValue ?? "?"
            lines.append("  \(id.padding(toLength: 16, withPad: " ", startingAt: 0)) \(standby["endpoint"]?.stringValue ?? "?")"
                + "  replication \(standby["replication"]?.stringValue ?? "-")  pid \(standby["pid"]?.exactIntegerValue ?? 0)"
                + "  (standby in \(standby["region"]?.stringValue ?? "?"), ordinal \(standby["ordinal"]?.exactIntegerValue ?? 0))")
        }
        lines.append("  \("front".padding(toLength: 16, withPad: " ", startingAt: 0)) "
            + (front.map { "\($0)  pid \(root["frontPid"]?.exactIntegerValue ?? 0)  (routes by the request's region)" } ?? "not running"))
        let secondRegion = nodes.first { $0["region"]?.stringValue != firstRegion }?["region"]?.stringValue ?? firstRegion
        lines += [
            "", "Use it as account \(accounts.first?["accountId"]?.stringValue ?? "")'s admin:", "",
            "  export AWS_ENDPOINT_URL=\(front ?? firstEndpoint)",
            "  export AWS_CA_BUNDLE=\(ca)",
            "  export AWS_ACCESS_KEY_ID=\(keyId)",
            "  export AWS_SECRET_ACCESS_KEY=\(secret)",
            "  export AWS_DEFAULT_REGION=\(firstRegion)", "",
            "  aws secretsmanager list-secrets" + (front == nil ? "" : " --region \(secondRegion)"),
            "", "Stop it with: cluster/down --dir \(directory)",
        ]
        return lines.joined(separator: "\n")
    }

    static func makeDirectory(_ path: String) throws(ProvisioningError) {
        do {
            try Files.makeDirectory(path)
        } catch {
            throw ProvisioningError("\(path): cannot create the directory: \(error.message)")
        }
    }

    /// `count` distinct free TCP ports on 127.0.0.1, each bound and released. Another process
    /// may take one before the cluster starts; `cluster/up` then reports that node's failure.
    static func freePorts(count: Int) throws(ProvisioningError) -> [UInt16] {
        var ports: [UInt16] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts <= 10 * count else { throw ProvisioningError("cannot find \(count) free ports on 127.0.0.1") }
            let listener: FileDescriptor
            do {
                listener = try TCPSocket.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!, backlog: 1)
            } catch {
                throw ProvisioningError("cannot bind a port on 127.0.0.1: \(error.message)")
            }
            let port = try? TCPSocket.localPort(listener)
            listener.close()
            if let port, !ports.contains(port) { ports.append(port) }
        }
        return ports
    }
}
