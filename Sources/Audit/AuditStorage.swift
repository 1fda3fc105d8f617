import Platform

/// The file operations the trail performs, and nothing else: internal so that tests can inject
/// ENOSPC or EIO into one call and check that the trail refuses and recovers, and so that a
/// simulator can later supply a fake disk. Errors are the `Errno` of the failed call.
protocol AuditStorage: Sendable {
    /// Creates `path` (and parents) when missing.
    func makeDirectory(_ path: String) throws(Errno)
    /// The names in `directory`.
    func listDirectory(_ directory: String) throws(Errno) -> [String]
    /// Opens `path` for reading and writing; with `create`, creates it (mode 0600) when missing.
    func openFile(_ path: String, create: Bool) throws(Errno) -> any AuditFile
    /// Replaces `path` durably: temporary file, fsync, rename, fsync of the directory.
    func writeAtomically(_ bytes: [UInt8], to path: String) throws(Errno)
    /// Removes the file `path`.
    func remove(_ path: String) throws(Errno)
    /// fsyncs `directory`, making creates, renames and removals in it durable.
    func syncDirectory(_ directory: String) throws(Errno)
}

/// An open file of the trail. Closed when the last reference goes away.
protocol AuditFile: PositionalFile {
    /// Allocates `[offset, offset + count)` without changing the size (fallocate KEEP_SIZE).
    func allocate(at offset: Int, count: Int) throws(Errno)
}

/// ``AuditStorage`` on real files, through Platform.
struct FileAuditStorage: AuditStorage {
    func makeDirectory(_ path: String) throws(Errno) { try Files.makeDirectory(path) }
    func listDirectory(_ directory: String) throws(Errno) -> [String] { try Files.listDirectory(directory) }
    func openFile(_ path: String, create: Bool) throws(Errno) -> any AuditFile {
        try RandomAccessFile.open(path, create: create)
    }
    func writeAtomically(_ bytes: [UInt8], to path: String) throws(Errno) {
        try Files.writeAtomically(bytes, to: path, mode: 0o600)
    }
    func remove(_ path: String) throws(Errno) { try Files.removeFile(path) }
    func syncDirectory(_ directory: String) throws(Errno) { try Files.syncDirectory(at: directory) }
}

extension RandomAccessFile: AuditFile {}
