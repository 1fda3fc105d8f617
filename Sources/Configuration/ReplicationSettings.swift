import JSON
public import Platform

/// The `replication` section of a node's configuration: where the node serves its region log to
/// the other regions' nodes, and which nodes it subscribes to.
///
/// ```json
/// "replication": {"listen": "127.0.0.1:7543",
///                 "peers": [{"nodeId": "eu-west-1-a", "region": "eu-west-1", "address": "127.0.0.1:7544"}],
///                 "heartbeatSeconds": 1, "deadAfterSeconds": 5}
/// ```
/// With this section `tls.ca` is the cluster CA and the node certificate carries the SAN URI
/// `spiffe://strongroom/region/<region>/node/<nodeId>` and IP 127.0.0.1. `peers` may be empty
/// (a one-region cluster only serves its log); each peer is another region, at most one node
/// per region, none in the node's own region.
public struct ReplicationSettings: Sendable, Equatable {
    /// Another region's node, the source of that region's log.
    public struct Peer: Sendable, Equatable {
        public var nodeId: String
        public var region: String
        /// The peer's replication listener.
        public var address: SocketAddress

        public init(nodeId: String, region: String, address: SocketAddress) {
            self.nodeId = nodeId
            self.region = region
            self.address = address
        }
    }

    /// The mutual-TLS listener that serves this node's region log to subscribers.
    public var listen: SocketAddress
    /// The nodes this node subscribes to, one per other region.
    public var peers: [Peer]
    /// How often each side of a link sends a heartbeat when it has nothing else to send.
    public var heartbeatSeconds: Double = 1
    /// A link silent for this long is dead (closed, then reconnected with backoff).
    public var deadAfterSeconds: Double = 5

    public init(listen: SocketAddress, peers: [Peer], heartbeatSeconds: Double = 1, deadAfterSeconds: Double = 5) {
        self.listen = listen
        self.peers = peers
        self.heartbeatSeconds = heartbeatSeconds
        self.deadAfterSeconds = deadAfterSeconds
    }

    /// Bounds of the timing settings. The dead time must be at least two heartbeats, so that
    /// one late heartbeat does not kill a healthy link.
    static let heartbeatRange: ClosedRange<Double> = 0.01...60
    static let deadAfterRange: ClosedRange<Double> = 0.05...3600
    /// More peers than this is a mistake in the file, not a cluster.
    static let maximumPeers = 64

    /// Decodes the section of a node in `region` (named `nodeId`, serving its API on `apiListen`).
    static func decode(_ value: JSONValue, nodeId: String, region: String, apiListen: [SocketAddress]) throws(NodeConfiguration.Problem) -> ReplicationSettings {
        typealias Problem = NodeConfiguration.Problem
        let object = try SettingsObject(value, prefix: "replication.", known: ["listen", "peers", "heartbeatSeconds", "deadAfterSeconds"],
                                        notAnObject: "'replication' must be an object with listen and peers")
        let listen = try address("listen", in: object, at: "replication.")
        if apiListen.contains(listen) {
            throw Problem("'replication.listen' \(listen) is also in 'listen'; the replication listener needs its own port")
        }
        guard let rawPeers = object["peers"] else { throw Problem("'replication.peers' is missing") }
        guard case .array(let peerList) = rawPeers, peerList.count <= maximumPeers else {
            throw Problem("'replication.peers' must be a list of at most \(maximumPeers) objects with nodeId, region and address")
        }
        var peers: [Peer] = []
        for (index, raw) in peerList.enumerated() {
            let prefix = "replication.peers[\(index)]."
            let peer = try SettingsObject(raw, prefix: prefix, known: ["nodeId", "region", "address"],
                                          notAnObject: "'replication.peers[\(index)]' must be an object with nodeId, region and address")
            let peerNodeId = try NodeConfiguration.nodeIdSetting("nodeId", in: peer, at: prefix)
            let peerRegion = try NodeConfiguration.regionSetting("region", in: peer, at: prefix)
            if peerRegion == region {
                throw Problem("'\(prefix)region' is \(region), the node's own region; peers are the other regions' nodes")
            }
            if peers.contains(where: { $0.region == peerRegion }) {
                throw Problem("'\(prefix)region' \(peerRegion) is named by an earlier peer; one peer per region")
            }
            if peerNodeId == nodeId || peers.contains(where: { $0.nodeId == peerNodeId }) {
                throw Problem("'\(prefix)nodeId' \(peerNodeId) is already used by \(peerNodeId == nodeId ? "this node" : "an earlier peer")")
            }
            peers.append(Peer(nodeId: peerNodeId, region: peerRegion, address: try address("address", in: peer, at: prefix)))
        }
        var settings = ReplicationSettings(listen: listen, peers: peers)
        settings.heartbeatSeconds = try seconds("heartbeatSeconds", in: object, range: heartbeatRange) ?? settings.heartbeatSeconds
        settings.deadAfterSeconds = try seconds("deadAfterSeconds", in: object, range: deadAfterRange) ?? settings.deadAfterSeconds
        guard settings.deadAfterSeconds >= 2 * settings.heartbeatSeconds else {
            throw Problem("'replication.deadAfterSeconds' (\(settings.deadAfterSeconds)) must be at least twice 'replication.heartbeatSeconds' (\(settings.heartbeatSeconds))")
        }
        return settings
    }

    private static func address(_ key: String, in object: SettingsObject, at prefix: String) throws(NodeConfiguration.Problem) -> SocketAddress {
        guard let raw = object[key] else { throw NodeConfiguration.Problem("'\(prefix)\(key)' is missing") }
        guard case .string(let text) = raw, let address = SocketAddress(text) else {
            throw NodeConfiguration.Problem("'\(prefix)\(key)' must be an IP address and port such as 127.0.0.1:7543 or [::1]:7543")
        }
        return address
    }

    private static func seconds(_ key: String, in object: SettingsObject, range: ClosedRange<Double>) throws(NodeConfiguration.Problem) -> Double? {
        guard let raw = object[key] else { return nil }
        guard let number = raw.doubleValue, range.contains(number) else {
            throw NodeConfiguration.Problem("'replication.\(key)' must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// The section as `decode` reads it.
    func encoded() -> JSONValue {
        [
            "listen": .string(listen.description),
            "peers": .array(peers.map { ["nodeId": .string($0.nodeId), "region": .string($0.region), "address": .string($0.address.description)] }),
            "heartbeatSeconds": .double(heartbeatSeconds), "deadAfterSeconds": .double(deadAfterSeconds),
        ]
    }
}
