import Foundation
import Testing
import JSON
import Platform
import TLS
@testable import Configuration
@testable import Provisioning

/// `cluster init --standbys N --sync-standbys K`: the standbys' files, certificates and
/// configurations, and the manifest that lists them. Whether a standby follows its primary is the
/// node's business and is not tested here.
@Suite struct ClusterStandbyTests {
    func scratch() -> String { NSTemporaryDirectory() + "strongroom-standbys-\(UUID().uuidString)" }

    func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Every node's configuration as its file holds it, by region then ordinal.
    func loadAll(_ dir: String, regions: [String], standbys: Int) throws -> [[NodeConfiguration]] {
        try regions.map { region in
            try (0...standbys).map { ordinal in
                let nodeDir = ordinal == 0 ? region : ClusterEnvironment.nodeId(region: region, ordinal: ordinal)
                return try NodeConfiguration.load(path: "\(dir)/\(nodeDir)/config.json")
            }
        }
    }

    @Test func nodeIdsNameTheOrdinalByLetter() {
        #expect(ClusterEnvironment.nodeId(region: "us-east-1") == "us-east-1-a")
        #expect((0...3).map { ClusterEnvironment.nodeId(region: "eu-west-1", ordinal: $0) } == ["eu-west-1-a", "eu-west-1-b", "eu-west-1-c", "eu-west-1-d"])
        // A standby's directory is never taken for a region's.
        #expect(!NodeConfiguration.isValidRegion(ClusterEnvironment.nodeId(region: "us-east-1", ordinal: 1)))
    }

