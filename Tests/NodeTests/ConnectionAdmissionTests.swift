@testable import Node
import TestSupport
import Testing
@testable import Admission

/// The admission decision against a plain reference (a list scanned in full), over random
/// arrivals, state changes and closes; and the cases the hostile-client probe found.
@Suite struct ConnectionAdmissionTests {
    typealias Standing = ConnectionAdmission.Standing

    /// The obvious O(n) implementation the queues must agree with.
    struct Reference {
        struct Item {
            var id: UInt64
            var address: String
            var standing: Standing?
            var entered: Int
        }

        var limits: ConnectionAdmission.Limits
        var items: [Item] = []
        var clock = 0

        func oldest(_ standings: [Standing], address: String?) -> UInt64? {
            for standing in standings {
                let found = items.filter { $0.standing == standing && (address == nil || $0.address == address) }
                    .min { $0.entered < $1.entered }
                if let found { return found.id }
            }
            return nil
        }

        var unfinished: Int { items.count { $0.standing?.isUnfinished ?? false } }
        func unfinished(from address: String) -> Int { items.count { $0.address == address && ($0.standing?.isUnfinished ?? false) } }

        func decide(address: String) -> ConnectionAdmission.Decision {
            if unfinished(from: address) >= limits.maxUnfinishedPerAddress,
               let victim = oldest([.silent, .fresh, .handshaking], address: address) { return .admitEvicting(victim) }
            if unfinished >= limits.maxUnfinished, let victim = oldest([.silent, .fresh, .handshaking], address: nil) {
                return .admitEvicting(victim)
            }
            if let max = limits.maxConnections, items.count >= max {
                return oldest(Standing.allCases, address: nil).map { .admitEvicting($0) } ?? .refuse
            }
            return .admit
        }

        mutating func add(_ id: UInt64, address: String, standing: Standing) {
            clock += 1
            items.append(Item(id: id, address: address, standing: standing, entered: clock))
        }

        mutating func update(_ id: UInt64, to standing: Standing?) {
            guard let i = items.firstIndex(where: { $0.id == id }), items[i].standing != standing else { return }
            clock += 1
            items[i].standing = standing
            items[i].entered = clock
        }

        mutating func remove(_ id: UInt64) { items.removeAll { $0.id == id } }
    }

