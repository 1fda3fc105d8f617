internal import Glibc

/// The process's standard error as an operational log's destination, with a size bound when
/// it is a regular file.
///
/// Daemons here are started with their standard error appended to a file (`>> node.log
/// 2>&1`). A flood of log lines (refused connections, say) must not fill the disk that also
/// holds the journal and the audit trail, so once the file passes `maxBytes` it is rotated
/// as logrotate would do it: renamed to `PATH.1` (replacing the previous one) and a new, empty
/// `PATH` is opened in its place on descriptors 2 and, when it shared the file, 1. At most
/// about `2 × maxBytes` is ever on disk. A pipe, a terminal or /dev/null is written to as is.
///
/// Not thread-safe: the caller serializes writes (the logger holds a lock).
public struct LogOutput: ~Copyable {
    /// The file behind standard error, when it is a regular file; nil otherwise.
    public private(set) var path: String?
    /// Bytes in the current file (its size when opened, plus what was written since).
    public private(set) var size: Int
    /// The bound past which the file is rotated.
    public let maxBytes: Int
    /// Rotations done, for tests and status.
    public private(set) var rotations = 0

    /// Looks at descriptor 2. `maxBytes` below 4 KiB is raised to it.
    public init(maxBytes: Int) {
        self.maxBytes = Swift.max(4096, maxBytes)
        var info = stat()
        guard fstat(2, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            path = nil
            size = 0
            return
        }
        path = Self.pathOfDescriptor(2)
        size = Int(info.st_size)
    }

    /// Writes one line (or several) with a single write(2) per attempt; rotates first when the
    /// file would pass its bound. A failed write is dropped: a log that cannot be written must
    /// not stop the node (ENOSPC is what the bound is there to avoid).
    public mutating func write(_ bytes: [UInt8]) {
        if path != nil, size + bytes.count > maxBytes { rotate() }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.write(2, raw.baseAddress! + offset, raw.count - offset) }
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        size += offset
    }

    /// Renames the file to `PATH.1` and reopens `PATH` on descriptor 2 (and 1 when it pointed
    /// to the same file). On any failure the current file goes on being used, and its size is
    /// re-read, so that the next attempt waits for another `maxBytes / 2`.
    private mutating func rotate() {
        guard let path else { return }
        var before = stat()
        let sharedWithStandardOutput = fstat(2, &before) == 0 && Self.sameFile(1, as: before)
        guard rename(path, path + ".1") == 0 else {
            size = maxBytes / 2
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // The old file keeps taking the lines under its new name; try again later.
            size = maxBytes / 2
            return
        }
        _ = dup2(fd, 2)
        if sharedWithStandardOutput { _ = dup2(fd, 1) }
        _ = Glibc.close(fd)
        size = 0
        rotations += 1
    }

    private static func sameFile(_ fd: Int32, as info: stat) -> Bool {
        var other = stat()
        return fstat(fd, &other) == 0 && other.st_dev == info.st_dev && other.st_ino == info.st_ino
    }

    /// The path a descriptor was opened with (Linux's /proc/self/fd link); nil when it has
    /// none that can be reopened (deleted, or not a path).
    static func pathOfDescriptor(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("/"), !text.hasSuffix(" (deleted)") else { return nil }
        return text
    }
}
