import Foundation
import Testing
@testable import Node
import Platform
import TLS
@testable import Configuration
@testable import Provisioning

@Suite struct ClusterEnvironmentTests {
    /// A fresh directory path (not created) under the temporary directory.
    func scratch() -> String { NSTemporaryDirectory() + "strongroom-cluster-\(UUID().uuidString)" }

    func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    @Test func initMakesEveryFileWithItsMode() throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ["us-east-1", "eu-west-1"]
        let nodes = try ClusterEnvironment.initialize(directory: dir, regions: regions, now: Date())
        #expect(nodes.map(\.nodeId) == ["us-east-1-a", "eu-west-1-a"])
        var modes: [String: UInt32] = ["ca.pem": 0o644, "ca.key": 0o600, "iam.json": 0o600, "front.json": 0o644,
                                       "front/front.pem": 0o644, "front/front.key": 0o600]
        for region in regions {
            for (name, mode) in [("node.pem", 0o644), ("node.key", 0o600), ("config.json", 0o600), ("keyring.json", 0o600)] as [(String, UInt32)] {
                modes["\(region)/\(name)"] = mode
            }
        }
        for (name, mode) in modes {
            #expect(try Files.permissions(of: dir + "/" + name) == mode, "\(name)")
        }
    }

    @Test func certificatesNameTheNodeAndChainToTheClusterCA() throws {
        let dir = scratch()
        defer { remove(dir) }
        _ = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1", "ap-southeast-2"], now: Date())
        let ca = try PeerCertificate(pem: try String(contentsOfFile: dir + "/ca.pem", encoding: .utf8))
        for region in ["us-east-1", "ap-southeast-2"] {
            let node = try PeerCertificate(pem: try String(contentsOfFile: "\(dir)/\(region)/node.pem", encoding: .utf8))
            #expect(node.uris == ["spiffe://strongroom/region/\(region)/node/\(region)-a"])
            #expect(node.ipAddresses == ["127.0.0.1"])
            #expect(node.commonName == "\(region)-a")
            #expect(node.serialNumber != ca.serialNumber)
        }
        let front = try PeerCertificate(pem: try String(contentsOfFile: dir + "/front/front.pem", encoding: .utf8))
        #expect(front.uris.isEmpty && front.ipAddresses == ["127.0.0.1"])
        // Certificate and key load as a mutual-TLS server requiring clients of the cluster CA.
        _ = try TLSContext.server(certificateChainFile: "\(dir)/us-east-1/node.pem", privateKeyFile: "\(dir)/us-east-1/node.key",
                                  clientCAFile: dir + "/ca.pem", requireClientCertificate: true, minimumVersion: .tls13)
    }

    @Test func anAddressPutsARegionsNodeOnThatIPAndInItsCertificate() throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ["us-east-1", "eu-west-1"]
        let addresses = try ClusterEnvironment.parseAddresses(["eu-west-1=10.231.0.12"], regions: regions)
        let nodes = try ClusterEnvironment.initialize(directory: dir, regions: regions, addresses: addresses, now: Date())
        #expect(nodes[0].listen[0].host == "127.0.0.1" && nodes[0].replication?.listen.host == "127.0.0.1")
        #expect(nodes[1].listen[0].host == "10.231.0.12" && nodes[1].replication?.listen.host == "10.231.0.12")
        #expect(nodes[0].replication?.peers.first?.address.host == "10.231.0.12")
        let moved = try PeerCertificate(pem: try String(contentsOfFile: "\(dir)/eu-west-1/node.pem", encoding: .utf8))
        #expect(moved.ipAddresses == ["10.231.0.12", "127.0.0.1"])
        let stayed = try PeerCertificate(pem: try String(contentsOfFile: "\(dir)/us-east-1/node.pem", encoding: .utf8))
        #expect(stayed.ipAddresses == ["127.0.0.1"])
    }

    @Test func configurationsLoadAndPeerWithEveryOtherNode() throws {
        let dir = scratch()
        defer { remove(dir) }
        let regions = ClusterEnvironment.defaultRegions
        let made = try ClusterEnvironment.initialize(directory: dir, regions: regions, now: Date())
        let loaded = try regions.map { region throws(NodeConfiguration.Problem) in
            try NodeConfiguration.load(path: "\(dir)/\(region)/config.json")
        }
        #expect(loaded == made)
        let absolute = Files.absolutePath(dir)
        var ports: [UInt16] = []
        for node in loaded {
            let replication = try #require(node.replication)
            #expect(node.caFile == absolute + "/ca.pem" && node.iamFile == absolute + "/iam.json")
            #expect(node.dataDirectory == "\(absolute)/\(node.region)/data")
            #expect(node.keyringFile == "\(absolute)/\(node.region)/keyring.json")
            #expect(Set(replication.peers.map(\.region)) == Set(regions).subtracting([node.region]))
            for peer in replication.peers {
                let source = try #require(loaded.first { $0.region == peer.region })
                #expect(peer.nodeId == source.nodeId && peer.address == source.replication?.listen)
            }
            ports += [node.listen[0].port, replication.listen.port]
            #expect(node.listen[0].host == "127.0.0.1" && replication.listen.host == "127.0.0.1")
        }
        #expect(Set(ports).count == ports.count)
        // Each region has its own keys; the IAM file is shared.
        let keyrings = try regions.map { try String(contentsOfFile: "\(dir)/\($0)/keyring.json", encoding: .utf8) }
        #expect(keyrings[0].contains("\"us-east-1\"") && !keyrings[0].contains("\"eu-west-1\""))
        let front = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/front.json"))) as? [String: Any])
        #expect(front["routes"] as? [String: String] == Dictionary(uniqueKeysWithValues: loaded.map { ($0.region, $0.listen[0].description) }))
        #expect((front["arguments"] as? [String])?.first == "front")
    }

    @Test func refusesToOverwrite() throws {
        let dir = scratch()
        defer { remove(dir) }
        _ = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1"], now: Date())
        let before = try String(contentsOfFile: dir + "/ca.pem", encoding: .utf8)
        do {
            _ = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1"], now: Date())
            Issue.record("a second init succeeded")
        } catch {
            #expect(error.message.contains("already holds a cluster"))
        }
        #expect(try String(contentsOfFile: dir + "/ca.pem", encoding: .utf8) == before)
    }

    @Test func oneRegionHasNoPeers() throws {
        let dir = scratch()
        defer { remove(dir) }
        let nodes = try ClusterEnvironment.initialize(directory: dir, regions: ["eu-central-1"], now: Date())
        #expect(nodes.count == 1 && nodes[0].replication?.peers == [])
    }

    @Test(arguments: [("", "'' is not a region"), ("us-east-1,,eu-west-1", "'' is not a region"), ("us-east-1,mars", "'mars'"),
                      ("us-east-1,us-east-1", "names us-east-1 twice"),
                      (Array(repeating: "us-east-1", count: 17).joined(separator: ","), "1 to 16 regions")])
    func regionListRejections(text: String, expected: String) {
        do {
            _ = try ClusterEnvironment.parseRegions(text)
            Issue.record("accepted '\(text)'")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func regionListTrimsSpaces() throws {
        #expect(try ClusterEnvironment.parseRegions("us-east-1, eu-west-1") == ["us-east-1", "eu-west-1"])
    }

    @Test func manifestDescribesTheRunningCluster() throws {
        let dir = scratch()
        defer { remove(dir) }
        let nodes = try ClusterEnvironment.initialize(directory: dir, regions: ["us-east-1", "eu-west-1"], now: Date())
        let data = try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 11, "eu-west-1": 12], frontPid: 13)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(root["caBundle"] as? String == Files.absolutePath(dir) + "/ca.pem")
        #expect(root["frontPid"] as? Int == 13)
        #expect((root["front"] as? String)?.hasPrefix("https://127.0.0.1:") == true)
        let described = try #require(root["nodes"] as? [[String: Any]])
        // Ordered by region name.
        #expect(described.map { $0["region"] as? String } == ["eu-west-1", "us-east-1"])
        let east = try #require(described.last)
        #expect(east["id"] as? String == "us-east-1-a" && east["pid"] as? Int == 11)
        #expect(east["endpoint"] as? String == "https://\(nodes[0].listen[0])")
        #expect(east["replication"] as? String == nodes[0].replication?.listen.description)
        #expect(east["dataDir"] as? String == nodes[0].dataDirectory)
        let accounts = try #require(root["accounts"] as? [[String: Any]])
        #expect(accounts.compactMap { $0["accountId"] as? String } == DevEnvironment.accounts)
        #expect(ClusterEnvironment.banner(manifest: data, directory: dir).contains("export AWS_ACCESS_KEY_ID=AKIA"))

        let noFront = try #require(try JSONSerialization.jsonObject(
            with: try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 11, "eu-west-1": 12], frontPid: nil)) as? [String: Any])
        #expect(noFront["front"] is NSNull && noFront["frontPid"] is NSNull)
        #expect(throws: ProvisioningError.self) { try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 11], frontPid: nil) }
        #expect(throws: ProvisioningError.self) {
            try ClusterEnvironment.manifest(directory: dir, pids: ["us-east-1": 11, "eu-west-1": 12, "us-west-2": 14], frontPid: nil)
        }
    }
}
