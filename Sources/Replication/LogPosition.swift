/// A place in one region's log: the epoch and LSN of a record, as the source's journal wrote
/// them. Positions order by epoch first, then LSN: a journal's epochs never go backwards along
/// its LSNs, so along one log the two orders agree.
public struct LogPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The journal epoch of the record (or of the log, for ``start``).
    public var epoch: UInt64
    /// The record's LSN; 0 = before the first record.
    public var lsn: UInt64

    /// A position; any pair is representable (the decoder and the decisions check shape).
    public init(epoch: UInt64, lsn: UInt64) {
        self.epoch = epoch
        self.lsn = lsn
    }

    /// Before the first record of a log that has never had one.
    public static let start = LogPosition(epoch: 0, lsn: 0)

    /// Epoch first, then LSN.
    public static func < (lhs: LogPosition, rhs: LogPosition) -> Bool {
        (lhs.epoch, lhs.lsn) < (rhs.epoch, rhs.lsn)
    }

    /// "epoch/lsn", e.g. "3/1042".
    public var description: String { "\(epoch)/\(lsn)" }
}
