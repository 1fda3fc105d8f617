import Platform

/// The epoll instance of one load-generator thread, and what ties its events to the thread's
/// slots (a slot is one client of the loop; its connection comes and goes). `LoadWorker` and
/// `LagWorker` both wait here.
///
/// A slot's socket is registered under a tag that packs the slot's index with its generation.
/// `retire` bumps the generation when the slot's connection is closed, so that an event already
/// returned for the old socket (even one whose descriptor number a new socket reuses) is stale:
/// `slot(of:)` answers nil for it. Tags are checked when an event is handled, not when `wait`
/// returns it, because handling one event may close another slot's connection.
struct SlotPoller: ~Copyable {
    /// The longest one `wait` blocks: the loop looks at its clock and its stop flag at least
    /// this often.
    static let maximumWaitNs: UInt64 = 100_000_000

    private let epoll: Epoll
    /// Per slot: bumped each time its connection is closed.
    private var generations: [UInt32]
    /// Per slot: the interest registered for its current socket ([] while none is).
    private var registered: [EpollEvents]
    /// The events of the last `wait`, one buffer reused from wait to wait.
    private var events: [(tag: UInt64, events: EpollEvents)] = []

    /// An epoll instance for `slots` slots, numbered from 0.
    init(slots: Int) throws(Errno) {
        precondition(slots >= 0 && UInt64(slots) <= UInt64(UInt32.max), "a slot index fits in 32 bits")
        epoll = try Epoll()
        generations = Array(repeating: 0, count: slots)
        registered = Array(repeating: [], count: slots)
        events.reserveCapacity(Epoll.maxEventsPerWait)
    }

    /// The tag a slot's socket is registered under: the generation above, the index below.
    static func tag(slot: Int, generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(slot)
    }

    /// The slot an event's tag is for, or nil when the event is stale: that slot's connection
    /// was closed since its socket was registered.
    func slot(of tag: UInt64) -> Int? {
        let index = Int(tag & 0xFFFF_FFFF)
        guard index < generations.count, UInt32(tag >> 32) == generations[index] else { return nil }
        return index
    }

    /// Registers the slot's current socket for `wanted` events, or changes what it is registered
    /// for; does nothing when that is already `wanted`.
    /// - Throws: epoll_ctl's error; the caller closes the connection (and retires the slot).
    mutating func updateInterest(_ socket: Int32, wanted: EpollEvents, slot: Int) throws(Errno) {
        guard wanted != registered[slot] else { return }
        let tag = Self.tag(slot: slot, generation: generations[slot])
        if registered[slot].isEmpty {
            try epoll.add(socket, events: wanted, tag: tag)
        } else {
            try epoll.modify(socket, events: wanted, tag: tag)
        }
        registered[slot] = wanted
    }

    /// The slot's connection was closed (closing its descriptor took it out of epoll): events
    /// still to come for it are stale, and the slot's next socket starts unregistered.
    mutating func retire(_ slot: Int) {
        generations[slot] &+= 1
        registered[slot] = []
    }

    /// Waits for events until `untilNs` (on the monotonic clock, read as `now`), or at most
    /// `maximumWaitNs`, and returns them (tag and events each); none when the time passed.
    /// - Throws: epoll_wait's error.
    mutating func wait(untilNs: UInt64, now: UInt64) throws(Errno) -> [(tag: UInt64, events: EpollEvents)] {
        let timeoutNs = min(untilNs &- min(untilNs, now), Self.maximumWaitNs)
        try epoll.wait(timeoutMilliseconds: Int32((timeoutNs + 999_999) / 1_000_000), into: &events)
        return events
    }
}
