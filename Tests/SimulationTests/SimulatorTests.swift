import Testing
@_spi(Simulation) import LogShipping
@_spi(Simulation) import Simulation

/// The simulator itself: a seed replays the same trace, sound code passes, and every checker
/// catches the broken variant made for it (a checker that never fails proves nothing).
@Suite struct SimulatorTests {
    static func run(_ seed: UInt64, steps: Int = 1500, regions: Int = 3, faults: ShippingFaults = []) -> SimulationResult {
        var options = SimulationOptions(seed: seed, steps: steps, regions: regions)
        options.faults = faults
        return Simulator.run(options)
    }

    @Test func theSameSeedGivesTheSameTrace() {
        let first = Self.run(11)
        let again = Self.run(11)
        #expect(first.traceHash == again.traceHash)
        #expect(first.trace == again.trace)
        #expect(Self.run(12).traceHash != first.traceHash)
    }

    @Test(arguments: [2, 3, 4]) func soundCodePassesEveryChecker(regions: Int) {
        for seed in UInt64(1)...6 {
            let result = Self.run(seed, regions: regions)
            #expect(result.failure == nil, "seed \(seed), \(regions) regions: \(result.failure.map(\.description) ?? "")\n\(result.trace.suffix(30).joined(separator: "\n"))")
            #expect(result.statistics.acknowledgedWrites > 0)
        }
    }

    /// The faults really happen: over a few seeds, crashes (some torn), partitions, resets and
    /// snapshot catch-ups all occur.
    @Test func theFaultsAreExercised() {
        var total = SimulationStatistics()
        for seed in UInt64(1)...8 { total.add(Self.run(seed).statistics) }
        #expect(total.crashes > 0 && total.tornWrites > 0 && total.cleanStops > 0)
        #expect(total.partitions > 0 && total.connectionResets > 0)
        #expect(total.snapshotsSent > 0 && total.journalSnapshots > 0)
    }

    /// Each broken variant, the checker that must catch it, and the seeds it may take.
    static let variants: [(fault: ShippingFaults, checker: Set<String>, seeds: UInt64)] = [
        (.acknowledgeBeforeDurable, ["acknowledged-writes"], 40),
        (.shipOutsideReplicaSet, ["residency"], 10),
        (.keepCopiesMissingFromSnapshot, ["convergence"], 40),
        (.reapplyRecords, ["monotonic", "labels"], 100),
        (.logPositionAtEveryGap, ["quiescence"], 10),
        (.keepLabelOnFormerVersion, ["labels"], 10),
        (.stopReconnecting, ["liveness"], 10),
    ]

    @Test(arguments: 0..<7) func eachCheckerCatchesItsBrokenVariant(index: Int) {
        let variant = Self.variants[index]
        var caught: (seed: UInt64, failure: SimulationFailure)?
        for seed in UInt64(1)...variant.seeds {
            if let failure = Self.run(seed, faults: variant.fault).failure {
                caught = (seed, failure)
                break
            }
        }
        guard let caught else {
            Issue.record("\(variant.fault) not caught in \(variant.seeds) seeds")
            return
        }
        #expect(variant.checker.contains(caught.failure.checker), "seed \(caught.seed): \(caught.failure)")
    }
}

/// The transport's guard against deciding a replica record after an append of its frame failed
/// (found by chaos disk-full, seed 3): the simulator decides each replica write of a frame a
/// moment after the one before, on a disk that is sometimes nearly full, so the failure can land
/// in between. The window is narrow: the broken variant shows at seed 93 of 1,500 (198 of 200
/// before the workload rotated secrets), with the checker that names the skipped record
/// (convergence); sound code passes that seed.
@Suite struct ReplicaWriteAfterFailureTests {
    @Test func theBrokenVariantIsCaughtAndSoundCodePasses() {
        var broken = SimulationOptions(seed: 93, steps: 3000, regions: 3)
        broken.faults = .decideAfterFailure
        let caught = Simulator.run(broken)
        #expect(caught.failure?.checker == "convergence", "\(caught.failure.map(\.description) ?? "not caught")")
        #expect(Simulator.run(SimulationOptions(seed: 93, steps: 3000, regions: 3)).failure == nil)
    }
}

/// Seeds that found real bugs, kept green. Each failed before its fix (with the fix reverted
/// they fail again: convergence, an orphan or stale copy in a replica region); the focused
/// unit tests are `ReplicationDecisionTests.aCopySentBeforeAPromotionWasHeardIsRemovedWithIt`
/// and `aCopyThatTookAfterItsRegionFailedIsRemoved`.
@Suite struct SimulatorRegressionTests {
    @Test(arguments: [UInt64(12), 13, 19]) func aSeedThatFoundABugPasses(seed: UInt64) {
        let result = Simulator.run(SimulationOptions(seed: seed, steps: 3000, regions: 3))
        #expect(result.failure == nil, "seed \(seed): \(result.failure.map(\.description) ?? "")")
    }
}
