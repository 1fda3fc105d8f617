import Testing
import Failover
import TestSupport

/// Epoch histories and fork points: table-driven cases, then randomized logs of a region that
/// promotes, crashes and follows, checked against a per-LSN comparison of the logs themselves.
@Suite struct EpochHistoryTests {
    static func history(_ starts: [(UInt64, UInt64)]) throws -> EpochHistory {
        try EpochHistory(validating: starts.map { EpochHistory.Start(epoch: $0.0, firstLSN: $0.1) })
    }

    @Test func epochAtEachLSN() throws {
        let history = try Self.history([(1, 1), (2, 11), (5, 20)])
        #expect(history.epoch(at: 0) == nil)
        #expect(history.epoch(at: 1) == 1)
        #expect(history.epoch(at: 10) == 1)
        #expect(history.epoch(at: 11) == 2)
        #expect(history.epoch(at: 19) == 2)
        #expect(history.epoch(at: 20) == 5)
        #expect(history.epoch(at: 1_000) == 5)
        #expect(history.current == 5)
        #expect(history.lastLSN(of: 2, end: 30) == 19)
        #expect(history.lastLSN(of: 5, end: 30) == 30)
        #expect(history.lastLSN(of: 3, end: 30) == nil)
    }

    @Test(arguments: [
        // (mine, my end, theirs, their end, common prefix, why)
        ([(1, 1)], 10, [(1, 1)], 15, 10, "same epoch: the shorter log is a prefix"),
        ([(1, 1)], 0, [(1, 1)], 15, 0, "an empty log has nothing in common"),
        ([(1, 1)], 12, [(1, 1), (2, 9)], 15, 8, "an old primary's tail after the new epoch began"),
        ([(1, 1), (2, 9)], 15, [(1, 1)], 12, 8, "the same fork seen from the new primary"),
        ([(1, 1)], 7, [(1, 1), (2, 9)], 15, 7, "a standby behind the fork: nothing to set aside"),
        ([(1, 1), (2, 5)], 9, [(1, 1), (3, 5)], 9, 4, "two promotions from the same point"),
        ([(1, 1), (2, 5), (4, 8)], 12, [(1, 1), (2, 5), (3, 10)], 12, 7, "epoch 2 shared up to 7: one log begins epoch 4 at 8, the other still holds epoch 2 there"),
        ([(2, 1)], 4, [(1, 1)], 4, 0, "different first epochs"),
    ] as [([(UInt64, UInt64)], UInt64, [(UInt64, UInt64)], UInt64, UInt64, String)])
    func commonPrefix(_ mine: [(UInt64, UInt64)], _ myEnd: UInt64, _ theirs: [(UInt64, UInt64)], _ theirEnd: UInt64,
                      _ expected: UInt64, _ why: String) throws {
        let a = try Self.history(mine), b = try Self.history(theirs)
        #expect(a.commonPrefix(end: myEnd, with: b, end: theirEnd) == expected, Comment(rawValue: why))
        #expect(b.commonPrefix(end: theirEnd, with: a, end: myEnd) == expected, "symmetric")
    }

    @Test func invalidHistoriesAreRefused() {
        #expect(throws: FailoverError.self) { try Self.history([]) }
        #expect(throws: FailoverError.self) { try Self.history([(0, 1)]) }
        #expect(throws: FailoverError.self) { try Self.history([(1, 0)]) }
        #expect(throws: FailoverError.self) { try Self.history([(1, 1), (1, 5)]) }
        #expect(throws: FailoverError.self) { try Self.history([(1, 1), (3, 5), (2, 9)]) }
        #expect(throws: FailoverError.self) { try Self.history([(1, 1), (2, 1)]) }
        var history = EpochHistory()
        let result1 = history.begin(epoch: 1, at: 5)
        #expect(!result1)
        let result2 = history.begin(epoch: 2, at: 5)
        #expect(result2)
        let result3 = history.begin(epoch: 3, at: 4)
        #expect(!result3, "an epoch cannot begin before the current one's first record")
        #expect(history.description == "1@1 2@5")
        var empty = EpochHistory()
        let result4 = empty.begin(epoch: 2, at: 1)
        #expect(result4, "an empty log promoted: its first record is epoch 2's")
        #expect(empty.description == "2@1")
    }

