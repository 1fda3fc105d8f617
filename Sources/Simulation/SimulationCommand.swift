public import ArgumentParsing
@_spi(Simulation) import Failover
@_spi(Simulation) import LogShipping
import Platform

/// `strongroom-sim`: runs seeds of the simulator and reports each failure with its seed, the
/// checker and the end of its trace.
public enum SimulationCommand {
    public static let passed: Int32 = 0
    public static let failed: Int32 = 1
    public static let usageError: Int32 = 2

    public static let syntax = CommandSyntax(
        program: "strongroom-sim", path: [],
        options: [
            .value("--seed", "S"), .value("--seeds", "A..B"), .value("--seconds", "T"),
            .value("--steps", "N"), .value("--regions", "K"), .repeatable("--fault", "NAME"), .flag("--trace"), .flag("--no-shrink"),
            .flag("--failover"), .value("--standbys", "N"), .value("--sync", "K"),
        ],
        exclusive: [["--seed", "--seeds"], ["--failover", "--regions"]],
        description: """
            Runs the deterministic simulator: 2-4 regions of real pure code (SecretStore, the replication
            links, the journal over a memory disk) under crashes, torn writes, failed syncs, partitions,
            one-way cuts, slow links and resets, with a workload of API operations; then heals every fault
            and checks that the replicas converge, that nothing acknowledged was lost, and that an idle
            cluster goes quiet. Prints the trace hash of each seed (the same seed gives the same hash).

              --seed S        one seed (default 1)
              --seeds A..B    every seed from A to B
              --seconds T     with --seeds A.., run seeds from A on for T seconds (a soak)
              --steps N       events in the fault phase (default 3000)
              --regions K     2 to 4 (default 3)
              --fault NAME    a deliberately broken variant, to see a checker catch it:
                              \(ShippingFaults.named.map(\.name).joined(separator: ", "))
              --trace         print the whole trace of every seed
              --no-shrink     report a failure as it is (without looking for fewer steps that fail)

            With --failover, one region of a primary and standbys instead: the failover decisions (epochs,
            fencing, fork points, synchronous standbys, promotion) under crashes, partitions and operator
            promotions, some forced; checks that no two nodes acknowledge writes in one epoch, that no node
            acknowledges a write after it heard of a higher epoch, that with --sync 1 or more no acknowledged
            write is lost (but to a forced promotion), and that every log converges on one primary's.

              --standbys N    1 to 4 (default 2)
              --sync K        syncStandbys, 0 to N (default 1)
              --fault NAME    with --failover: \(FailoverFaults.named.map(\.name).joined(separator: ", "))
            """)

