import Glibc
import Platform
import Testing

/// Poll.wait over a socket pair.
@Suite struct PollTests {
    @Test func readinessAndTimeout() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(try Poll.wait(fds[0], for: .readable, timeout: 0.05) == false)
        #expect(try Poll.wait(fds[0], for: .writable, timeout: 0.05) == true)
        var byte: UInt8 = 7
        #expect(write(fds[1], &byte, 1) == 1)
        #expect(try Poll.wait(fds[0], for: .readable, timeout: 1) == true)
        TCPSocket.shutdownBoth(fds[1])
        #expect(try Poll.wait(fds[0], for: .readable, timeout: 1) == true)
    }
}
