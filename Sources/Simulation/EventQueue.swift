import SeededRandom

/// The simulator's agenda: events by time, ties broken by the order they were scheduled, so
/// that a run is the same for the same seed. A binary heap.
struct EventQueue<Event> {
    private var heap: [(at: Int64, sequence: UInt64, event: Event)] = []
    private var scheduled: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The time of the next event.
    var nextTime: Int64? { heap.first?.at }

    mutating func schedule(_ event: Event, at time: Int64) {
        scheduled += 1
        heap.append((time, scheduled, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func next() -> (at: Int64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.before(heap[right], heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.at, first.event)
    }

    private static func before(_ a: (at: Int64, sequence: UInt64, event: Event), _ b: (at: Int64, sequence: UInt64, event: Event)) -> Bool {
        (a.at, a.sequence) < (b.at, b.sequence)
    }
}

/// FNV-1a over the trace: the run's fingerprint, the same for the same seed.
struct TraceHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        add(bytes: text.utf8)
    }

    mutating func add(bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
        value ^= 0x0A
        value &*= 0x0000_0100_0000_01B3
    }
}

/// What both simulators' worlds share: one seeded generator for every choice, and the trace
/// (every line hashed; the last ones kept for a failure's report).
protocol SeededWorld: AnyObject {
    var random: SplitMix64 { get set }
    var now: Int64 { get }
    var step: Int { get }
    var hash: TraceHash { get set }
    var trace: [String] { get set }
    var failure: SimulationFailure? { get set }
    var traceLines: Int { get }
}

extension SeededWorld {
    func draw(_ bound: UInt64) -> UInt64 { random.next() % bound }
    func chance(_ percent: UInt64) -> Bool { draw(100) < percent }
    func between(_ low: Int64, _ high: Int64) -> Int64 { low + Int64(draw(UInt64(high - low + 1))) }

    func note(_ line: String) {
        let text = "\(step) t=\(now) \(line)"
        hash.add(text)
        trace.append(text)
        if trace.count > traceLines * 2 { trace.removeFirst(trace.count - traceLines) }
    }

    /// The first failure ends the run; later ones are not recorded.
    func fail(_ checker: String, _ message: String) {
        guard failure == nil else { return }
        failure = SimulationFailure(checker: checker, message: message, atMillis: now, step: step)
        note("FAILED \(checker): \(message)")
    }
}
