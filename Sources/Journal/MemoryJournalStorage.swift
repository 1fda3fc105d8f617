public import Platform
import Synchronization

/// ``JournalStorage`` in memory, with a real disk's failures under its owner's control: the disk
/// of a deterministic simulator, and of tests.
///
/// The model: each file has a durable image (what a crash leaves) and its current contents,
/// which also hold the writes and truncations since its last `synchronize()`. Each directory has
/// durable entries and current ones: creating, renaming and removing a file change the current
/// entries, which become durable only with `syncDirectory`. ``crash(tornWrite:)`` throws away
/// everything not durable, optionally keeping a prefix of one file's last unsynced write (a torn
/// write), and drops every open file and lock, as a machine that restarts does. A file's data
/// can be durable while its name is not (synced, then renamed, then a crash before the directory
/// sync): the name decides, so such a file is gone. `makeDirectory` is durable at once (the
/// journal makes its directory once, at open); listings hold files only, sorted.
///
/// Faults: ``failNextSync(_:count:)`` (EIO, and the data stays unsynced), ``diskFull`` (writes
/// fail with ENOSPC and write nothing), ``failNextWrite(_:keptBytes:)`` (a short write, then an
/// error), ``cutPower(afterOperations:)`` (every call fails with EIO
/// from some point in the middle of a step, until the crash). All are deterministic: there is
/// no clock and no random source inside; a caller that wants random faults draws them and
/// passes them in (``unsyncedWrites()`` lists what a torn write may cut).
///
/// Sendable: all state is under one mutex, so the threaded ``Journal`` runs on it too.
public final class MemoryJournalStorage: JournalStorage {
    /// Which kind of sync a fault concerns.
    public enum SyncKind: Sendable, Equatable {
        /// `synchronize()` (fdatasync) of a file.
        case file
        /// `syncDirectory` (fsync of a directory).
        case directory
    }

    /// The part of a file's last unsynced write that a crash keeps.
    public struct TornWrite: Sendable, Equatable {
        /// The file, as its current (not necessarily durable) name.
        public var path: String
        /// How many bytes from the start of that write reach the disk: 0 up to its length.
        public var keptBytes: Int

        public init(path: String, keptBytes: Int) {
            self.path = path
            self.keptBytes = keptBytes
        }
    }

    /// The last write to a file since its last sync: a crash may tear it.
    public struct UnsyncedWrite: Sendable, Equatable {
        public var path: String
        public var offset: Int
        public var byteCount: Int
    }

    /// What was done, for tests and the simulator's statistics.
    public struct Counters: Sendable, Equatable {
        /// Successful `synchronize()` calls.
        public var fileSyncs = 0
        /// Successful `syncDirectory` calls.
        public var directorySyncs = 0
        /// Syncs that failed by ``failNextSync(_:count:)``.
        public var failedSyncs = 0
        /// Successful writes, and the bytes they wrote.
        public var writes = 0
        public var bytesWritten = 0
        public var crashes = 0
    }

    private let state = Mutex(State())

    public init() {}

    // MARK: Faults

    /// Whether writes fail with ENOSPC (writing nothing). Other calls are unaffected.
    public var diskFull: Bool {
        get { state.withLock { $0.diskFull } }
        set { state.withLock { $0.diskFull = newValue } }
    }

    /// Makes the next `count` syncs of `kind` fail with EIO, leaving what they would have made
    /// durable unsynced (replacing the count set before; 0 clears it).
    public func failNextSync(_ kind: SyncKind = .file, count: Int = 1) {
        precondition(count >= 0, "a negative count of failing syncs")
        state.withLock { state in
            switch kind {
            case .file: state.failingFileSyncs = count
            case .directory: state.failingDirectorySyncs = count
            }
        }
    }

