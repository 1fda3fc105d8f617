internal import Glibc
internal import CSystemShims

/// An open regular file read and written at explicit offsets (pread/pwrite), for logs that
/// several threads read while one writes. Closed when the last reference goes away.
public final class RandomAccessFile: Sendable {
    /// The path the file was opened with (for messages).
    public let path: String
    private let descriptor: FileDescriptor

    private init(path: String, descriptor: consuming FileDescriptor) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Opens `path` for reading and writing; `create` creates it (mode 0600) when missing.
    public static func open(_ path: String, create: Bool) throws(Errno) -> RandomAccessFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let raw = try systemCall("open \(path)") { Glibc.open(path, flags, mode_t(0o600)) }
        return RandomAccessFile(path: path, descriptor: FileDescriptor(owning: raw))
    }

    /// The file's current size in bytes.
    public func size() throws(Errno) -> Int {
        var info = stat()
        _ = try systemCall("fstat \(path)") { fstat(descriptor.rawValue, &info) }
        return Int(info.st_size)
    }

    /// Reads up to `buffer.count` bytes at `offset`; fewer only at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        precondition(offset >= 0, "negative offset")
        var done = 0
        while done < buffer.count {
            let n = try systemCall("pread \(path)") {
                pread(descriptor.rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset` (looping over short writes).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
        precondition(offset >= 0, "negative offset")
        var done = 0
        while done < bytes.count {
            let n = try systemCall("pwrite \(path)") {
                pwrite(descriptor.rawValue, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            precondition(n > 0, "pwrite wrote nothing")
            done += n
        }
    }

    /// fdatasync(2): the data and the size are durable when it returns.
    public func synchronizeData() throws(Errno) {
        _ = try systemCall("fdatasync \(path)") { fdatasync(descriptor.rawValue) }
    }

    /// fallocate(2) with `FALLOC_FL_KEEP_SIZE`: allocates disk blocks for `[offset, offset + count)`
    /// without changing the file's size, so that later writes into that range cannot fail with
    /// ENOSPC. Throws `EOPNOTSUPP` (see `Errno.isNotSupported`) where the filesystem cannot
    /// preallocate, and ENOSPC, EDQUOT or EFBIG when the space is not there.
    public func allocate(at offset: Int, count: Int) throws(Errno) {
        precondition(offset >= 0 && count > 0, "invalid range \(offset)+\(count)")
        _ = try systemCall("fallocate \(path)") {
            CSystemShims_fallocate_keep_size(descriptor.rawValue, Int64(offset), Int64(count))
        }
    }

    /// ftruncate(2) to `size` bytes.
    public func truncate(to size: Int) throws(Errno) {
        precondition(size >= 0, "negative size")
        _ = try systemCall("ftruncate \(path)") { ftruncate(descriptor.rawValue, off_t(size)) }
    }
}
