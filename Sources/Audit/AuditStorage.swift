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
protocol AuditFile: AnyObject, Sendable {
    /// The current size in bytes.
    func size() throws(Errno) -> Int
    /// Reads up to `buffer.count` bytes at `offset`, fewer only at end of file; returns the count.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int
    /// Writes all of `bytes` at `offset`; may have written a prefix when it throws.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno)
    /// Allocates `[offset, offset + count)` without changing the size (fallocate KEEP_SIZE).
    func allocate(at offset: Int, count: Int) throws(Errno)
    /// fdatasync: written data and the size are durable when it returns.
    func synchronize() throws(Errno)
    /// Sets the size to `size` bytes.
    func truncate(to size: Int) throws(Errno)
}

/// ``AuditStorage`` on real files, through Platform.
struct FileAuditStorage: AuditStorage {
    func makeDirectory(_ path: String) throws(Errno) { try Files.makeDirectory(path) }
    func listDirectory(_ directory: String) throws(Errno) -> [String] { try Files.listDirectory(directory) }
    func openFile(_ path: String, create: Bool) throws(Errno) -> any AuditFile {
        RealFile(try RandomAccessFile.open(path, create: create))
    }
    func writeAtomically(_ bytes: [UInt8], to path: String) throws(Errno) {
        try Files.writeAtomically(bytes, to: path, mode: 0o600)
    }
    func remove(_ path: String) throws(Errno) { try Files.removeFile(path) }
    func syncDirectory(_ directory: String) throws(Errno) { try Files.syncDirectory(at: directory) }

    private final class RealFile: AuditFile {
        let file: RandomAccessFile
        init(_ file: RandomAccessFile) { self.file = file }
        func size() throws(Errno) -> Int { try file.size() }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
            try file.read(into: buffer, at: offset)
        }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) { try file.write(bytes, at: offset) }
        func allocate(at offset: Int, count: Int) throws(Errno) { try file.allocate(at: offset, count: count) }
        func synchronize() throws(Errno) { try file.synchronizeData() }
        func truncate(to size: Int) throws(Errno) { try file.truncate(to: size) }
    }
}

extension AuditFile {
    /// Reads `count` bytes at `offset` (fewer only at end of file).
    func readBytes(at offset: Int, count: Int) throws(Errno) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        // Typed throws cannot cross `withUnsafeMutableBytes` (it rethrows untyped), so the error
        // is carried out by hand.
        var failure: Errno?
        let got = bytes.withUnsafeMutableBytes { buffer -> Int in
            do throws(Errno) { return try read(into: buffer, at: offset) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        bytes.removeLast(count - got)
        return bytes
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int) throws(Errno) {
        var failure: Errno?
        bytes.withUnsafeBytes { raw in
            do throws(Errno) { try write(raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