    @Test func codingRoundTripsAndRefusesDamage() throws {
        let history = try Self.history([(1, 1), (2, 11), (7, 900)])
        let bytes = history.encode()
        #expect(EpochHistory.decode(bytes) == .success(history))
        for cut in 0..<bytes.count {
            guard case .failure = EpochHistory.decode(bytes.prefix(cut)) else {
                Issue.record("a history cut to \(cut) bytes decoded")
                continue
            }
        }
        var random = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            var damaged = bytes
            damaged[Int(random.next() % UInt64(damaged.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            // Damage decodes only into another valid history, never a crash or an invalid one.
            if case .success(let decoded) = EpochHistory.decode(damaged) {
                #expect((try? EpochHistory(validating: decoded.starts)) == decoded)
            }
        }
    }

    @Test func truncationKeepsTheEpochsThatStillHoldRecords() throws {
        let history = try Self.history([(1, 1), (2, 11), (5, 20)])
        #expect(history.truncated(after: 25) == history)
        #expect(history.truncated(after: 19).description == "1@1 2@11")
        #expect(history.truncated(after: 10).description == "1@1")
        #expect(history.truncated(after: 0).description == "1@1")
    }

    /// A region of three nodes over many random promotions: each log is a list of record
    /// epochs, built only as the protocol allows (a primary appends at its epoch; a follower
    /// keeps up to the common prefix its history computes and copies the rest). The fork point
    /// from the histories must equal the per-LSN comparison of the logs, and a follower's log
    /// must equal its primary's after following.
    @Test func forkPointsMatchTheLogsThemselves() {
        for seed in UInt64(1)...300 {
            var random = SplitMix64(seed: seed)
            var logs: [[UInt64]] = [[], [], []]
            var histories = [EpochHistory(), EpochHistory(), EpochHistory()]
            var primary = 0
            var epoch: UInt64 = 1
            for _ in 0..<60 {
                switch random.next() % 4 {
                case 0, 1:
                    // The primary appends a few records.
                    for _ in 0..<(1 + random.next() % 3) { logs[primary].append(epoch) }
                case 2:
                    // A follower copies part of the primary's log.
                    let follower = Int(random.next() % 3)
                    guard follower != primary else { continue }
                    let end = UInt64(logs[follower].count), primaryEnd = UInt64(logs[primary].count)
                    let common = histories[follower].commonPrefix(end: end, with: histories[primary], end: primaryEnd)
                    #expect(common == Self.bruteForce(logs[follower], logs[primary]), "seed \(seed)")
                    logs[follower] = Array(logs[follower].prefix(Int(common)))
                    histories[follower] = histories[follower].truncated(after: common)
                    let copy = Int(common) + Int(random.next() % UInt64(Int(primaryEnd) - Int(common) + 1))
                    for lsn in Int(common)..<copy {
                        let recordEpoch = logs[primary][lsn]
                        if recordEpoch > histories[follower].current {
                            histories[follower].begin(epoch: recordEpoch, at: UInt64(lsn + 1))
                        }
                        logs[follower].append(recordEpoch)
                    }
                    #expect(logs[follower] == Array(logs[primary].prefix(copy)), "seed \(seed)")
                default:
                    // Another node is promoted at a new epoch; its promotion record is its first.
                    let candidate = Int(random.next() % 3)
                    guard candidate != primary else { continue }
                    epoch += 1
                    logs[candidate].append(epoch)
                    histories[candidate].begin(epoch: epoch, at: UInt64(logs[candidate].count))
                    primary = candidate
                }
                for node in 0..<3 {
                    for lsn in logs[node].indices {
                        #expect(histories[node].epoch(at: UInt64(lsn + 1)) == logs[node][lsn], "seed \(seed) node \(node)")
                    }
                }
            }
        }
    }

    static func bruteForce(_ a: [UInt64], _ b: [UInt64]) -> UInt64 {
        var common = 0
        while common < min(a.count, b.count) && a[common] == b[common] { common += 1 }
        return UInt64(common)
    }
}
