internal import Glibc

extension Files {
    /// The names in `directory`, without "." and "..", in no particular order.
    public static func listDirectory(_ directory: String) throws(Errno) -> [String] {
        guard let stream = opendir(directory) else { throw Errno(code: errno, operation: "opendir \(directory)") }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw Errno(code: errno, operation: "readdir \(directory)") }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// rename(2): atomically replaces `destination` with `source`.
    public static func renameFile(_ source: String, to destination: String) throws(Errno) {
        _ = try systemCall("rename \(source)") { Glibc.rename(source, destination) }
    }

    /// unlink(2).
    public static func removeFile(_ path: String) throws(Errno) {
        _ = try systemCall("unlink \(path)") { unlink(path) }
    }

    /// The whole contents of the regular file `path`, opened read-only (so that it works on a
    /// read-only mount or with read permission only). Throws `EFBIG` (as `Errno`) when the file
    /// is larger than `limit` bytes, rather than reading it into memory.
    public static func readContents(of path: String, limit: Int) throws(Errno) -> [UInt8] {
        precondition(limit >= 0, "negative limit")
        let raw = try systemCall("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        let fd = FileDescriptor(owning: raw)
        var info = stat()
        _ = try systemCall("fstat \(path)") { fstat(raw, &info) }
        guard Int(info.st_size) <= limit else { throw Errno(code: EFBIG, operation: "read \(path) (\(info.st_size) bytes, limit \(limit))") }
        // Read to the end rather than trusting st_size: the file may grow while it is read.
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var done = 0
        while true {
            if done == bytes.count {
                guard bytes.count <= limit else { throw Errno(code: EFBIG, operation: "read \(path) (grew beyond \(limit) bytes)") }
                bytes.append(contentsOf: repeatElement(0, count: min(max(bytes.count, 4096), limit + 1 - bytes.count)))
            }
            let n = try systemCall("read \(path)") {
                bytes.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress! + done, $0.count - done) }
            }
            if n == 0 { break }
            done += n
        }
        fd.close()
        bytes.removeLast(bytes.count - done)
        return bytes
    }

    /// fsyncs the directory `directory` itself, making creates, renames and unlinks in it durable.
    public static func syncDirectory(at directory: String) throws(Errno) {
        let raw = try systemCall("open \(directory)") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let fd = FileDescriptor(owning: raw)
        _ = try systemCall("fsync \(directory)") { fsync(raw) }
        fd.close()
    }
}

extension Errno {
    /// ENOSPC: no space left on the device.
    public static let noSpace = ENOSPC
    /// EDQUOT: the user's disk quota is exhausted.
    public static let quotaExceeded = EDQUOT
    /// EIO: a low-level I/O error.
    public static let ioError = EIO
    /// ENOENT: no such file or directory.
    public static let notFound = ENOENT
    /// EFBIG: the file would exceed the filesystem's or the process's (RLIMIT_FSIZE) size limit.
    public static let fileTooLarge = EFBIG
    /// EOPNOTSUPP: the filesystem does not support the operation (e.g. fallocate on some NFS).
    public static let notSupported = EOPNOTSUPP
    /// EWOULDBLOCK: a non-blocking lock is held elsewhere.
    public static let lockHeld = EWOULDBLOCK

    /// Whether the failure means the disk (or quota) is full.
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }

    /// Whether the call is not available here: EOPNOTSUPP from the filesystem, or ENOSYS from a
    /// kernel or sandbox that lacks the system call.
    public var isNotSupported: Bool { code == EOPNOTSUPP || code == ENOSYS }
}

extension Files {
    /// Why `readSmallRegularFile` could not give a file's bytes.
    public enum SmallFileFailure: Error, Sendable, Equatable {
        /// A system call failed (the file is missing, unreadable, …).
        case system(Errno)
        /// The path names something other than a regular file.
        case notRegular
        /// Group or others may access it; the text says how (see `ownerOnlyViolation`).
        case notOwnerOnly(String)
        /// It is larger than the limit.
        case tooLarge(limit: Int)
    }

    /// The bytes of a small regular file (a certificate, a key, a configuration). With
    /// `requireOwnerOnly` a file that group or others may access is refused; the mode is
    /// checked on the opened descriptor, so the file checked is the file read. A file that
    /// shrinks while it is read gives what is there.
    public static func readSmallRegularFile(_ path: String, limit: Int, requireOwnerOnly: Bool) throws(SmallFileFailure) -> [UInt8] {
        precondition(limit >= 0, "negative limit")
        let raw: Int32
        do {
            raw = try systemCall("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            throw .system(error)
        }
        let fd = FileDescriptor(owning: raw)
        var info = stat()
        do {
            _ = try systemCall("fstat \(path)") { fstat(raw, &info) }
        } catch {
            throw .system(error)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular }
        if requireOwnerOnly, let violation = ownerOnlyViolation(mode: UInt32(info.st_mode)) { throw .notOwnerOnly(violation) }
        guard Int(info.st_size) <= limit else { throw .tooLarge(limit: limit) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let n: Int
            do {
                n = try systemCall("read \(path)") { bytes.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress! + filled, $0.count - filled) } }
            } catch {
                throw .system(error)
            }
            if n == 0 { break }
            filled += n
        }
        fd.close()
        bytes.removeLast(bytes.count - filled)
        return bytes
    }
}