    /// Makes the next write fail with `code` (EIO by default; ENOSPC or EDQUOT for a full disk)
    /// after it wrote its first `keptBytes` bytes (at most all of them), as a short write that
    /// then fails does.
    public func failNextWrite(_ code: Int32 = Errno.ioError, keptBytes: Int = 0) {
        precondition(keptBytes >= 0, "negative keptBytes")
        state.withLock { $0.failingWrite = (code, keptBytes) }
    }

    /// Lets `count` more operations that change the disk (write, truncate, sync, create, rename,
    /// remove, directory sync) happen; then every call fails with EIO and changes nothing, as
    /// if the power went in the middle of whatever the journal was doing, until ``crash(tornWrite:)``.
    public func cutPower(afterOperations count: Int) {
        precondition(count >= 0, "a negative count of operations")
        state.withLock { $0.operationsBeforePowerCut = count }
    }

    /// Ends every fault: the disk has room, syncs and writes succeed, the power is on.
    public func clearFaults() {
        state.withLock { state in
            state.diskFull = false
            state.failingWrite = nil
            state.failingFileSyncs = 0
            state.failingDirectorySyncs = 0
            state.operationsBeforePowerCut = nil
        }
    }

    /// The machine stops and restarts: every unsynced write, truncation and directory change is
    /// lost, except the first `tornWrite.keptBytes` bytes of the last unsynced write of
    /// `tornWrite.path`, which reach its durable image. Every open file and directory lock is
    /// dropped (their later use fails with EIO), so the journal can be opened again; a pending
    /// power cut is over. The other faults stay as they were (see ``clearFaults()``).
    public func crash(tornWrite: TornWrite? = nil) {
        state.withLock { state in
            var torn: (inode: UInt64, offset: Int, bytes: ArraySlice<UInt8>)?
            if let tornWrite {
                let (directory, name) = Self.split(tornWrite.path)
                guard let inode = state.directories[directory]?.current[name], let write = state.inodes[inode]?.lastUnsyncedWrite else {
                    preconditionFailure("crash(tornWrite:): \(tornWrite.path) has no unsynced write")
                }
                precondition(tornWrite.keptBytes >= 0 && tornWrite.keptBytes <= write.bytes.count, "crash(tornWrite:): keptBytes out of range")
                torn = (inode, write.offset, write.bytes.prefix(tornWrite.keptBytes))
            }
            state.generation += 1
            state.lockedDirectories.removeAll()
            state.operationsBeforePowerCut = nil
            state.directories = state.directories.mapValues { directory in
                Directory(current: directory.durable, durable: directory.durable)
            }
            state.inodes = state.inodes.mapValues { inode in
                Inode(durable: inode.durable, current: inode.durable, lastUnsyncedWrite: nil, openHandles: 0)
            }
            if let torn, !torn.bytes.isEmpty, var inode = state.inodes.removeValue(forKey: torn.inode) {
                inode.durable.overwrite(torn.bytes, at: torn.offset)
                inode.current = inode.durable
                state.inodes[torn.inode] = inode
            }
            state.collectGarbage()
            state.counters.crashes += 1
        }
    }

    // MARK: Inspection

    /// The last unsynced write of every file that has one, by current name, sorted by path.
    public func unsyncedWrites() -> [UnsyncedWrite] {
        state.withLock { state in
            var writes: [UnsyncedWrite] = []
            for directory in state.directories.keys.sorted() {
                guard let entries = state.directories[directory]?.current else { continue }
                for name in entries.keys.sorted() {
                    guard let inode = entries[name], let write = state.inodes[inode]?.lastUnsyncedWrite else { continue }
                    writes.append(UnsyncedWrite(path: Self.join(directory, name), offset: write.offset, byteCount: write.bytes.count))
                }
            }
            return writes
        }
    }

    /// The current contents of `path` (synced or not), or nil when no such file exists.
    public func contents(of path: String) -> [UInt8]? {
        let (directory, name) = Self.split(path)
        return state.withLock { state in
            state.directories[directory]?.current[name].flatMap { state.inodes[$0]?.current }
        }
    }

