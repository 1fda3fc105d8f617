public import Platform

/// The file operations the journal performs, and nothing else: so that tests can inject
/// ENOSPC/EIO and count fdatasyncs, and a deterministic simulator can later supply a fake disk.
/// Paths are absolute or relative to the process's directory; errors are the `Errno` of the
/// failed call.
public protocol JournalStorage: Sendable {
    /// Creates `path` and missing parents.
    func makeDirectory(_ path: String) throws(Errno)
    /// Takes an exclusive lock on `directory`, held until the returned object goes away.
    /// Throws `Errno.lockHeld` when another holder has it.
    func lockDirectory(_ directory: String) throws(Errno) -> any JournalDirectoryLock
    /// The names in `directory`.
    func listDirectory(_ directory: String) throws(Errno) -> [String]
    /// Opens `path` for reading and writing; with `create`, creates it when missing.
    func openFile(_ path: String, create: Bool) throws(Errno) -> any JournalFile
    /// Atomically renames `source` to `destination` (replacing it).
    func rename(_ source: String, to destination: String) throws(Errno)
    /// Removes the file `path`.
    func remove(_ path: String) throws(Errno)
    /// fsyncs `directory`, making creates, renames and removals in it durable.
    func syncDirectory(_ directory: String) throws(Errno)
}

/// An open file. Closed when the last reference goes away.
public protocol JournalFile: PositionalFile {}

/// A held directory lock; released when it goes away.
public protocol JournalDirectoryLock: AnyObject, Sendable {}

/// ``JournalStorage`` on real files, through Platform.
public struct FileJournalStorage: JournalStorage {
    public init() {}

    public func makeDirectory(_ path: String) throws(Errno) { try Files.makeDirectory(path) }

    public func lockDirectory(_ directory: String) throws(Errno) -> any JournalDirectoryLock {
        HeldLock(try DirectoryLock(directory: directory))
    }

    public func listDirectory(_ directory: String) throws(Errno) -> [String] { try Files.listDirectory(directory) }

    public func openFile(_ path: String, create: Bool) throws(Errno) -> any JournalFile {
        try RandomAccessFile.open(path, create: create)
    }

    public func rename(_ source: String, to destination: String) throws(Errno) {
        try Files.renameFile(source, to: destination)
    }

    public func remove(_ path: String) throws(Errno) { try Files.removeFile(path) }

    public func syncDirectory(_ directory: String) throws(Errno) { try Files.syncDirectory(at: directory) }

    private final class HeldLock: JournalDirectoryLock {
        let lock: DirectoryLock
        init(_ lock: consuming DirectoryLock) { self.lock = lock }
    }
}

extension RandomAccessFile: JournalFile {}
