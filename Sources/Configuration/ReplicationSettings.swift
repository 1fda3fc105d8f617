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
/// (a one-region cluster only serves its log); each peer is a node of another region, none in
/// the node's own region. A region of several nodes is named by each of them, its first primary
/// first: its log is followed from whichever of them serves it (its primary, after a promotion
/// another node).
///
/// A region of several nodes (a primary and standbys) lists every one of them, this node
/// included, in `regionNodes`, each with its replication address, its ordinal (0 to 15,
/// distinct; the node of ordinal 0 is the region's first primary, the others start as its
/// standbys and follow its whole log) and optionally its API address `api` (a standby forwards
/// the writes it receives to the primary's); `syncStandbys` (default 0) is how many standbys must hold
/// a record before the primary answers its write, and `syncTimeoutSeconds` (default 10) how long
/// a write waits for them before it is answered with a retryable error:
///
/// ```json
/// "regionNodes": [{"nodeId": "us-east-1-a", "address": "127.0.0.1:7543", "ordinal": 0},
///                 {"nodeId": "us-east-1-b", "address": "127.0.0.1:7553", "ordinal": 1}],
/// "syncStandbys": 1, "syncTimeoutSeconds": 10
/// ```
/// Every node of a region shares the region's keyring (values are wrapped under it in the log
/// the standbys copy) and its IAM file.
public struct ReplicationSettings: Sendable, Equatable {
    /// One node of this node's own region.
    public struct RegionNode: Sendable, Equatable {
        public var nodeId: String
        /// Its replication listener.
        public var address: SocketAddress
        /// Its place in the region: 0 is the first primary; promotions take epochs by ordinal.
        public var ordinal: Int
        /// Its API listener (HTTPS), where a standby forwards the writes it receives; optional.
        public var api: SocketAddress?

        public init(nodeId: String, address: SocketAddress, ordinal: Int, api: SocketAddress? = nil) {
            self.nodeId = nodeId
            self.address = address
            self.ordinal = ordinal
            self.api = api
        }
    }

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
    /// This region's nodes, this one included; empty: the region is this node alone.
    public var regionNodes: [RegionNode] = []
    /// `k`: the standbys that must hold a record before its write is answered.
    public var syncStandbys = 0
    /// How long a write waits for its `k` standbys before it is answered with a retryable error.
    public var syncTimeoutSeconds: Double = 10

    /// This node's ordinal in its region (0 when the region is this node alone).
    public func ordinal(of nodeId: String) -> Int? {
        regionNodes.isEmpty ? 0 : regionNodes.first { $0.nodeId == nodeId }?.ordinal
    }

    /// Whether this node starts as its region's first primary (ordinal 0) rather than a standby.
    public func isFirstPrimary(_ nodeId: String) -> Bool { ordinal(of: nodeId) == 0 }

    /// The region's first primary (the node a standby follows when it starts).
    public var firstPrimary: RegionNode? { regionNodes.first { $0.ordinal == 0 } }

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
    static let syncTimeoutRange: ClosedRange<Double> = 0.05...600
    /// More peers than this is a mistake in the file, not a cluster.
    static let maximumPeers = 64

    /// Decodes the section of a node in `region` (named `nodeId`, serving its API on `apiListen`).
    static func decode(_ value: JSONValue, nodeId: String, region: String, apiListen: [SocketAddress]) throws(NodeConfiguration.Problem) -> ReplicationSettings {
        typealias Problem = NodeConfiguration.Problem
        let object = try SettingsObject(value, prefix: "replication.",
                                        known: ["listen", "peers", "heartbeatSeconds", "deadAfterSeconds", "regionNodes", "syncStandbys",
                                                "syncTimeoutSeconds"],
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
            if peerNodeId == nodeId || peers.contains(where: { $0.nodeId == peerNodeId }) {
                throw Problem("'\(prefix)nodeId' \(peerNodeId) is already used by \(peerNodeId == nodeId ? "this node" : "an earlier peer")")
            }
            peers.append(Peer(nodeId: peerNodeId, region: peerRegion, address: try address("address", in: peer, at: prefix)))
        }
        var settings = ReplicationSettings(listen: listen, peers: peers)
        settings.regionNodes = try regionNodes(object["regionNodes"], nodeId: nodeId, listen: listen, peers: peers)
        if let raw = object["syncStandbys"] {
            let standbys = max(settings.regionNodes.count - 1, 0)
            guard let k = raw.exactIntegerValue, k >= 0, k <= standbys else {
                throw Problem("'replication.syncStandbys' must be a whole number from 0 to the region's standbys (\(standbys))")
            }
            settings.syncStandbys = k
        }
        settings.syncTimeoutSeconds = try seconds("syncTimeoutSeconds", in: object, range: syncTimeoutRange) ?? settings.syncTimeoutSeconds
        settings.heartbeatSeconds = try seconds("heartbeatSeconds", in: object, range: heartbeatRange) ?? settings.heartbeatSeconds
        settings.deadAfterSeconds = try seconds("deadAfterSeconds", in: object, range: deadAfterRange) ?? settings.deadAfterSeconds
        guard settings.deadAfterSeconds >= 2 * settings.heartbeatSeconds else {
            throw Problem("'replication.deadAfterSeconds' (\(settings.deadAfterSeconds)) must be at least twice 'replication.heartbeatSeconds' (\(settings.heartbeatSeconds))")
        }
        return settings
    }

