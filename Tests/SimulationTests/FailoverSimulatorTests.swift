import Testing
@_spi(Simulation) import Failover
@_spi(Simulation) import Simulation

/// The failover simulation: a seed replays the same trace, sound code passes in every shape of
/// region, and each checker catches the broken variant made for it.
@Suite struct FailoverSimulatorTests {
    static func run(_ seed: UInt64, steps: Int = 3000, standbys: Int = 2, sync: Int = 1, faults: FailoverFaults = []) -> SimulationResult {
        var options = FailoverOptions(seed: seed, steps: steps, standbys: standbys, syncStandbys: sync)
        options.faults = faults
        return FailoverSimulator.run(options)
    }

    @Test func theSameSeedGivesTheSameTrace() {
        let first = Self.run(5)
        let again = Self.run(5)
        #expect(first.traceHash == again.traceHash)
        #expect(first.trace == again.trace)
        #expect(Self.run(6).traceHash != first.traceHash)
    }

    @Test(arguments: [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 1), (4, 2)])
    func soundCodePassesEveryChecker(standbys: Int, sync: Int) {
        var total = SimulationStatistics()
        for seed in UInt64(1)...20 {
            let result = Self.run(seed, standbys: standbys, sync: sync)
            #expect(result.failure == nil, "seed \(seed), \(standbys) standbys, sync \(sync): \(result.failure.map(\.description) ?? "")\n\(result.trace.suffix(30).joined(separator: "\n"))")
            total.add(result.statistics)
        }
        // The faults really happen: crashes, cuts, promotions refused, forced and made, tails set aside.
        #expect(total.acknowledgedWrites > 0 && total.crashes > 0 && total.partitions > 0)
        #expect(total.promotions > 0 && total.refusedPromotions > 0 && total.forcedPromotions > 0)
    }

    @Test func divergentTailsAreSetAside() {
        let total = (UInt64(1)...20).reduce(into: SimulationStatistics()) { $0.add(Self.run($1).statistics) }
        #expect(total.recordsSetAside > 0)
    }

    /// Each variant, the shape of region where it shows, the checkers that may catch it, and
    /// the seeds searched.
    static let variants: [(fault: FailoverFaults, standbys: Int, sync: Int, checker: Set<String>, seeds: UInt64)] = [
        (.ignoreHigherEpoch, 2, 0, ["fenced-acknowledged"], 20),
        (.promoteWithoutNewEpoch, 2, 0, ["one-primary-per-epoch"], 20),
        (.promoteWhileBehind, 2, 1, ["lost-write"], 40),
        (.standbyIgnoresFence, 2, 1, ["lost-write"], 150),
        // Since a promotion catches up from a fenced primary, a standby's ack of what it did not
        // yet hold is lost less often: seed 182 is the first (of 1…300) to show it.
        (.acknowledgeOnReceipt, 1, 1, ["lost-write"], 300),
        (.fencedStillAcknowledges, 2, 1, ["fenced-acknowledged"], 20),
    ]

    @Test(arguments: 0..<6) func eachCheckerCatchesItsBrokenVariant(index: Int) {
        let variant = Self.variants[index]
        var caught: (seed: UInt64, failure: SimulationFailure)?
        for seed in UInt64(1)...variant.seeds {
            if let failure = Self.run(seed, standbys: variant.standbys, sync: variant.sync, faults: variant.fault).failure {
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

/// Seeds that found bugs in the simulated protocol while it was written, kept green: 69 (one
/// standby) and 270 (four, asynchronous) caught a link sending again from LSN 1 forever and a
/// welcome answering an out-of-date hello; 3 a forced promotion's losses counted as a checker
/// failure; 33 an idle standby never asked to be sent again what it missed.
@Suite struct FailoverRegressionTests {
    @Test(arguments: [(UInt64(69), 1, 1), (270, 4, 0), (3, 2, 1), (33, 2, 1)])
    func aSeedThatFoundABugPasses(seed: UInt64, standbys: Int, sync: Int) {
        let result = FailoverSimulator.run(FailoverOptions(seed: seed, steps: 3000, standbys: standbys, syncStandbys: sync))
        #expect(result.failure == nil, "seed \(seed): \(result.failure.map(\.description) ?? "")")
    }
}
