import Journal
import SecretStore

/// What must always hold, checked at every step that could break it and at the end. Each
/// check names itself in the failure (`SimulationFailure.checker`).
struct Checker {
    let regions: Int
    /// Per node: the highest LSN a client was told is durable.
    var acknowledgedLSN: [UInt64]
    /// Per node: a fingerprint of every committed record's facts, by LSN (forgotten past a
    /// crash's recovered end, where LSNs are used again).
    var committedRecords: [[UInt64: Int]]
    /// Per node, per source region: the durable position, which never goes back.
    var positions: [[String: UInt64]]
    /// Per node, per replica ARN: its LastChangedDate, which never goes back.
    var replicaChanges: [[String: Int64]]
    /// Per node, per primary ARN: the version AWSCURRENT was on.
    var currentVersion: [[String: String]]
    /// Per source node: (primary ARN, region) pairs that were ever in a replica set.
    var everReplicated: [Set<String>]

    init(regions: Int) {
        self.regions = regions
        acknowledgedLSN = Array(repeating: 0, count: regions)
        committedRecords = Array(repeating: [:], count: regions)
        positions = Array(repeating: [:], count: regions)
        replicaChanges = Array(repeating: [:], count: regions)
        currentVersion = Array(repeating: [:], count: regions)
        everReplicated = Array(repeating: [], count: regions)
    }

    /// A client was told its write is durable.
    mutating func acknowledged(_ operation: Int, at node: SimulatedNode, world: World, lsn: UInt64? = nil) {
        world.statistics.acknowledgedWrites += 1
        acknowledgedLSN[node.index] = max(acknowledgedLSN[node.index], lsn ?? node.committedLSN)
    }

    static func fingerprint(_ facts: [Fact]) -> Int {
        var hasher = TraceHash()
        hasher.add(bytes: Fact.encode(list: facts))
        return Int(truncatingIfNeeded: hasher.value)
    }

    /// A node came back: its log must hold every acknowledged write, each as it was committed.
    mutating func recovered(_ node: SimulatedNode, recovered: Recovered, world: World) {
        let index = node.index
        if node.committedLSN < acknowledgedLSN[index] {
            world.fail("acknowledged-writes", "\(node.region) recovered to LSN \(node.committedLSN); writes up to LSN \(acknowledgedLSN[index]) were acknowledged")
            return
        }
        for record in recovered.records {
            guard let expected = committedRecords[index][record.lsn] else { continue }
            let facts = (try? Fact.decodeRouted(record.payload).get().map(\.fact)) ?? []
            if Self.fingerprint(facts) != expected {
                world.fail("acknowledged-writes", "\(node.region) recovered another record at LSN \(record.lsn) than the one it committed")
                return
            }
        }
        committedRecords[index] = committedRecords[index].filter { $0.key <= node.committedLSN }
        // Recovery may replay several records never answered (a batch whose sync failed, kept
        // whole): AWSCURRENT may have moved more than once, so its history starts afresh.
        currentVersion[index] = [:]
        checkState(node, world: world, touched: nil)
    }

    /// A record became durable at `node`.
    mutating func committed(_ node: SimulatedNode, lsn: UInt64, facts: [Fact], world: World) {
        committedRecords[node.index][lsn] = Self.fingerprint(facts)
        var touched: Set<String> = []
        for fact in facts { if let arn = Self.subject(of: fact) { touched.insert(arn) } }
        checkState(node, world: world, touched: touched)
    }

