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
    /// EWOULDBLOCK: a non-blocking lock is held elsewhere.
    public static let lockHeld = EWOULDBLOCK

    /// Whether the failure means the disk (or quota) is full.
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }
}
