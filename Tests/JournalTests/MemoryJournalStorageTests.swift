import Testing
@testable import Journal
import Platform

/// The simulated disk: what survives a crash, and the faults it injects.
@Suite struct MemoryJournalStorageTests {
    let directory = "/node/journal"

    /// A storage with `directory` made and one durable file `name` holding `bytes`.
    func storage(with bytes: [UInt8], name: String = "a") throws -> (MemoryJournalStorage, any JournalFile) {
        let storage = MemoryJournalStorage()
        try storage.makeDirectory(directory)
        let file = try storage.openFile(directory + "/" + name, create: true)
        try file.write(bytes, at: 0)
        try file.synchronize()
        try storage.syncDirectory(directory)
        return (storage, file)
    }

    @Test func unsyncedWritesAreLostAndSyncedOnesKept() throws {
        let (storage, file) = try storage(with: Array("synced".utf8))
        try file.write(Array(" and not".utf8), at: 6)
        try file.truncate(to: 10)
        #expect(storage.contents(of: directory + "/a") == Array("synced and".utf8))
        #expect(try file.size() == 10)
        #expect(try file.readBytes(at: 7, count: 100) == Array("and".utf8))
        storage.crash()
        #expect(storage.contents(of: directory + "/a") == Array("synced".utf8))
        // The old handle died with the machine; a new one reads the durable image.
        #expect(throws: Errno.self) { _ = try file.size() }
        let reopened = try storage.openFile(directory + "/a", create: false)
        #expect(try reopened.readBytes(at: 0, count: 100) == Array("synced".utf8))
        #expect(storage.counters.crashes == 1)
        #expect(storage.counters.fileSyncs == 1 && storage.counters.directorySyncs == 1)
        #expect(storage.counters.writes == 2 && storage.counters.bytesWritten == 14)
    }

    /// A torn write keeps a prefix of the file's last unsynced write on top of its durable
    /// image (zero-filled up to the write's offset if that is past the durable end).
    @Test(arguments: [0, 1, 5, 8])
    func tornWriteKeepsAPrefix(kept: Int) throws {
        let (storage, file) = try storage(with: Array("0123".utf8))
        try file.write(Array("ignored".utf8), at: 4)
        try file.write(Array("ABCDEFGH".utf8), at: 6)
        let path = directory + "/a"
        #expect(storage.unsyncedWrites() == [MemoryJournalStorage.UnsyncedWrite(path: path, offset: 6, byteCount: 8)])
        storage.crash(tornWrite: .init(path: path, keptBytes: kept))
        let expected = kept == 0 ? Array("0123".utf8) : Array("0123".utf8) + [0, 0] + Array("ABCDEFGH".utf8).prefix(kept)
        #expect(storage.contents(of: path) == expected)
        #expect(storage.unsyncedWrites().isEmpty)
    }

    /// Creating, renaming and removing are durable only after syncDirectory, even when the
    /// file's data was synced; a removed file stays readable through a handle opened before.
    @Test func directoryChangesNeedADirectorySync() throws {
        let (storage, durable) = try storage(with: [1, 2, 3])
        let created = try storage.openFile(directory + "/new", create: true)
        try created.write([9], at: 0)
        try created.synchronize()
        try storage.rename(directory + "/a", to: directory + "/b")
        #expect(try storage.listDirectory(directory) == ["b", "new"])
        storage.crash()
        #expect(try storage.listDirectory(directory) == ["a"])
        #expect(storage.contents(of: directory + "/a") == [1, 2, 3])

        try storage.rename(directory + "/a", to: directory + "/b")
        try storage.syncDirectory(directory)
        storage.crash()
        #expect(try storage.listDirectory(directory) == ["b"])

        let handle = try storage.openFile(directory + "/b", create: false)
        try storage.remove(directory + "/b")
        #expect(try storage.listDirectory(directory).isEmpty)
        #expect(try handle.readBytes(at: 0, count: 3) == [1, 2, 3])
        storage.crash()
        #expect(try storage.listDirectory(directory) == ["b"], "the removal was not synced")
        try storage.remove(directory + "/b")
        try storage.syncDirectory(directory)
        storage.crash()
        #expect(try storage.listDirectory(directory).isEmpty)
        #expect(throws: Errno.self) { _ = try storage.openFile(directory + "/b", create: false) }
        _ = durable
    }

