/// One record of a region log.
public struct JournalRecord: Sendable, Equatable {
    /// Position in the region log: strictly increasing by 1 along the log; the first record is 1.
    public var lsn: UInt64
    /// The term of the writer that appended it; non-decreasing along the log.
    public var epoch: UInt64
    /// The record kind, opaque to the journal. 0 is reserved and never valid.
    public var type: UInt16
    /// Opaque bytes, at most ``Journal/maxPayloadBytes``.
    public var payload: [UInt8]

    public init(lsn: UInt64, epoch: UInt64, type: UInt16, payload: [UInt8]) {
        self.lsn = lsn
        self.epoch = epoch
        self.type = type
        self.payload = payload
    }
}
