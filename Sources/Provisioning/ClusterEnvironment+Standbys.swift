import Foundation
import JSON
import Platform
public import Configuration

/// A local cluster's standbys (`cluster init --standbys N`): N nodes per region beside its first
/// primary, each in `DIR/<nodeId>/` (`<region>-b`, `-c`, `-d`) with its own certificate, key,
/// configuration, ports and data, and a copy of the region's keyring. Every node of a region lists
/// all of them in `replication.regionNodes`; what a standby does with that is the node's business.
extension ClusterEnvironment {
    /// A local cluster runs every node on one machine; more standbys than this is a mistake.
    public static let maximumStandbys = 3

    /// Parses `--standbys N`: a whole number from 0 to `maximumStandbys`.
    public static func parseStandbys(_ text: String) throws(ProvisioningError) -> Int {
        guard let count = Int(text), (0...maximumStandbys).contains(count) else {
            throw ProvisioningError("--standbys takes a whole number from 0 to \(maximumStandbys), got '\(text)'")
        }
        return count
    }

    /// Parses `--sync-standbys K`: a whole number from 0 to the region's `standbys`.
    public static func parseSyncStandbys(_ text: String, standbys: Int) throws(ProvisioningError) -> Int {
        guard let count = Int(text), (0...standbys).contains(count) else {
            throw ProvisioningError("--sync-standbys takes a whole number from 0 to --standbys (\(standbys)), got '\(text)'")
        }
        return count
    }

    /// The standbys' configurations of the cluster in `directory`, by region name then ordinal:
    /// every node of ordinal 1 or more in a first primary's `replication.regionNodes`, read from
    /// `DIR/<nodeId>/config.json`. A cluster made without standbys has none.
    public static func standbys(directory: String) throws(ProvisioningError) -> [NodeConfiguration] {
        let dir = Files.absolutePath(directory)
        var standbys: [NodeConfiguration] = []
        for primary in try nodes(directory: dir) {
            let regionNodes = (primary.replication?.regionNodes ?? []).filter { $0.ordinal > 0 }.sorted { $0.ordinal < $1.ordinal }
            for node in regionNodes {
                let path = "\(dir)/\(node.nodeId)/config.json"
                let configuration: NodeConfiguration
                do {
                    configuration = try NodeConfiguration.load(path: path)
                } catch {
                    throw ProvisioningError("\(primary.nodeId) names the standby \(node.nodeId): \(error.message)")
                }
                guard configuration.nodeId == node.nodeId, configuration.region == primary.region else {
                    throw ProvisioningError("\(path) is \(configuration.nodeId) of \(configuration.region), not \(node.nodeId) of \(primary.region)")
                }
                standbys.append(configuration)
            }
        }
        return standbys
    }

    /// One node's entry in `cluster.json`'s `nodes` or `standbys`.
    static func manifestEntry(_ node: NodeConfiguration, pid: Int32) -> JSONValue {
        [
            "id": .string(node.nodeId), "region": .string(node.region),
            "ordinal": .integer(node.replication?.ordinal(of: node.nodeId) ?? 0),
            "endpoint": .string("https://\(node.listen[0])"),
            "replication": node.replication.map { .string($0.listen.description) } ?? .null,
            "dataDir": .string(node.dataDirectory), "pid": .integer(pid),
        ]
    }

    /// Copies `source` to `destination` with `mode` (a region's keyring to its standby).
    static func copyFile(_ source: String, to destination: String, mode: UInt32) throws(ProvisioningError) {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw ProvisioningError("\(source): cannot read it to copy it to \(destination)")
        }
        try DevEnvironment.writeFile(Array(data), to: destination, mode: mode)
    }
}
