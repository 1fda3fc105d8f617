import Glibc

/// A file read and written at explicit offsets: what the journal and the audit trail need of a
/// file, so that tests can put a file that fails on demand in place of a real one.
public protocol PositionalFile: AnyObject, Sendable {
    /// The current size in bytes.
    func size() throws(Errno) -> Int
    /// Reads up to `buffer.count` bytes at `offset`, fewer only at end of file; returns the count.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int
    /// Writes all of `bytes` at `offset`; may have written a prefix when it throws.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno)
    /// fdatasync: written data and the file size are durable when it returns.
    func synchronize() throws(Errno)
    /// Sets the size to `size` bytes.
    func truncate(to size: Int) throws(Errno)
}

extension PositionalFile {
    /// Reads `count` bytes at `offset` (fewer only at end of file).
    public func readBytes(at offset: Int, count: Int) throws(Errno) -> [UInt8] {
        // Uninitialized: zero-filling a snapshot's worth of memory before reading over it was a
        // tenth of a restart. Typed throws cannot cross the initializer's closure (it rethrows
        // untyped), so the error is carried out by hand.
        var failure: Errno?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            Self.preferHugePages(UnsafeMutableRawBufferPointer(buffer))
            do throws(Errno) {
                initialized = try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Asks for transparent huge pages under a large buffer about to be filled (a snapshot of
    /// hundreds of megabytes): the kernel then zeroes and maps 2 MiB at a time instead of taking
    /// a page fault per 4 KiB, which was a fifth of a restart. Only the 2 MiB-aligned inside of
    /// the buffer is advised; a kernel that ignores the advice changes nothing.
    static func preferHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        let huge = 2 << 20
        guard buffer.count >= 4 * huge, let base = buffer.baseAddress else { return }
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int) throws(Errno) {
        var failure: Errno?
        bytes.withUnsafeBytes { raw in
            do throws(Errno) { try write(raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

extension RandomAccessFile: PositionalFile {
    /// fdatasync (``synchronizeData()``).
    public func synchronize() throws(Errno) { try synchronizeData() }
}