    public var counters: Counters { state.withLock { $0.counters } }

    // MARK: JournalStorage

    public func makeDirectory(_ path: String) throws(Errno) {
        let parts = Self.components(path)
        let root = path.hasPrefix("/") ? "/" : ""
        try state.withLock { state throws(Errno) in
            try state.operate("mkdir", path, changesDisk: true)
            for count in 0...parts.count {
                let directory = count == 0 ? root : root + parts.prefix(count).joined(separator: "/")
                if state.directories[directory] == nil { state.directories[directory] = Directory() }
            }
        }
    }

    public func lockDirectory(_ directory: String) throws(Errno) -> any JournalDirectoryLock {
        let directory = Self.normalize(directory)
        let generation = try state.withLock { state throws(Errno) -> UInt64 in
            try state.operate("flock", directory, changesDisk: false)
            guard state.directories[directory] != nil else { throw Errno(code: Errno.notFound, operation: "flock \(directory) (memory)") }
            guard state.lockedDirectories.insert(directory).inserted else {
                throw Errno(code: Errno.lockHeld, operation: "flock \(directory) (memory)")
            }
            return state.generation
        }
        return Lock(storage: self, directory: directory, generation: generation)
    }

    public func listDirectory(_ directory: String) throws(Errno) -> [String] {
        let directory = Self.normalize(directory)
        return try state.withLock { state throws(Errno) -> [String] in
            try state.operate("opendir", directory, changesDisk: false)
            guard let entries = state.directories[directory]?.current else {
                throw Errno(code: Errno.notFound, operation: "opendir \(directory) (memory)")
            }
            return entries.keys.sorted()
        }
    }

    public func openFile(_ path: String, create: Bool) throws(Errno) -> any JournalFile {
        let (directory, name) = Self.split(path)
        let (inode, generation) = try state.withLock { state throws(Errno) -> (UInt64, UInt64) in
            try state.operate("open", path, changesDisk: create)
            guard let entries = state.directories[directory]?.current, !name.isEmpty else {
                throw Errno(code: Errno.notFound, operation: "open \(path) (memory)")
            }
            let inode: UInt64
            if let existing = entries[name] {
                inode = existing
            } else {
                guard create else { throw Errno(code: Errno.notFound, operation: "open \(path) (memory)") }
                inode = state.nextInode
                state.nextInode += 1
                state.inodes[inode] = Inode()
                state.directories[directory]?.current[name] = inode
            }
            state.inodes[inode]?.openHandles += 1
            return (inode, state.generation)
        }
        return File(storage: self, inode: inode, generation: generation)
    }

    public func rename(_ source: String, to destination: String) throws(Errno) {
        let (fromDirectory, fromName) = Self.split(source)
        let (toDirectory, toName) = Self.split(destination)
        try state.withLock { state throws(Errno) in
            try state.operate("rename", source, changesDisk: true)
            guard let inode = state.directories[fromDirectory]?.current[fromName], state.directories[toDirectory] != nil, !toName.isEmpty else {
                throw Errno(code: Errno.notFound, operation: "rename \(source) (memory)")
            }
            state.directories[fromDirectory]?.current[fromName] = nil
            state.directories[toDirectory]?.current[toName] = inode
            state.collectGarbage()
        }
    }

    public func remove(_ path: String) throws(Errno) {
        let (directory, name) = Self.split(path)
        try state.withLock { state throws(Errno) in
            try state.operate("unlink", path, changesDisk: true)
            guard state.directories[directory]?.current[name] != nil else { throw Errno(code: Errno.notFound, operation: "unlink \(path) (memory)") }
            state.directories[directory]?.current[name] = nil
            state.collectGarbage()
        }
    }

