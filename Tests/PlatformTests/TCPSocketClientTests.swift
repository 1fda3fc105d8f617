import Foundation
import Glibc
import Platform
import Testing

@Suite struct TCPSocketClientTests {
    /// Waits (briefly) until `fd` is ready for `events`.
    func wait(_ fd: Int32, _ events: EpollEvents) throws {
        let epoll = try Epoll()
        try epoll.add(fd, events: events, tag: 1)
        var ready: [(tag: UInt64, events: EpollEvents)] = []
        try epoll.wait(timeoutMilliseconds: 2_000, into: &ready)
        #expect(ready.count == 1)
    }

    @Test func connectsWithoutBlockingAndReadsIntoARawBuffer() throws {
        let listener = try TCPSocket.listen(on: SocketAddress("127.0.0.1:0")!)
        let port = try TCPSocket.localPort(listener)
        let client = try TCPSocket.connect(to: SocketAddress(host: "127.0.0.1", port: port)!)
        try wait(client.rawValue, .writable)
        #expect(TCPSocket.pendingError(client.rawValue) == nil)
        try wait(listener.rawValue, .readable)
        guard let pending = try TCPSocket.accept(listener.rawValue) else {
            Issue.record("no connection to accept")
            return
        }
        let accepted = pending.takeDescriptor()
        #expect(try TCPSocket.write(accepted.rawValue, Array("hello".utf8), from: 0) == .transferred(5))
        try wait(client.rawValue, .readable)
        var scratch = [UInt8](repeating: 0, count: 3)
        let first = try scratch.withUnsafeMutableBytes { try TCPSocket.read(client.rawValue, into: $0) }
        #expect(first == .transferred(3) && scratch == Array("hel".utf8), "at most the buffer's size")
        let second = try scratch.withUnsafeMutableBytes { try TCPSocket.read(client.rawValue, into: $0) }
        #expect(second == .transferred(2) && scratch[0..<2] == Array("lo".utf8)[...])
        let third = try scratch.withUnsafeMutableBytes { try TCPSocket.read(client.rawValue, into: $0) }
        #expect(third == .wouldBlock)
    }

    @Test func aRefusedConnectionIsReported() throws {
        // Bind a port, then release it: nothing listens there.
        let port = try TCPSocket.localPort(try TCPSocket.listen(on: SocketAddress("127.0.0.1:0")!))
        do {
            let client = try TCPSocket.connect(to: SocketAddress(host: "127.0.0.1", port: port)!)
            try wait(client.rawValue, .writable)
            #expect(TCPSocket.pendingError(client.rawValue)?.code == ECONNREFUSED)
        } catch let error as Errno {
            #expect(error.code == ECONNREFUSED, "or refused at once")
        }
    }

    @Test func cpuTimesGrowWithWork() {
        let before = ProcessCPU.times()
        let threadBefore = ProcessCPU.threadNanoseconds()
        var x: UInt64 = 1
        for i in 0..<20_000_000 { x = x &* 6364136223846793005 &+ UInt64(i) }
        #expect(x != 0)
        #expect(ProcessCPU.times().total > before.total)
        #expect(ProcessCPU.threadNanoseconds() > threadBefore)
        #expect(ProcessCPU.onlineCores >= 1)
        let t0 = MonotonicClock.nanoseconds()
        #expect(MonotonicClock.nanoseconds() >= t0)
    }
}
