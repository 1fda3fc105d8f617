@_spi(Simulation) public import LogShipping

/// What one simulated run does.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    /// Events processed while the workload runs and faults are injected; then the faults stop,
    /// every node comes back, and the run settles.
    public var steps: Int
    /// Regions (2–4), one node each.
    public var regions: Int
    /// Deliberately broken behaviours (the simulator's own tests; never in production).
    @_spi(Simulation) public var faults: ShippingFaults = []
    /// After the faults stop: the time within which every replica must converge and every link
    /// reconnect (simulated milliseconds).
    public var settleMillis: Int64 = 180_000
    /// After converging: a window in which an idle cluster must log and ship nothing.
    public var quietMillis: Int64 = 60_000
    /// Trace lines kept for a failure's report.
    public var traceLines = 60

    public init(seed: UInt64, steps: Int, regions: Int) {
        precondition((2...4).contains(regions), "2 to 4 regions")
        self.seed = seed
        self.steps = steps
        self.regions = regions
    }
}

/// A checker that found a broken promise.
public struct SimulationFailure: Sendable, Hashable, CustomStringConvertible {
    /// The checker: `acknowledged-writes`, `convergence`, `monotonic`, `labels`, `residency`,
    /// `quiescence`, `liveness`, or `recovery` (a log that does not reopen).
    public var checker: String
    public var message: String
    /// Simulated milliseconds, and the event number.
    public var atMillis: Int64
    public var step: Int

    public var description: String { "\(checker) at step \(step) (t=\(atMillis) ms): \(message)" }
}

/// What a run did.
public struct SimulationResult: Sendable {
    public var seed: UInt64
    /// The fingerprint of the whole trace: the same seed and options give the same hash.
    public var traceHash: UInt64
    public var failure: SimulationFailure?
    /// The last trace lines (all of them are hashed).
    public var trace: [String]
    public var statistics: SimulationStatistics
}

/// Counts of what a run did, to show the faults were really exercised.
public struct SimulationStatistics: Sendable, Hashable {
    public var events = 0
    public var clientWrites = 0
    public var acknowledgedWrites = 0
    public var records = 0
    public var framesSent = 0
    public var snapshotsSent = 0
    public var crashes = 0
    public var tornWrites = 0
    public var failedSyncs = 0
    public var cleanStops = 0
    public var partitions = 0
    public var connectionResets = 0
    public var journalSnapshots = 0
    public var simulatedMillis: Int64 = 0
    /// The failover simulation's: promotions made (forced ones too), refused, forced, and
    /// records a node set aside (its divergent tail) to follow a new primary.
    public var promotions = 0
    public var refusedPromotions = 0
    public var forcedPromotions = 0
    public var recordsSetAside = 0

    public init() {}

    public mutating func add(_ other: SimulationStatistics) {
        events += other.events
        clientWrites += other.clientWrites
        acknowledgedWrites += other.acknowledgedWrites
        records += other.records
        framesSent += other.framesSent
        snapshotsSent += other.snapshotsSent
        crashes += other.crashes
        tornWrites += other.tornWrites
        failedSyncs += other.failedSyncs
        cleanStops += other.cleanStops
        partitions += other.partitions
        connectionResets += other.connectionResets
        journalSnapshots += other.journalSnapshots
        simulatedMillis += other.simulatedMillis
        promotions += other.promotions
        refusedPromotions += other.refusedPromotions
        forcedPromotions += other.forcedPromotions
        recordsSetAside += other.recordsSetAside
    }
}
