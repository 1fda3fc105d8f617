import Foundation
import Glibc
import Testing
import Platform

@Suite struct SocketAddressTests {
    @Test(arguments: [
        ("127.0.0.1:7443", "127.0.0.1", 7443, false),
        ("[::1]:80", "::1", 80, true),
        ("localhost:1", "127.0.0.1", 1, false),
        ("0.0.0.0:0", "0.0.0.0", 0, false),
    ])
    func parses(text: String, host: String, port: Int, v6: Bool) throws {
        let address = try #require(SocketAddress(text))
        #expect(address.host == host && Int(address.port) == port && address.isIPv6 == v6)
        #expect(SocketAddress(address.description) == address)
    }

    @Test(arguments: ["", "127.0.0.1", "127.0.0.1:99999", "example.com:80", "[::1]", "::1:80", "1.2.3.4:-1", "[::1]80"])
    func rejects(text: String) {
        #expect(SocketAddress(text) == nil)
    }
}

@Suite struct FilesTests {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "platform-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func atomicWriteSetsModeAndReplaces() throws {
        let dir = temporaryDirectory()
        let path = dir + "/f"
        try Files.writeAtomically(Array("one".utf8), to: path, mode: 0o600)
        #expect(try Files.permissions(of: path) == 0o600)
        try Files.writeAtomically(Array("two".utf8), to: path, mode: 0o644)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two")
        #expect(try Files.permissions(of: path) == 0o644)
        #expect(!Files.exists(path + ".tmp"))
        #expect(try Files.permissions(of: dir + "/missing") == nil)
    }

    /// Files that hold secrets: any group or other bit is refused, read or not, and the
    /// message names what is wrong; the file type bits of a full `st_mode` are ignored.
    @Test(arguments: [
        (UInt32(0o600), nil), (0o400, nil), (0o700, nil), (0o100600, nil),
        (0o644, "is readable by group or others (mode 0644); it must be 0600"),
        (0o604, "is readable by group or others (mode 0604); it must be 0600"),
        (0o620, "is accessible by group or others (mode 0620); it must be 0600"),
        (0o601, "is accessible by group or others (mode 0601); it must be 0600"),
        (0o100660, "is readable by group or others (mode 0660); it must be 0600"),
    ] as [(UInt32, String?)])
    func ownerOnlyRule(mode: UInt32, violation: String?) {
        #expect(Files.ownerOnlyViolation(mode: mode) == violation)
    }

    @Test func readContentsReadsWholeFilesUpToALimit() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/f"
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Files.writeAtomically(bytes, to: path, mode: 0o400)
        #expect(try Files.readContents(of: path, limit: 10_000) == bytes, "read-only files can be read")
        #expect(throws: Errno(code: EFBIG, operation: "read \(path) (10000 bytes, limit 9999)")) {
            try Files.readContents(of: path, limit: 9_999)
        }
        try Files.writeAtomically([], to: dir + "/empty")
        #expect(try Files.readContents(of: dir + "/empty", limit: 0) == [])
        #expect(throws: Errno.self) { try Files.readContents(of: dir + "/missing", limit: 1) }
    }

    @Test func directoryLockIsExclusive() throws {
        let dir = temporaryDirectory()
        let first = try DirectoryLock(directory: dir)
        // flock locks belong to the open file description: a second open in the same process conflicts too.
        #expect(throws: Errno.self) { _ = try DirectoryLock(directory: dir) }
        _ = consume first
        _ = try DirectoryLock(directory: dir)
    }

    @Test func absolutePathNormalises() {
        #expect(Files.absolutePath("/a/./b/../c") == "/a/c")
        #expect(Files.absolutePath("x").hasPrefix("/"))
        #expect(Files.absolutePath("x").hasSuffix("/x"))
    }

    @Test func listenOnAnEphemeralPortAndAccept() throws {
        let listener = try TCPSocket.listen(on: SocketAddress("127.0.0.1:0")!)
        let port = try TCPSocket.localPort(listener)
        #expect(port != 0)
        #expect(try TCPSocket.accept(listener.rawValue) == nil, "no client yet: non-blocking accept returns nil")
        #expect(throws: Errno.self) { _ = try TCPSocket.listen(on: SocketAddress(host: "127.0.0.1", port: port)!) }
    }

    @Test func epollReportsAnEventFD() throws {
        let epoll = try Epoll()
        let wake = try EventFD()
        try epoll.add(wake.rawValue, events: .readable, tag: 42)
        var events: [(tag: UInt64, events: EpollEvents)] = []
        try epoll.wait(timeoutMilliseconds: 0, into: &events)
        #expect(events.isEmpty)
        wake.signal()
        try epoll.wait(timeoutMilliseconds: 1000, into: &events)
        #expect(events.count == 1 && events[0].tag == 42 && events[0].events.contains(.readable))
        wake.drain()
        try epoll.wait(timeoutMilliseconds: 0, into: &events)
        #expect(events.isEmpty)
    }
}

@Suite struct RandomAccessFileTests {
    /// 512-byte blocks allocated to `path` (stat's st_blocks).
    static func allocatedBlocks(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_blocks) : -1
    }

    /// Writes `bytes` at `offset`, returning the failure instead of throwing it from a closure.
    static func write(_ bytes: [UInt8], to file: RandomAccessFile, at offset: Int) -> Errno? {
        bytes.withUnsafeBytes { raw -> Errno? in
            do throws(Errno) {
                try file.write(raw, at: offset)
                return nil
            } catch {
                return error
            }
        }
    }

    /// fallocate with FALLOC_FL_KEEP_SIZE adds blocks beyond the end without changing the size;
    /// a filesystem without fallocate reports `isNotSupported`, which is also acceptable here.
    @Test func allocateKeepsTheSize() throws {
        let dir = NSTemporaryDirectory() + "platform-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/f"
        let file = try RandomAccessFile.open(path, create: true)
        let line: [UInt8] = Array("hello\n".utf8)
        #expect(Self.write(line, to: file, at: 0) == nil)
        let before = Self.allocatedBlocks(path)
        do {
            try file.allocate(at: line.count, count: 1 << 20)
        } catch {
            if error.isNotSupported { return }
            throw error
        }
        #expect(try file.size() == line.count)
        #expect(Self.allocatedBlocks(path) >= before + (1 << 20) / 512, "1 MiB of 512-byte blocks was allocated")
        #expect(Self.write(line, to: file, at: line.count) == nil)
        #expect(try file.size() == 2 * line.count)
    }
}