    public func syncDirectory(_ directory: String) throws(Errno) {
        let directory = Self.normalize(directory)
        try state.withLock { state throws(Errno) in
            try state.operate("fsync", directory, changesDisk: true)
            guard let entries = state.directories[directory]?.current else { throw Errno(code: Errno.notFound, operation: "fsync \(directory) (memory)") }
            if state.failingDirectorySyncs > 0 {
                state.failingDirectorySyncs -= 1
                state.counters.failedSyncs += 1
                throw Errno(code: Errno.ioError, operation: "fsync \(directory) (injected)")
            }
            state.directories[directory]?.durable = entries
            state.counters.directorySyncs += 1
            state.collectGarbage()
        }
    }

    // MARK: Files and locks

    /// Runs `body` on the file behind `handle`, after the power and staleness checks.
    fileprivate func withInode<R>(
        _ handle: File, _ operation: String, changesDisk: Bool, _ body: (inout Inode, inout State) throws(Errno) -> R
    ) throws(Errno) -> R {
        try state.withLock { state throws(Errno) -> R in
            try state.operate(operation, "file \(handle.inode)", changesDisk: changesDisk)
            // Taken out of the table while `body` runs, so that changing its bytes copies nothing.
            guard handle.generation == state.generation, var inode = state.inodes.removeValue(forKey: handle.inode) else {
                throw Errno(code: Errno.ioError, operation: "\(operation) (memory: the file was opened before a crash)")
            }
            defer { state.inodes[handle.inode] = inode }
            return try body(&inode, &state)
        }
    }

    fileprivate func release(_ handle: File) {
        state.withLock { state in
            guard handle.generation == state.generation else { return }
            state.inodes[handle.inode]?.openHandles -= 1
            state.collectGarbage()
        }
    }

    fileprivate func unlock(_ lock: Lock) {
        state.withLock { state in
            if lock.generation == state.generation { state.lockedDirectories.remove(lock.directory) }
        }
    }

    fileprivate final class Lock: JournalDirectoryLock {
        let storage: MemoryJournalStorage
        let directory: String
        let generation: UInt64

        init(storage: MemoryJournalStorage, directory: String, generation: UInt64) {
            self.storage = storage
            self.directory = directory
            self.generation = generation
        }

        deinit { storage.unlock(self) }
    }

