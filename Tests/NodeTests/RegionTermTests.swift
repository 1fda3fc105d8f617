import Configuration
import Failover
import Foundation
@testable import Node
import NodeStorage
import Platform
import Journal
import Logging
import Testing

/// The node's durable place in its region (`region-term.json`) and the role it gives at start.
@Suite struct RegionTermTests {
    func scratch() -> String {
        let dir = NSTemporaryDirectory() + "strongroom-term-\(UUID().uuidString)"
        try? Files.makeDirectory(dir)
        return dir
    }

    static func history(_ starts: [(UInt64, UInt64)]) throws -> EpochHistory {
        try EpochHistory(validating: starts.map { EpochHistory.Start(epoch: $0.0, firstLSN: $0.1) })
    }

    @Test func theFileRoundTripsAndIsAbsentUntilWritten() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try RegionTermFile.load(dataDirectory: dir) == nil)
        let file = RegionTermFile(highestSeen: 18, history: try Self.history([(1, 1), (2, 8), (18, 30)]), quarantineAfter: 29)
        try file.save(dataDirectory: dir)
        #expect(try RegionTermFile.load(dataDirectory: dir) == file)
        #expect(try Files.permissions(of: RegionTermFile.path(dataDirectory: dir)) == 0o600)
        // The keeper saves every change before it returns, and only changes.
        let keeper = RegionTermKeeper(dataDirectory: dir, file: file)
        #expect(try keeper.raise(to: 18) == nil && keeper.raise(to: 34) == 18)
        try keeper.begin(epoch: 34, at: 40)
        let reloaded = try #require(try RegionTermFile.load(dataDirectory: dir))
        #expect(reloaded.highestSeen == 34 && reloaded.history.description == "1@1 2@8 18@30 34@40")
    }

    @Test(arguments: [
        "not json",
        #"{"history": [{"epoch": 1, "firstLSN": 1}]}"#,
        #"{"highestSeenEpoch": 0, "history": [{"epoch": 1, "firstLSN": 1}]}"#,
        #"{"highestSeenEpoch": 2, "history": []}"#,
        #"{"highestSeenEpoch": 2, "history": [{"epoch": 2, "firstLSN": 5}, {"epoch": 1, "firstLSN": 9}]}"#,
        #"{"highestSeenEpoch": 2, "history": [{"epoch": 1}]}"#,
        #"{"highestSeenEpoch": 2, "history": [{"epoch": 1, "firstLSN": 1}], "quarantineAfter": -1}"#,
    ])
    func aDamagedFileIsRefusedWithItsPath(text: String) throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Files.writeAtomically(Array(text.utf8), to: RegionTermFile.path(dataDirectory: dir))
        #expect {
            _ = try RegionTermFile.load(dataDirectory: dir)
        } throws: { error in
            "\(error)".contains("region-term.json")
        }
    }

    /// The log is the authority on its own records: epochs beginning past its end are dropped
    /// (their first record never became durable); epochs its records begin are added.
    @Test func reconciliationFollowsTheLog() throws {
        let file = RegionTermFile(highestSeen: 18, history: try Self.history([(1, 1), (2, 8), (18, 30)]))
        let cut = file.reconciled(logEnd: 29, records: [(2, 28), (2, 29)])
        #expect(cut.history.description == "1@1 2@8" && cut.highestSeen == 18)
        let grown = RegionTermFile().reconciled(logEnd: 12, records: [(1, 10), (3, 11), (3, 12)])
        #expect(grown.history.description == "1@1 3@11" && grown.highestSeen == 3)
        #expect(RegionTermFile().reconciled(logEnd: 0, records: []) == RegionTermFile())
    }

    static func configuration(_ nodeId: String, standbys: Int) -> NodeConfiguration {
        let nodes = (0...standbys).map { ordinal in
            ReplicationSettings.RegionNode(nodeId: "us-east-1-\(["a", "b", "c", "d"][ordinal])",
                                           address: SocketAddress(host: "127.0.0.1", port: UInt16(7000 + ordinal))!, ordinal: ordinal,
                                           api: SocketAddress(host: "127.0.0.1", port: UInt16(8000 + ordinal))!)
        }
        var replication = ReplicationSettings(listen: nodes.first { $0.nodeId == nodeId }!.address, peers: [])
        replication.regionNodes = nodes
        return NodeConfiguration(nodeId: nodeId, region: "us-east-1", listen: [SocketAddress(host: "127.0.0.1", port: 9000)!],
                                 dataDirectory: "/nowhere", certificateFile: "c", privateKeyFile: "k", caFile: "ca", iamFile: "i",
                                 keyringFile: "r", replication: replication)
    }

    /// The owner of the highest epoch heard of is primary once its log is at it; the others
    /// follow it; its own unfinished promotion leaves it a standby of no one.
    @Test func theRoleComesFromTheDurableTerm() throws {
        let first = RegionTermFile()
        #expect(Node.role(Self.configuration("us-east-1-a", standbys: 2), term: first).standbyOf == nil)
        #expect(Node.role(Self.configuration("us-east-1-c", standbys: 2), term: first).following?.nodeId == "us-east-1-a")
        // Epoch 2 belongs to ordinal 1 (b); b promoted: b primary, a and c follow b.
        let promoted = RegionTermFile(highestSeen: 2, history: try Self.history([(1, 1), (2, 9)]))
        #expect(Node.role(Self.configuration("us-east-1-b", standbys: 2), term: promoted).standbyOf == nil)
        let fencedA = RegionTermFile(highestSeen: 2, history: try Self.history([(1, 1)]))
        #expect(Node.role(Self.configuration("us-east-1-a", standbys: 2), term: fencedA).following?.nodeId == "us-east-1-b")
        // b fenced the region with epoch 2 but its promotion did not finish: a standby of no one.
        let unfinished = Node.role(Self.configuration("us-east-1-b", standbys: 2), term: fencedA)
        #expect(unfinished.following == nil && unfinished.standbyOf?.contains("epoch 2 has no primary") == true)
        // An epoch whose owner is not configured: no one to follow.
        #expect(Node.role(Self.configuration("us-east-1-a", standbys: 1), term: RegionTermFile(highestSeen: 3, history: EpochHistory())).following == nil)
        // Without standbys configured, the node is its region's primary.
        var alone = Self.configuration("us-east-1-a", standbys: 0)
        alone.replication?.regionNodes = []
        #expect(Node.role(alone, term: fencedA).standbyOf == nil)
    }
}