    public static func run(_ arguments: [String], standardOutput: (String) -> Void = { print($0) },
                           standardError: (String) -> Void = { print($0) }) -> Int32 {
        let parsed: ParsedArguments
        do {
            parsed = try syntax.parse(arguments)
        } catch {
            standardError("strongroom-sim: \(error.message)\n\n\(syntax.usage())")
            return usageError
        }
        if parsed.help {
            standardOutput(syntax.usage())
            return passed
        }
        func integer(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(UsageError) -> Int {
            guard let text = parsed.value(name) else { return fallback }
            guard let value = Int(text), range.contains(value) else { throw UsageError("\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound)") }
            return value
        }
        var first: UInt64 = 1
        var last: UInt64 = 1
        var seconds: Double?
        var steps = 3000
        var regions = 3
        var faults: ShippingFaults = []
        var failoverFaults: FailoverFaults = []
        let failover = parsed.has("--failover")
        var standbys = 2
        var syncStandbys = 1
        do {
            steps = try integer("--steps", 3000, 1...10_000_000)
            regions = try integer("--regions", 3, 2...4)
            if !failover, parsed.value("--standbys") != nil || parsed.value("--sync") != nil {
                throw UsageError("--standbys and --sync go with --failover")
            }
            standbys = try integer("--standbys", 2, 1...4)
            syncStandbys = try integer("--sync", 1, 0...standbys)
            if let seed = parsed.value("--seed") {
                guard let value = UInt64(seed) else { throw UsageError("--seed must be a whole number") }
                first = value
                last = value
            }
            if let range = parsed.value("--seeds") {
                let parts = range.split(separator: ".", omittingEmptySubsequences: true)
                guard range.contains(".."), let low = parts.first.flatMap({ UInt64($0) }),
                      parts.count <= 2, let high = parts.count == 2 ? UInt64(parts[1]) : UInt64.max, low <= high else {
                    throw UsageError("--seeds takes A..B (or A.. with --seconds)")
                }
                first = low
                last = high
                if parts.count == 1 && parsed.value("--seconds") == nil { throw UsageError("--seeds A.. needs --seconds") }
            }
            if let text = parsed.value("--seconds") {
                guard let value = Double(text), value > 0 else { throw UsageError("--seconds must be a positive number") }
                seconds = value
            }
            for name in parsed.all("--fault") where failover {
                guard let fault = FailoverFaults.named.first(where: { $0.name == name })?.fault else {
                    throw UsageError("unknown fault '\(name)'; known with --failover: \(FailoverFaults.named.map(\.name).joined(separator: ", "))")
                }
                failoverFaults.insert(fault)
            }
            for name in parsed.all("--fault") where !failover {
                guard let fault = ShippingFaults.named.first(where: { $0.name == name })?.fault else {
                    throw UsageError("unknown fault '\(name)'; known: \(ShippingFaults.named.map(\.name).joined(separator: ", "))")
                }
                faults.insert(fault)
            }
        } catch let error as UsageError {
            standardError("strongroom-sim: \(error.message)\n\n\(syntax.usage())")
            return usageError
        } catch {
            return usageError
        }
        let started = MonotonicClock.seconds()
        var total = SimulationStatistics()
        var runs = 0
        var failures = 0
        var seed = first
        let traceLines = parsed.has("--trace") ? 10_000_000 : 60
        // One seed with a number of fault-phase steps: the regions' simulator or the failover one.
        let runOne: (UInt64, Int) -> SimulationResult = { seed, steps in
            if failover {
                var options = FailoverOptions(seed: seed, steps: steps, standbys: standbys, syncStandbys: syncStandbys)
                options.faults = failoverFaults
                options.traceLines = traceLines
                return FailoverSimulator.run(options)
            }
            var options = SimulationOptions(seed: seed, steps: steps, regions: regions)
            options.faults = faults
            options.traceLines = traceLines
            return Simulator.run(options)
        }
        let replayArguments = failover
            ? " --failover --standbys \(standbys) --sync \(syncStandbys)" + failoverFaults.argumentText
            : " --regions \(regions)" + faults.argumentText
        while true {
            let result = runOne(seed, steps)
            runs += 1
            total.add(result.statistics)
            let hash = String(result.traceHash, radix: 16)
            if let failure = result.failure {
                failures += 1
                let shrunk = parsed.has("--no-shrink") ? nil : shrink(steps: steps, failure: failure) { runOne(seed, $0) }
                let shortest = shrunk.map { " (also fails with --steps \($0.steps), shown)" } ?? ""
                let shown = shrunk?.result ?? result
                standardOutput("seed \(seed): FAILED \(failure)\n  trace hash \(hash); replay: strongroom-sim --seed \(seed) --steps \(steps)"
                    + replayArguments + shortest + "\n  the end of its trace:\n"
                    + shown.trace.suffix(traceLines).map { "    \($0)" }.joined(separator: "\n"))
            } else if failover && (first == last || parsed.has("--trace")) {
                let s = result.statistics
                standardOutput("seed \(seed): ok, trace hash \(hash); \(s.events) events, \(s.simulatedMillis / 1000) s simulated, \(s.acknowledgedWrites) writes acknowledged, \(s.crashes) crashes, \(s.partitions) partitions, \(s.promotions) promotions (\(s.forcedPromotions) forced, \(s.refusedPromotions) refused), \(s.recordsSetAside) records set aside")
                if parsed.has("--trace") { standardOutput(result.trace.map { "    \($0)" }.joined(separator: "\n")) }
            } else if first == last || parsed.has("--trace") {
                let s = result.statistics
                standardOutput("seed \(seed): ok, trace hash \(hash); \(s.events) events, \(s.simulatedMillis / 1000) s simulated, \(s.acknowledgedWrites) writes acknowledged, \(s.records) records, \(s.crashes) crashes (\(s.tornWrites) torn, \(s.failedSyncs) failed syncs), \(s.cleanStops) stops, \(s.partitions) partitions, \(s.connectionResets) resets, \(s.snapshotsSent) snapshot catch-ups")
                if parsed.has("--trace") { standardOutput(result.trace.map { "    \($0)" }.joined(separator: "\n")) }
            }
            if seed == last { break }
            if let seconds, MonotonicClock.seconds() - started >= seconds { break }
            seed += 1
        }
        let elapsed = max(MonotonicClock.seconds() - started, 1e-9)
        let exercised = failover
            ? "\(total.crashes) crashes, \(total.partitions) partitions, \(total.promotions) promotions (\(total.forcedPromotions) forced, \(total.refusedPromotions) refused), \(total.recordsSetAside) records set aside, \(total.acknowledgedWrites) writes acknowledged"
            : "\(total.crashes) crashes, \(total.partitions) partitions, \(total.snapshotsSent) snapshot catch-ups, \(total.acknowledgedWrites) writes acknowledged"
        standardOutput("strongroom-sim: \(runs) seeds (\(first)...\(seed)), \(failures) failed; \(total.events) events in \(Self.tenths(elapsed)) s: "
            + "\(Int(Double(runs) / elapsed)) seeds/s, \(Int(Double(total.events) / elapsed)) steps/s; " + exercised)
        return failures == 0 ? passed : failed
    }

    /// The fewest fault-phase steps (by bisection, at most a dozen runs) with which the seed
    /// still fails the same checker: a shorter trace to read. Nil when no shorter run fails.
    static func shrink(steps: Int, failure: SimulationFailure, run: (Int) -> SimulationResult) -> (steps: Int, result: SimulationResult)? {
        var low = 0
        var high = steps
        var best: (Int, SimulationResult)?
        for _ in 0..<12 where high - low > 1 {
            let trial = (low + high) / 2
            let result = run(trial)
            if result.failure?.checker == failure.checker {
                high = trial
                best = (trial, result)
            } else {
                low = trial
            }
        }
        return best
    }

    static func tenths(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

extension ShippingFaults {
    /// The `--fault` options that select these faults.
    var argumentText: String {
        ShippingFaults.named.filter { contains($0.fault) }.map { " --fault \($0.name)" }.joined()
    }
}

extension FailoverFaults {
    /// The `--fault` options that select these faults.
    var argumentText: String {
        FailoverFaults.named.filter { contains($0.fault) }.map { " --fault \($0.name)" }.joined()
    }
}