    @Test(arguments: 0..<40)
    func agreesWithTheReference(seed: UInt64) {
        var rng = SplitMix64(seed: 0xAD_0000 + seed)
        let limits = ConnectionAdmission.Limits(
            maxConnections: seed % 3 == 0 ? nil : Int.random(in: 1...40, using: &rng),
            maxUnfinished: Int.random(in: 1...30, using: &rng),
            maxUnfinishedPerAddress: Int.random(in: 1...12, using: &rng)
        )
        var admission = ConnectionAdmission(limits: limits)
        var reference = Reference(limits: limits)
        let addresses = ["10.0.0.1", "10.0.0.2", "::1", "127.0.0.1"]
        var nextId: UInt64 = 0
        for step in 0..<3_000 {
            let roll = Int.random(in: 0..<10, using: &rng)
            if roll < 5 {
                let address = addresses[Int.random(in: 0..<(seed % 2 == 0 ? 1 : addresses.count), using: &rng)]
                let decision = admission.decide(address: address)
                #expect(decision == reference.decide(address: address), "step \(step)")
                switch decision {
                case .refuse: continue
                case .admitEvicting(let victim):
                    admission.remove(victim)
                    reference.remove(victim)
                case .admit: break
                }
                nextId += 1
                let standing: Standing = [.silent, .fresh, .handshaking].randomElement(using: &rng)!
                admission.add(nextId, address: address, standing: standing)
                reference.add(nextId, address: address, standing: standing)
            } else if let item = reference.items.randomElement(using: &rng) {
                if roll < 9 {
                    let choices: [Standing?] = Standing.allCases + [nil]
                    let standing = choices.randomElement(using: &rng)!
                    admission.update(item.id, to: standing)
                    reference.update(item.id, to: standing)
                } else {
                    admission.remove(item.id)
                    reference.remove(item.id)
                }
            }
            #expect(admission.count == reference.items.count)
            #expect(admission.unfinishedCount == reference.unfinished)
            if let max = limits.maxConnections { #expect(admission.count <= max) }
        }
        #expect(admission.victimForCapacity() == reference.oldest(Standing.allCases, address: nil))
    }

    @Test func aFullServerGivesUpASilentConnectionNotTheNewest() {
        var admission = ConnectionAdmission(limits: .init(maxConnections: 3, maxUnfinished: 3, maxUnfinishedPerAddress: 3))
        admission.add(1, address: "a")
        admission.update(1, to: .idle)
        admission.add(2, address: "b", standing: .silent)
        admission.add(3, address: "b", standing: .silent)
        #expect(admission.decide(address: "c") == .admitEvicting(2))
    }

    @Test func silentBeforeIdleBeforeHandshakingBeforeReading() {
        var admission = ConnectionAdmission(limits: .init(maxConnections: 4, maxUnfinished: 10, maxUnfinishedPerAddress: 10))
        for id: UInt64 in 1...4 { admission.add(id, address: "a") }
        admission.update(1, to: .reading)
        admission.update(2, to: .idle)
        admission.update(3, to: .handshaking)
        admission.update(4, to: nil)
        var order: [UInt64] = []
        while case .admitEvicting(let victim) = admission.decide(address: "z") {
            order.append(victim)
            admission.remove(victim)
            admission.add(100 + UInt64(order.count), address: "z")
            admission.update(100 + UInt64(order.count), to: nil)
        }
        #expect(order == [2, 3, 1])
        #expect(admission.decide(address: "z") == .refuse)
    }

    @Test func oneAddressCannotHoldMoreThanItsShareOfHandshakes() {
        var admission = ConnectionAdmission(limits: .init(maxConnections: nil, maxUnfinished: 100, maxUnfinishedPerAddress: 2))
        admission.add(1, address: "attacker", standing: .silent)
        admission.add(2, address: "attacker", standing: .silent)
        #expect(admission.decide(address: "attacker") == .admitEvicting(1))
        #expect(admission.decide(address: "peer") == .admit)
        // A connection that finished its handshake no longer counts against the share.
        admission.update(1, to: .idle)
        #expect(admission.decide(address: "attacker") == .admit)
    }

    @Test func withinOneAddressTheClientMidHandshakeGoesLast() {
        // A flood and a real client behind one address (NAT, or loopback in the tests): over
        // the address's share, the connections that have sent nothing go first.
        var admission = ConnectionAdmission(limits: .init(maxConnections: nil, maxUnfinished: 100, maxUnfinishedPerAddress: 3))
        admission.add(1, address: "nat")
        admission.update(1, to: .handshaking)  // the client: its ClientHello is in
        admission.add(2, address: "nat")
        admission.add(3, address: "nat")
        #expect(admission.decide(address: "nat") == .admitEvicting(2))
    }

    @Test func silentConnectionsGoBeforeOnesThatStartedTheirHandshake() {
        var admission = ConnectionAdmission(limits: .init(maxConnections: nil, maxUnfinished: 2, maxUnfinishedPerAddress: 10))
        admission.add(1, address: "peer")
        admission.add(2, address: "attacker", standing: .silent)
        #expect(admission.decide(address: "attacker") == .admitEvicting(2))
    }

    @Test func aConnectionAcceptedAMomentAgoIsNotTakenForASilentOne() {
        // The race a TLS flood against a full server exposed: a real client's connection,
        // accepted a microsecond before the flood's next one, had not sent its ClientHello yet.
        var admission = ConnectionAdmission(limits: .init(maxConnections: 3, maxUnfinished: 10, maxUnfinishedPerAddress: 10))
        admission.add(1, address: "flood")
        admission.update(1, to: .idle)
        admission.add(2, address: "flood")
        admission.update(2, to: .idle)
        admission.add(3, address: "client")  // fresh until its grace has passed
        #expect(admission.decide(address: "flood") == .admitEvicting(1))
        admission.update(3, to: .silent)  // the grace passed without a byte
        #expect(admission.decide(address: "flood") == .admitEvicting(3))
    }

    @Test func staleEntriesDoNotPileUpBehindALongLivedHead() {
        var admission = ConnectionAdmission(limits: .init(maxConnections: nil, maxUnfinished: 10, maxUnfinishedPerAddress: 10))
        admission.add(0, address: "a")
        admission.update(0, to: .idle)  // the head of the idle queue for the whole test
        for id: UInt64 in 1...100_000 {
            admission.add(id, address: "a")
            admission.update(id, to: .idle)
            admission.update(id, to: nil)
            admission.remove(id)
        }
        #expect(admission.count == 1)
        #expect(admission.oldest(.idle) == 0)
        #expect(admission.queuedEntryCount < 1_000)
    }
}
