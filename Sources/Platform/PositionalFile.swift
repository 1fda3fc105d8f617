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