    /// A failed sync throws EIO and leaves the data unsynced: a crash still loses it. The next
    /// sync succeeds.
    @Test func failedSyncsLeaveDataUnsynced() throws {
        let (storage, file) = try storage(with: [1])
        storage.failNextSync(.file)
        try file.write([2], at: 1)
        let error = #expect(throws: Errno.self) { try file.synchronize() }
        #expect(error?.code == Errno.ioError)
        #expect(storage.counters.failedSyncs == 1)
        storage.crash()
        #expect(storage.contents(of: directory + "/a") == [1])

        let reopened = try storage.openFile(directory + "/a", create: false)
        try reopened.write([2], at: 1)
        try reopened.synchronize()
        storage.failNextSync(.directory, count: 2)
        _ = try storage.openFile(directory + "/b", create: true)
        #expect(throws: Errno.self) { try storage.syncDirectory(self.directory) }
        #expect(throws: Errno.self) { try storage.syncDirectory(self.directory) }
        storage.crash()
        #expect(try storage.listDirectory(directory) == ["a"])
        #expect(storage.contents(of: directory + "/a") == [1, 2])
        _ = try storage.openFile(directory + "/b", create: true)
        try storage.syncDirectory(directory)
        #expect(try storage.listDirectory(directory) == ["a", "b"])
    }

    @Test func diskFullFailsWritesWithENOSPC() throws {
        let (storage, file) = try storage(with: [1])
        storage.diskFull = true
        let error = #expect(throws: Errno.self) { try file.write([2, 3], at: 1) }
        #expect(error?.isDiskFull == true)
        #expect(try file.size() == 1, "nothing was written")
        try file.synchronize()
        storage.diskFull = false
        try file.write([2, 3], at: 1)
        #expect(storage.contents(of: directory + "/a") == [1, 2, 3])
    }

    /// The next write writes a prefix and fails with the given error.
    @Test func failedWriteKeepsAPrefix() throws {
        let (storage, file) = try storage(with: [1])
        storage.failNextWrite(Errno.quotaExceeded, keptBytes: 2)
        let error = #expect(throws: Errno.self) { try file.write([2, 3, 4], at: 1) }
        #expect(error?.isDiskFull == true)
        #expect(storage.contents(of: directory + "/a") == [1, 2, 3])
        try file.write([9], at: 3)
        #expect(storage.contents(of: directory + "/a") == [1, 2, 3, 9], "only the next write fails")
    }

    /// After the allowed operations every call fails and changes nothing, until the crash.
    @Test func cutPowerStopsEverythingUntilTheCrash() throws {
        let (storage, file) = try storage(with: [1])
        storage.cutPower(afterOperations: 2)
        try file.write([2], at: 1)
        #expect(try file.size() == 2, "reads do not count")
        try file.synchronize()
        #expect(throws: Errno.self) { try file.write([3], at: 2) }
        #expect(throws: Errno.self) { _ = try file.size() }
        #expect(throws: Errno.self) { _ = try storage.listDirectory(self.directory) }
        storage.crash()
        #expect(storage.contents(of: directory + "/a") == [1, 2])
        _ = try storage.openFile(directory + "/c", create: true)
    }

    /// A directory is locked once; the lock goes with its holder, or with a crash.
    @Test func locksAreExclusiveAndDroppedByACrash() throws {
        let storage = MemoryJournalStorage()
        try storage.makeDirectory(directory)
        do {
            let lock = try storage.lockDirectory(directory)
            let error = #expect(throws: Errno.self) { _ = try storage.lockDirectory(self.directory) }
            #expect(error?.code == Errno.lockHeld)
            withExtendedLifetime(lock) {}
        }
        let stale = try storage.lockDirectory(directory)
        storage.crash()
        let again = try storage.lockDirectory(directory)
        withExtendedLifetime(stale) {}  // a stale lock going away does not release the new one
        #expect(throws: Errno.self) { _ = try storage.lockDirectory(self.directory) }
        withExtendedLifetime(again) {}
    }
}