/// Setting an old primary's divergent tail aside: the records after the fork point go, as the
/// journal's own frames, to a quarantine file made durable before the log is cut.
@Suite struct QuarantineTests {
    @Test func theTailIsCopiedThenCutAndTheLogGoesOnFromTheForkPoint() throws {
        let dir = NSTemporaryDirectory() + "strongroom-quarantine-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var (journal, _) = try Journal.open(directory: dir + "/journal") { _ in }
        let appended = ConditionLock<[UInt64]>([])
        for (index, epoch) in [1, 1, 1, 1, 1, 1].enumerated() {
            _ = journal.tryAppend(type: 7, epoch: UInt64(epoch), payload: [UInt8(index)]) { result in
                appended.withLock { if case .success(let lsn) = result { $0.append(lsn) } }
                appended.broadcast()
            }
        }
        _ = appended.withLock(waitingUntil: { $0.count == 6 }, timeout: 10) { _, ready in ready }
        try Node.setAside(journal: journal, after: 4, directory: dir + "/quarantine", log: Logger(label: "test"))
        #expect(journal.lastDurableLSN == 4)
        journal.close()
        // The quarantine file holds records 5 and 6 as they were.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/quarantine")
        #expect(names.count == 1 && names[0].hasPrefix("after-4-to-6-epoch-1-") && names[0].hasSuffix(".records"))
        let bytes = Array(FileManager.default.contents(atPath: dir + "/quarantine/" + names[0]) ?? Data())
        var offset = 0
        var lsns: [UInt64] = []
        while offset < bytes.count, case .record(let record, let size) = RecordFrame.decode(bytes, at: offset) {
            lsns.append(record.lsn)
            #expect(record.payload == [UInt8(record.lsn - 1)] && record.epoch == 1)
            offset += size
        }
        #expect(lsns == [5, 6] && offset == bytes.count)
        // Reopened, the log ends at the fork point and takes the primary's next record there.
        let recovered: Recovered
        (journal, recovered) = try Journal.open(directory: dir + "/journal") { _ in }
        defer { journal.close() }
        #expect(recovered.records.map(\.lsn) == [1, 2, 3, 4])
        // Nothing after the end: nothing to set aside.
        try Node.setAside(journal: journal, after: 4, directory: dir + "/quarantine", log: Logger(label: "test"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/quarantine").count == 1)
    }
}
