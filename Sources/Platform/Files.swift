internal import Glibc

/// File operations the node needs beyond Foundation: durable atomic replacement, permission
/// checks, and an exclusive lock on a data directory.
public enum Files {
    /// Writes `bytes` to `path` atomically: a temporary file in the same directory with `mode`,
    /// fsync, rename over `path`, fsync the directory.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o600) throws(Errno) {
        let temporary = path + ".tmp"
        let raw = try systemCall("open \(temporary)") { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode)) }
        let fd = FileDescriptor(owning: raw)
        _ = try systemCall("fchmod \(temporary)") { fchmod(raw, mode_t(mode)) }
        var offset = 0
        while offset < bytes.count {
            let n = try systemCall("write \(temporary)") {
                bytes.withUnsafeBytes { Glibc.write(raw, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += n
        }
        _ = try systemCall("fsync \(temporary)") { fsync(raw) }
        fd.close()
        _ = try systemCall("rename \(temporary)") { rename(temporary, path) }
        try syncDirectory(containing: path)
    }

    /// fsyncs the directory that holds `path`, making a create or rename durable.
    public static func syncDirectory(containing path: String) throws(Errno) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try syncDirectory(at: directory.isEmpty ? "/" : directory)
    }

    /// Creates `path` (and parents) with mode 0700 when missing.
    public static func makeDirectory(_ path: String) throws(Errno) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) == 0 {
                // The new entry is durable only once its parent directory is synced.
                try syncDirectory(containing: current)
            } else if errno != EEXIST {
                throw Errno(code: errno, operation: "mkdir \(current)")
            }
        }
    }

    /// The permission bits of `path`, or nil when it does not exist.
    public static func permissions(of path: String) throws(Errno) -> UInt32? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw Errno(code: errno, operation: "stat \(path)")
        }
        return UInt32(info.st_mode & 0o7777)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// An absolute, normalised form of `path` (relative paths are taken from the current directory).
    public static func absolutePath(_ path: String) -> String {
        var base = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            let cwd = getcwd(&buffer, buffer.count) != nil ? buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "/"
            base = cwd + "/" + path
        }
        var parts: [Substring] = []
        for component in base.split(separator: "/") {
            if component == "." || component.isEmpty { continue }
            if component == ".." { _ = parts.popLast(); continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// An exclusive advisory lock (flock) on a file in a data directory, held for the life of the
/// process, so that two nodes never share one directory.
public struct DirectoryLock: ~Copyable, Sendable {
    private let fd: FileDescriptor

    /// Locks `directory/LOCK`; throws `EWOULDBLOCK` (as `Errno`) when another process holds it.
    public init(directory: String) throws(Errno) {
        let path = directory + "/LOCK"
        let raw = try systemCall("open \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        let fd = FileDescriptor(owning: raw)
        if flock(raw, LOCK_EX | LOCK_NB) != 0 {
            throw Errno(code: errno, operation: "lock \(path)")
        }
        self.fd = fd
    }
}