    @Test func standbysHaveTheirOwnFilesWithTheirModesAndTheRegionsKeyring() throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ["us-east-1", "eu-west-1"]
        let primaries = try ClusterEnvironment.initialize(directory: dir, regions: regions, standbys: 2, syncStandbys: 1, now: Date())
        // The first primaries are returned, and keep their paths.
        #expect(primaries.map(\.nodeId) == ["us-east-1-a", "eu-west-1-a"])
        let absolute = Files.absolutePath(dir)
        #expect(primaries.map(\.dataDirectory) == regions.map { "\(absolute)/\($0)/data" })
        var expected: Set<String> = ["ca.pem", "ca.key", "iam.json", "front.json", "front"]
        for region in regions {
            expected.insert(region)
            for ordinal in 1...2 {
                let standby = "\(dir)/\(region)-\(["", "b", "c"][ordinal])"
                expected.insert("\(region)-\(["", "b", "c"][ordinal])")
                for (name, mode) in [("node.pem", 0o644), ("node.key", 0o600), ("config.json", 0o600), ("keyring.json", 0o600)] as [(String, UInt32)] {
                    #expect(try Files.permissions(of: "\(standby)/\(name)") == mode, "\(standby)/\(name)")
                }
                // A copy of the region's keyring (values in its log are wrapped under it), not new keys.
                #expect(try Data(contentsOf: URL(fileURLWithPath: "\(standby)/keyring.json"))
                    == Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(region)/keyring.json")))
                // Its own key and certificate.
                #expect(try Data(contentsOf: URL(fileURLWithPath: "\(standby)/node.key"))
                    != Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(region)/node.key")))
            }
        }
        #expect(Set(try Files.listDirectory(dir)) == expected)
    }

    @Test func standbyCertificatesNameTheirNodeAndAddress() throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ["us-east-1", "eu-west-1"]
        let addresses = try ClusterEnvironment.parseAddresses(["eu-west-1=10.231.0.12"], regions: regions)
        _ = try ClusterEnvironment.initialize(directory: dir, regions: regions, addresses: addresses, standbys: 3, now: Date())
        let ca = try PeerCertificate(pem: try String(contentsOfFile: dir + "/ca.pem", encoding: .utf8))
        var serials: Set<String> = []
        for region in regions {
            for ordinal in 0...3 {
                let nodeId = ClusterEnvironment.nodeId(region: region, ordinal: ordinal)
                let path = ordinal == 0 ? "\(dir)/\(region)/node.pem" : "\(dir)/\(nodeId)/node.pem"
                let certificate = try PeerCertificate(pem: try String(contentsOfFile: path, encoding: .utf8))
                #expect(certificate.uris == ["spiffe://strongroom/region/\(region)/node/\(nodeId)"])
                #expect(certificate.ipAddresses == (region == "eu-west-1" ? ["10.231.0.12", "127.0.0.1"] : ["127.0.0.1"]))
                #expect(certificate.commonName == nodeId)
                serials.insert("\(certificate.serialNumber)")
            }
        }
        #expect(serials.count == 8 && !serials.contains("\(ca.serialNumber)"))
        // A standby's certificate and key load as a mutual-TLS server of the cluster CA.
        _ = try TLSContext.server(certificateChainFile: "\(dir)/eu-west-1-d/node.pem", privateKeyFile: "\(dir)/eu-west-1-d/node.key",
                                  clientCAFile: dir + "/ca.pem", requireClientCertificate: true, minimumVersion: .tls13)
    }

    @Test(arguments: [(1, 0), (1, 1), (2, 1), (3, 3)])
    func everyNodeOfARegionAgreesOnItsNodes(standbys: Int, syncStandbys: Int) throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ClusterEnvironment.defaultRegions
        let primaries = try ClusterEnvironment.initialize(directory: dir, regions: regions, standbys: standbys, syncStandbys: syncStandbys, now: Date())
        let all = try loadAll(dir, regions: regions, standbys: standbys)
        #expect(all.map { $0[0] } == primaries)
        #expect(try ClusterEnvironment.standbys(directory: dir) == regions.sorted().flatMap { region in all[regions.firstIndex(of: region)!].dropFirst() })
        let absolute = Files.absolutePath(dir)
        var ports: [UInt16] = []
        for (index, region) in regions.enumerated() {
            let nodes = all[index]
            let regionNodes = try #require(nodes[0].replication?.regionNodes)
            #expect(regionNodes.map(\.ordinal) == Array(0...standbys))
            #expect(regionNodes.map(\.nodeId) == (0...standbys).map { ClusterEnvironment.nodeId(region: region, ordinal: $0) })
            for (ordinal, node) in nodes.enumerated() {
                let replication = try #require(node.replication)
                #expect(node.region == region && node.nodeId == regionNodes[ordinal].nodeId)
                #expect(replication.regionNodes == regionNodes && replication.syncStandbys == syncStandbys)
                #expect(replication.listen == regionNodes[ordinal].address)
                #expect(replication.ordinal(of: node.nodeId) == ordinal && replication.isFirstPrimary(node.nodeId) == (ordinal == 0))
                #expect(replication.firstPrimary?.nodeId == nodes[0].nodeId)
                // Other regions are reached at any of their nodes, their first primary first, from
                // standbys too (after a promotion another node serves a region's log).
                let others = primaries.filter { $0.region != region }.flatMap { primary in
                    primary.replication!.regionNodes.isEmpty
                        ? [ReplicationSettings.Peer(nodeId: primary.nodeId, region: primary.region, address: primary.replication!.listen)]
                        : primary.replication!.regionNodes.map { ReplicationSettings.Peer(nodeId: $0.nodeId, region: primary.region, address: $0.address) }
                }
                #expect(replication.peers == others)
                let nodeDir = ordinal == 0 ? "\(absolute)/\(region)" : "\(absolute)/\(node.nodeId)"
                #expect(node.dataDirectory == nodeDir + "/data" && node.keyringFile == nodeDir + "/keyring.json")
                #expect(node.certificateFile == nodeDir + "/node.pem" && node.privateKeyFile == nodeDir + "/node.key")
                #expect(node.caFile == absolute + "/ca.pem" && node.iamFile == absolute + "/iam.json")
                #expect(node.listen[0].host == "127.0.0.1" && replication.listen.host == "127.0.0.1")
                ports += [node.listen[0].port, replication.listen.port]
            }
        }
        // Every port is the node's own, the front's included; the front routes to the first primaries.
        let front = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/front.json"))))
        let frontListen = try #require(front["listen"]?.stringValue.flatMap { SocketAddress($0) })
        ports.append(frontListen.port)
        #expect(ports.count == 2 * regions.count * (1 + standbys) + 1 && Set(ports).count == ports.count)
        let routes = try #require(front["routes"]?.objectMembers)
        #expect(Dictionary(uniqueKeysWithValues: routes.map { ($0.key, $0.value.stringValue) })
            == Dictionary(uniqueKeysWithValues: primaries.map { ($0.region, Optional($0.listen[0].description)) }))
    }

    /// `--address NODE=IP` puts one node on its own address (chaos/ runs each node in a network
    /// namespace of its own); a node's own entry wins over its region's, and a node the cluster
    /// does not have is refused.
    @Test func aNodeMayHaveAnAddressOfItsOwn() throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ["us-east-1", "eu-west-1"]
        let addresses = try ClusterEnvironment.parseAddresses(["us-east-1=10.9.0.1", "us-east-1-b=10.9.0.2", "eu-west-1-a=10.9.0.3"],
                                                              regions: regions)
        _ = try ClusterEnvironment.initialize(directory: dir, regions: regions, addresses: addresses, standbys: 1, syncStandbys: 1, now: Date())
        let all = try loadAll(dir, regions: regions, standbys: 1)
        #expect(all[0].map { $0.replication!.listen.host } == ["10.9.0.1", "10.9.0.2"])
        #expect(all[1].map { $0.replication!.listen.host } == ["10.9.0.3", "127.0.0.1"])
        #expect(all[0][1].listen.map(\.host) == ["10.9.0.2"])
        #expect(all[0][0].replication!.regionNodes.map(\.address.host) == ["10.9.0.1", "10.9.0.2"])
        let other = scratch()
        defer { remove(other) }
        #expect(throws: ProvisioningError.self) {
            _ = try ClusterEnvironment.initialize(directory: other, regions: regions,
                                                  addresses: ["us-east-1-c": "10.9.0.4"], standbys: 1, syncStandbys: 0, now: Date())
        }
    }

    @Test func withoutStandbysTheFilesAreAsBefore() throws {
        let dir = scratch()
        defer { remove(dir) }
        let nodes = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1", "eu-west-1"], standbys: 0, now: Date())
        #expect(nodes.allSatisfy { $0.replication?.regionNodes == [] && $0.replication?.syncStandbys == 0 })
        let text = try String(contentsOfFile: dir + "/us-east-1/config.json", encoding: .utf8)
        #expect(!text.contains("regionNodes") && !text.contains("syncStandbys"))
        #expect(Set(try Files.listDirectory(dir)) == ["ca.pem", "ca.key", "iam.json", "front.json", "front", "us-east-1", "eu-west-1"])
        #expect(try ClusterEnvironment.standbys(directory: dir).isEmpty)
        let manifest = try JSONValue.parse(Array(try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 1, "eu-west-1": 2], frontPid: nil)))
        #expect(manifest["standbys"] == .array([]))
    }

    @Test func theManifestListsTheStandbys() throws {
        let dir = scratch()
        defer { remove(dir) }
        _ = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1", "eu-west-1"], standbys: 2, syncStandbys: 2, now: Date())
        let pids: [String: Int32] = ["us-east-1": 11, "eu-west-1": 12]
        let standbyPids: [String: Int32] = ["us-east-1-b": 21, "us-east-1-c": 22, "eu-west-1-b": 23, "eu-west-1-c": 24]
        let data = try ClusterEnvironment.manifest(directory: dir, pids: pids, standbyPids: standbyPids, frontPid: 13)
        let root = try JSONValue.parse(Array(data))
        #expect(ProvisioningDocumentTests.isSortedEverywhere(root))
        let nodes = try #require(root["nodes"]?.arrayValue)
        #expect(nodes.map { $0["id"]?.stringValue } == ["eu-west-1-a", "us-east-1-a"])
        #expect(nodes.map { $0["ordinal"]?.exactIntegerValue } == [0, 0])
        let standbys = try #require(root["standbys"]?.arrayValue)
        #expect(standbys.map { $0["id"]?.stringValue } == ["eu-west-1-b", "eu-west-1-c", "us-east-1-b", "us-east-1-c"])
        #expect(standbys.map { $0["region"]?.stringValue } == ["eu-west-1", "eu-west-1", "us-east-1", "us-east-1"])
        #expect(standbys.map { $0["ordinal"]?.exactIntegerValue } == [1, 2, 1, 2])
        #expect(standbys.map { $0["pid"]?.exactIntegerValue } == [23, 24, 21, 22])
        let configurations = try ClusterEnvironment.standbys(directory: dir)
        #expect(standbys.map { $0["endpoint"]?.stringValue } == configurations.map { "https://\($0.listen[0])" })
        #expect(standbys.map { $0["replication"]?.stringValue } == configurations.map { $0.replication?.listen.description })
        #expect(standbys.map { $0["dataDir"]?.stringValue } == configurations.map(\.dataDirectory))
        let banner = ClusterEnvironment.banner(manifest: data, directory: dir)
        #expect(banner.contains("us-east-1-c") && banner.contains("pid 22") && banner.contains("(standby in us-east-1, ordinal 2)"))

        var missing = standbyPids
        missing["eu-west-1-c"] = nil
        #expect(throws: ProvisioningError.self) { try ClusterEnvironment.manifest(directory: dir, pids: pids, standbyPids: missing, frontPid: nil) }
        var stray = standbyPids
        stray["us-east-1-d"] = 25
        #expect(throws: ProvisioningError.self) { try ClusterEnvironment.manifest(directory: dir, pids: pids, standbyPids: stray, frontPid: nil) }
    }

    @Test(arguments: [("-1", "--standbys takes"), ("4", "from 0 to 3, got '4'"), ("two", "got 'two'"), ("", "got ''")])
    func standbyCountRejections(text: String, expected: String) {
        do {
            _ = try ClusterEnvironment.parseStandbys(text)
            Issue.record("accepted '\(text)'")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func syncStandbysIsAtMostTheStandbys() throws {
        #expect(try ClusterEnvironment.parseSyncStandbys("2", standbys: 2) == 2)
        #expect(throws: ProvisioningError.self) { try ClusterEnvironment.parseSyncStandbys("3", standbys: 2) }
        #expect(throws: ProvisioningError.self) { try ClusterEnvironment.parseSyncStandbys("-1", standbys: 2) }
    }
}