    fileprivate final class File: JournalFile {
        let storage: MemoryJournalStorage
        let inode: UInt64
        /// The crash count when it was opened: a crash makes it stale.
        let generation: UInt64

        init(storage: MemoryJournalStorage, inode: UInt64, generation: UInt64) {
            self.storage = storage
            self.inode = inode
            self.generation = generation
        }

        deinit { storage.release(self) }

        func size() throws(Errno) -> Int {
            try storage.withInode(self, "fstat", changesDisk: false) { inode, _ in inode.current.count }
        }

        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
            precondition(offset >= 0, "negative offset")
            return try storage.withInode(self, "pread", changesDisk: false) { inode, _ in
                let count = max(0, min(buffer.count, inode.current.count - offset))
                if count > 0 {
                    inode.current.withUnsafeBytes { source in
                        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + count)]))
                    }
                }
                return count
            }
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
            precondition(offset >= 0, "negative offset")
            try storage.withInode(self, "pwrite", changesDisk: true) { inode, state throws(Errno) in
                if state.diskFull && !bytes.isEmpty { throw Errno(code: Errno.noSpace, operation: "pwrite (memory: disk full)") }
                if let failure = state.failingWrite {
                    state.failingWrite = nil
                    let kept = [UInt8](bytes.prefix(failure.keptBytes))
                    if !kept.isEmpty {
                        inode.current.overwrite(kept[...], at: offset)
                        inode.lastUnsyncedWrite = (offset, kept)
                    }
                    throw Errno(code: failure.code, operation: "pwrite (injected, \(kept.count) of \(bytes.count) bytes written)")
                }
                let written = [UInt8](bytes)
                inode.current.overwrite(written[...], at: offset)
                inode.lastUnsyncedWrite = (offset, written)
                state.counters.writes += 1
                state.counters.bytesWritten += written.count
            }
        }

        func synchronize() throws(Errno) {
            try storage.withInode(self, "fdatasync", changesDisk: true) { inode, state throws(Errno) in
                if state.failingFileSyncs > 0 {
                    state.failingFileSyncs -= 1
                    state.counters.failedSyncs += 1
                    throw Errno(code: Errno.ioError, operation: "fdatasync (injected)")
                }
                inode.durable = inode.current
                inode.lastUnsyncedWrite = nil
                state.counters.fileSyncs += 1
            }
        }

        func truncate(to size: Int) throws(Errno) {
            precondition(size >= 0, "negative size")
            try storage.withInode(self, "ftruncate", changesDisk: true) { inode, _ in
                if size < inode.current.count {
                    inode.current.removeSubrange(size...)
                } else {
                    inode.current.append(contentsOf: repeatElement(0, count: size - inode.current.count))
                }
            }
        }
    }

    // MARK: State

    fileprivate struct Inode: Sendable {
        var durable: [UInt8] = []
        var current: [UInt8] = []
        /// The last write since the last sync: what a torn write keeps a prefix of.
        var lastUnsyncedWrite: (offset: Int, bytes: [UInt8])?
        var openHandles = 0
    }

    fileprivate struct Directory: Sendable {
        var current: [String: UInt64] = [:]
        var durable: [String: UInt64] = [:]
    }

    fileprivate struct State: Sendable {
        var directories: [String: Directory] = [:]
        var inodes: [UInt64: Inode] = [:]
        var nextInode: UInt64 = 1
        /// Crashes so far: files and locks of an earlier generation are dead.
        var generation: UInt64 = 0
        var lockedDirectories: Set<String> = []
        var failingFileSyncs = 0
        var failingDirectorySyncs = 0
        var diskFull = false
        var failingWrite: (code: Int32, keptBytes: Int)?
        /// nil: no power cut pending; 0: the power is off.
        var operationsBeforePowerCut: Int?
        var counters = Counters()

        /// Fails when the power is off; counts an operation that changes the disk toward a cut.
        mutating func operate(_ operation: String, _ path: String, changesDisk: Bool) throws(Errno) {
            guard let remaining = operationsBeforePowerCut else { return }
            guard remaining > 0 else { throw Errno(code: Errno.ioError, operation: "\(operation) \(path) (memory: the power is off)") }
            if changesDisk { operationsBeforePowerCut = remaining - 1 }
        }

        /// Forgets the files that no directory entry (current or durable) names and no open
        /// handle holds.
        mutating func collectGarbage() {
            var named = Set<UInt64>()
            for directory in directories.values {
                named.formUnion(directory.current.values)
                named.formUnion(directory.durable.values)
            }
            for (id, inode) in inodes where inode.openHandles <= 0 && !named.contains(id) {
                inodes[id] = nil
            }
        }
    }

    // MARK: Paths

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0 != "." }.map(String.init)
    }

    static func normalize(_ path: String) -> String {
        (path.hasPrefix("/") ? "/" : "") + components(path).joined(separator: "/")
    }

    /// The normalized directory and the last component of `path`.
    static func split(_ path: String) -> (directory: String, name: String) {
        let parts = components(path)
        return ((path.hasPrefix("/") ? "/" : "") + parts.dropLast().joined(separator: "/"), parts.last ?? "")
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

extension Array where Element == UInt8 {
    /// Writes `bytes` at `offset`, zero-filling any gap past the end.
    fileprivate mutating func overwrite(_ bytes: ArraySlice<UInt8>, at offset: Int) {
        if offset > count { append(contentsOf: repeatElement(0, count: offset - count)) }
        let overlap = Swift.min(bytes.count, count - offset)
        replaceSubrange(offset..<(offset + overlap), with: bytes.prefix(overlap))
        append(contentsOf: bytes.dropFirst(overlap))
    }
}