    /// The most nodes one region may have (epochs are numbered by ordinal modulo this).
    static let maximumRegionNodes = 16

    private static func regionNodes(_ raw: JSONValue?, nodeId: String, listen: SocketAddress, peers: [Peer]) throws(NodeConfiguration.Problem) -> [RegionNode] {
        typealias Problem = NodeConfiguration.Problem
        guard let raw else { return [] }
        guard case .array(let list) = raw, (1...maximumRegionNodes).contains(list.count) else {
            throw Problem("'replication.regionNodes' must be a list of 1 to \(maximumRegionNodes) objects with nodeId, address and ordinal")
        }
        var nodes: [RegionNode] = []
        for (index, item) in list.enumerated() {
            let prefix = "replication.regionNodes[\(index)]."
            let object = try SettingsObject(item, prefix: prefix, known: ["nodeId", "address", "ordinal", "api"],
                                            notAnObject: "'replication.regionNodes[\(index)]' must be an object with nodeId, address and ordinal")
            let id = try NodeConfiguration.nodeIdSetting("nodeId", in: object, at: prefix)
            let address = try address("address", in: object, at: prefix)
            guard let ordinal = object["ordinal"]?.exactIntegerValue, (0..<maximumRegionNodes).contains(ordinal) else {
                throw Problem("'\(prefix)ordinal' must be a whole number from 0 to \(maximumRegionNodes - 1)")
            }
            if nodes.contains(where: { $0.nodeId == id }) || peers.contains(where: { $0.nodeId == id }) {
                throw Problem("'\(prefix)nodeId' \(id) is already used by an earlier node")
            }
            if nodes.contains(where: { $0.ordinal == ordinal }) {
                throw Problem("'\(prefix)ordinal' \(ordinal) is already used by an earlier node; each node of a region has its own")
            }
            let api = object["api"] == nil ? nil : try Self.address("api", in: object, at: prefix)
            nodes.append(RegionNode(nodeId: id, address: address, ordinal: ordinal, api: api))
        }
        guard let me = nodes.first(where: { $0.nodeId == nodeId }) else {
            throw Problem("'replication.regionNodes' does not name this node (\(nodeId)); it lists every node of the region, this one included")
        }
        guard me.address == listen else {
            throw Problem("'replication.regionNodes' gives this node the address \(me.address), but 'replication.listen' is \(listen)")
        }
        guard nodes.contains(where: { $0.ordinal == 0 }) else {
            throw Problem("'replication.regionNodes' has no node of ordinal 0, the region's first primary")
        }
        return nodes
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
        var members: [(String, JSONValue)] = [
            ("listen", .string(listen.description)),
            ("peers", .array(peers.map { ["nodeId": .string($0.nodeId), "region": .string($0.region), "address": .string($0.address.description)] })),
            ("heartbeatSeconds", .double(heartbeatSeconds)), ("deadAfterSeconds", .double(deadAfterSeconds)),
        ]
        if !regionNodes.isEmpty {
            members.append(("regionNodes", .array(regionNodes.map { node -> JSONValue in
                var members: [(key: String, value: JSONValue)] = [
                    (key: "nodeId", value: .string(node.nodeId)), (key: "address", value: .string(node.address.description)),
                    (key: "ordinal", value: .integer(node.ordinal)),
                ]
                if let api = node.api { members.append((key: "api", value: .string(api.description))) }
                return .object(members)
            })))
            members.append(("syncStandbys", .integer(syncStandbys)))
            members.append(("syncTimeoutSeconds", .double(syncTimeoutSeconds)))
        }
        return .object(members.map { (key: $0.0, value: $0.1) })
    }
}
