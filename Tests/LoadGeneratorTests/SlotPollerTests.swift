@testable import LoadGenerator
import Platform
import Testing

/// `SlotPoller` with eventfds standing in for sockets: tags, stale generations, interest
/// updates, and how long a wait lasts.
@Suite struct SlotPollerTests {
    @Test func aTagPacksTheSlotBelowItsGeneration() throws {
        let poller = try SlotPoller(slots: 4)
        #expect(SlotPoller.tag(slot: 3, generation: 7) == 7 << 32 | 3)
        #expect(poller.slot(of: SlotPoller.tag(slot: 3, generation: 0)) == 3)
        #expect(poller.slot(of: SlotPoller.tag(slot: 3, generation: 1)) == nil, "a generation the slot has not reached")
        #expect(poller.slot(of: SlotPoller.tag(slot: 4, generation: 0)) == nil, "no such slot")
    }

    @Test func anEventCarriesItsSlotsTagUntilTheSlotIsRetired() throws {
        var poller = try SlotPoller(slots: 2)
        let first = try EventFD()
        let second = try EventFD()
        try poller.updateInterest(first.rawValue, wanted: .readable, slot: 0)
        try poller.updateInterest(second.rawValue, wanted: .readable, slot: 1)
        first.signal()
        second.signal()
        let now = MonotonicClock.nanoseconds()
        let events = try poller.wait(untilNs: now + 1_000_000_000, now: now)
        #expect(events.count == 2)
        #expect(Set(events.compactMap { poller.slot(of: $0.tag) }) == [0, 1])
        #expect(events.allSatisfy { $0.events.contains(.readable) })
        // Handling the first event closed slot 1's connection: its event in the same batch is
        // stale now, while slot 0's is still good.
        poller.retire(1)
        for event in events {
            let slot = Int(event.tag & 0xFFFF_FFFF)
            #expect(poller.slot(of: event.tag) == (slot == 0 ? 0 : nil))
        }
        first.drain()  // the descriptors live until here
        second.drain()
    }

    @Test func aRetiredSlotsNextSocketIsRegisteredAfreshUnderTheNewGeneration() throws {
        var poller = try SlotPoller(slots: 1)
        let oldTag: UInt64
        do {
            let old = try EventFD()
            try poller.updateInterest(old.rawValue, wanted: .readable, slot: 0)
            old.signal()
            let now = MonotonicClock.nanoseconds()
            let events = try poller.wait(untilNs: now + 1_000_000_000, now: now)
            oldTag = try #require(events.first).tag
            old.drain()
            poller.retire(0)
        }  // the old descriptor is closed here, which takes it out of epoll
        // Its number is likely reused: an add (not a modify of what the poller had) is needed.
        let new = try EventFD()
        try poller.updateInterest(new.rawValue, wanted: .readable, slot: 0)
        new.signal()
        let now = MonotonicClock.nanoseconds()
        let events = try poller.wait(untilNs: now + 1_000_000_000, now: now)
        let tag = try #require(events.first).tag
        #expect(tag == SlotPoller.tag(slot: 0, generation: 1))
        #expect(poller.slot(of: tag) == 0)
        #expect(poller.slot(of: oldTag) == nil)
    }

    @Test func theSameInterestTwiceIsOneRegistrationAndAChangeIsAModify() throws {
        var poller = try SlotPoller(slots: 1)
        let descriptor = try EventFD()
        try poller.updateInterest(descriptor.rawValue, wanted: .readable, slot: 0)
        try poller.updateInterest(descriptor.rawValue, wanted: .readable, slot: 0)  // a second add would fail (EEXIST)
        try poller.updateInterest(descriptor.rawValue, wanted: [.readable, .writable], slot: 0)
        let now = MonotonicClock.nanoseconds()
        let events = try poller.wait(untilNs: now + 1_000_000_000, now: now)
        #expect(events.count == 1)
        #expect(events.first?.events.contains(.writable) == true, "an eventfd is always writable")
        descriptor.drain()
    }

    @Test func aWaitEndsAtItsTimeOrAtTheLongestWait() throws {
        var poller = try SlotPoller(slots: 1)
        var now = MonotonicClock.nanoseconds()
        #expect(try poller.wait(untilNs: now + 30_000_000, now: now).isEmpty)
        var waited = MonotonicClock.nanoseconds() - now
        #expect(waited >= 29_000_000 && waited < 1_000_000_000, "waited \(waited) ns")

        now = MonotonicClock.nanoseconds()
        #expect(try poller.wait(untilNs: now + 60_000_000_000, now: now).isEmpty)
        waited = MonotonicClock.nanoseconds() - now
        #expect(waited >= SlotPoller.maximumWaitNs - 1_000_000 && waited < 2_000_000_000, "waited \(waited) ns")

        now = MonotonicClock.nanoseconds()
        #expect(try poller.wait(untilNs: now - 1, now: now).isEmpty, "a time already past polls without waiting")
        #expect(MonotonicClock.nanoseconds() - now < 50_000_000)
    }
}
