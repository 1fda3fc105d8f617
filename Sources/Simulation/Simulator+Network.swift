import LogShipping
import Replication

/// The simulated network: TCP connections between replica and source nodes, ordered and
/// reliable while open, with latency, cuts (frames held, as TCP retransmits them), slow links,
/// and frames lost, duplicated or reordered (the connection resets, as TLS would make it).
extension World {
    func latency(_ from: Int, _ to: Int) -> Int64 {
        var delay = between(1, 30)
        for cut in cuts where cut.from == from && cut.to == to { delay += cut.slowMillis ?? 0 }
        return delay
    }

    func isCut(_ from: Int, _ to: Int) -> Bool {
        cuts.contains { $0.from == from && $0.to == to && $0.slowMillis == nil }
    }

    func send(_ message: ReplicationMessage, on id: Int, toServer: Bool) {
        guard var connection = connections[id], connection.open, connection.established else { return }
        statistics.framesSent += 1
        let from = toServer ? connection.client : connection.server
        let to = toServer ? connection.server : connection.client
        let direction = toServer ? 0 : 1
        if isCut(from, to) {
            connection.held[direction].append(message)
            connections[id] = connection
            return
        }
        if frameFaults && faultPhase && draw(1000) < 5 {
            // Dropped, duplicated or reordered: the receiving TLS record layer detects it (its
            // MAC covers a sequence number) and the connection dies.
            statistics.connectionResets += 1
            note("connection \(id): a frame \(["dropped", "duplicated", "reordered"][Int(draw(3))]); the connection resets")
            reset(id)
            return
        }
        let at = max(now + latency(from, to), connection.lastDelivery[direction])
        connection.lastDelivery[direction] = at
        connections[id] = connection
        queue.schedule(.deliver(connection: id, toServer: toServer, message: message), at: at)
    }

    func deliver(_ id: Int, toServer: Bool, _ message: ReplicationMessage) {
        guard let connection = connections[id], connection.open else { return }
        if toServer {
            let server = nodes[connection.server]
            guard server.isUp, server.incarnation == connection.serverIncarnation else { return }
            stepSource(server, id, .received(message))
        } else {
            let client = nodes[connection.client]
            guard client.isUp, client.incarnation == connection.clientIncarnation,
                  client.replicaConnections[connection.server] == id else { return }
            note("\(client.region) ← \(nodes[connection.server].region) \(Self.describe(message))")
            let actions = client.replicaLinks[connection.server]!.step(.received(message), now: instant)
            perform(actions, replicaOf: connection.server, at: client)
        }
    }

    static func describe(_ message: ReplicationMessage) -> String {
        switch message {
        case .hello: "hello"
        case .welcome(let welcome): "welcome(\(welcome.mode == .stream ? "stream" : "snapshot"))"
        case .refused(let reason): "refused(\(reason))"
        case .records(let batch): "records(\(batch.records.first?.position.lsn ?? 0)...\(batch.records.last?.position.lsn ?? 0))"
        case .snapshot(let part): "snapshot(\(part.position) #\(part.index)\(part.isLast ? " last" : ""))"
        case .ack(let ack): "ack(\(ack.position))"
        case .heartbeat: "heartbeat"
        case .term(let query): "term(\(query.epoch))"
        case .termAnswer(let answer): "termAnswer(\(answer.highestSeen), \(answer.end))"
        }
    }

    /// One end closes: the other learns it after the network's delay, unless a cut holds the
    /// FIN (it then notices the silence).
    func close(_ id: Int, by node: Int) {
        guard var connection = connections[id], connection.open else { return }
        connection.open = false
        connections[id] = nil
        guard connection.established else { return }
        let other = connection.client == node ? connection.server : connection.client
        if !isCut(node, other) {
            queue.schedule(.peerClosed(connection: id, toServer: other == connection.server, reason: "closed by the peer"),
                           at: now + latency(node, other))
        }
        connection.held = [[], []]
    }

    /// Both ends learn that the connection died.
    func reset(_ id: Int) {
        guard var connection = connections[id], connection.open else { return }
        connection.open = false
        connections[id] = nil
        queue.schedule(.peerClosed(connection: id, toServer: true, reason: "connection reset"), at: now + 1)
        queue.schedule(.peerClosed(connection: id, toServer: false, reason: "connection reset"), at: now + 1)
    }

    func peerClosed(_ id: Int, toServer: Bool, reason: String) {
        // The connection is gone from the table already; find who held it.
        for node in nodes where node.isUp {
            if toServer, node.sourceLinks[id] != nil {
                stepSource(node, id, .closed(reason))
                node.sourceLinks[id] = nil
            }
            if !toServer, let source = node.replicaConnections.firstIndex(where: { $0 == id }) {
                node.replicaConnections[source] = nil
                let actions = node.replicaLinks[source]!.step(.closed(reason), now: instant)
                perform(actions, replicaOf: source, at: node)
            }
        }
    }

    /// A node's connections vanish with it. With `reset`, its peers' kernels learn it at once
    /// (a RST); otherwise they notice the silence.
    func dropConnections(of node: SimulatedNode, reset: Bool) {
        for id in connections.keys.sorted() {
            guard var connection = connections[id], connection.client == node.index || connection.server == node.index else { continue }
            if !connection.established && connection.server == node.index {
                // Its client learns it when the attempt ends (refused, or timed out).
                connection.open = false
                connections[id] = connection
                continue
            }
            connections[id] = nil
            guard reset, connection.established else { continue }
            let toServer = connection.client == node.index
            queue.schedule(.peerClosed(connection: id, toServer: toServer, reason: "connection reset"), at: now + 1)
        }
    }

    func heal(_ id: Int) {
        guard let index = cuts.firstIndex(where: { $0.id == id }) else { return }
        let cut = cuts.remove(at: index)
        note("heal \(regionNames[cut.from]) → \(regionNames[cut.to])")
        // Frames TCP kept retransmitting arrive now, in order.
        for connectionId in connections.keys.sorted() {
            guard var connection = connections[connectionId] else { continue }
            for direction in 0..<2 {
                let from = direction == 0 ? connection.client : connection.server
                let to = direction == 0 ? connection.server : connection.client
                guard from == cut.from, to == cut.to, !isCut(from, to), !connection.held[direction].isEmpty else { continue }
                let held = connection.held[direction]
                connection.held[direction] = []
                connections[connectionId] = connection
                for message in held { send(message, on: connectionId, toServer: direction == 0) }
                connection = connections[connectionId] ?? connection
            }
        }
    }
}