    /// The invariants of one node's committed state: labels, replica sets, positions and
    /// replicas' changes only moving forward, and residency.
    mutating func checkState(_ node: SimulatedNode, world: World, touched: Set<String>?) {
        let index = node.index
        let state = node.committed
        for (source, progress) in state.sources {
            let before = positions[index][source] ?? 0
            if progress.lsn < before {
                world.fail("monotonic", "\(node.region)'s position in \(source)'s log went back from \(before) to \(progress.lsn)")
            }
            positions[index][source] = progress.lsn
        }
        let arns = touched.map { Array($0) } ?? Array(state.secrets.keys)
        for arn in arns.sorted() {
            guard let secret = state.secrets[arn] else {
                for source in world.regionNames { replicaChanges[index][arn + " from " + source] = nil }
                currentVersion[index][arn] = nil
                continue
            }
            var seen: Set<String> = []
            for version in secret.versions {
                for label in version.stages where !seen.insert(label).inserted {
                    world.fail("labels", "\(node.region) \(arn): \(label) on two versions")
                }
            }
            if !secret.versions.isEmpty && secret.version(withStage: "AWSCURRENT") == nil {
                world.fail("labels", "\(node.region) \(arn): versions but no AWSCURRENT")
            }
            if let source = secret.primaryRegion {
                // Per source: a forced copy from another region's primary of the same name
                // replaces the copy with another secret's history.
                let key = arn + " from " + source
                let before = replicaChanges[index][key] ?? .min
                if secret.lastChangedDate < before {
                    world.fail("monotonic", "\(node.region) replica \(arn) of \(source) went back: LastChangedDate \(before) → \(secret.lastChangedDate)")
                }
                for other in world.regionNames where other != source { replicaChanges[index][arn + " from " + other] = nil }
                replicaChanges[index][key] = secret.lastChangedDate
                // Promoted one day, it starts its label history afresh.
                currentVersion[index][arn] = nil
                guard let sourceIndex = world.regionNames.firstIndex(of: source) else { continue }
                let primary = Names.arn(arn, inRegion: source)
                if !everReplicated[sourceIndex].contains(primary + " " + node.region) {
                    world.fail("residency", "\(node.region) holds \(arn), which \(source) never replicated to it")
                }
            } else {
                for replica in secret.replicas { everReplicated[index].insert(arn + " " + replica.region) }
                if let current = secret.version(withStage: "AWSCURRENT")?.versionId {
                    if let former = currentVersion[index][arn], former != current, secret.version(id: former) != nil,
                       secret.version(withStage: "AWSPREVIOUS")?.versionId != former {
                        world.fail("labels", "\(node.region) \(arn): AWSCURRENT moved from \(former) to \(current) but AWSPREVIOUS is not on \(former)")
                    }
                    currentVersion[index][arn] = current
                }
            }
        }
    }

    /// Facts a source sends to `region`: each must be about a secret replicated there.
    func shipped(facts: [Fact], from source: Int, to region: String, world: World) {
        for fact in facts {
            guard let arn = Self.subject(of: fact) else { continue }
            let primary = Names.arn(arn, inRegion: world.regionNames[source])
            if !everReplicated[source].contains(primary + " " + region) {
                world.fail("residency", "\(world.regionNames[source]) shipped \(fact.kindName) of \(primary) to \(region), outside its replica set")
                return
            }
        }
    }

    /// The secret a fact is about, if any (`Fact.arn` is empty for the others).
    static func subject(of fact: Fact) -> String? {
        fact.arn.isEmpty ? nil : fact.arn
    }

    /// Nil when every region holds exactly the copies its sources replicate to it, equal to
    /// their primaries; else the first difference.
    func replicasDiffer(_ world: World) -> String? {
        for source in world.nodes {
            for replica in world.nodes where replica.index != source.index {
                var expected: [String: Secret] = [:]
                for secret in source.committed.secrets.values where !secret.isReplica
                    && secret.replicas.contains(where: { $0.region == replica.region && $0.state != .failed }) {
                    expected[Names.arn(secret.arn, inRegion: replica.region)] = secret.comparableAcrossRegions
                }
                var held: [String: Secret] = [:]
                for secret in replica.committed.secrets.values where secret.primaryRegion == source.region {
                    held[secret.arn] = secret.comparableAcrossRegions
                }
                if held != expected {
                    let missing = expected.keys.filter { held[$0] == nil }.sorted()
                    let extra = held.keys.filter { expected[$0] == nil }.sorted()
                    let different = expected.keys.filter { held[$0] != nil && held[$0] != expected[$0] }.sorted()
                    let detail = (missing + extra + different).prefix(3).map { arn -> String in
                        let primary = Names.arn(arn, inRegion: source.region)
                        let statuses = source.committed.secrets[primary].map { "\($0.replicas.map { "\($0.region):\($0.state)" })" } ?? "no primary"
                        let notice = replica.committed.sources[source.region]?.notices[primary].map { "\($0.kind)" } ?? "none"
                        return "\(arn): primary's replicas \(statuses), pending notice \(notice)"
                    }
                    return "\(replica.region)'s copies of \(source.region) differ: missing \(missing), extra \(extra), different \(different); \(detail.joined(separator: "; "))"
                }
            }
        }
        return nil
    }
}
