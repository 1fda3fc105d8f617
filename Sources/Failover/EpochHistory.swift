/// Which epoch wrote which part of a region log: the first LSN of every epoch the log holds,
/// as PostgreSQL's timeline history files record where each timeline branched off.
///
/// One writer per epoch (a primary promoted at `epoch + 1` appends its promotion record first,
/// so every epoch in a history holds at least one record), and a node appends another node's
/// records only after checking where their logs part (``commonPrefix(end:with:end:)``). So two
/// logs holding a record of the same epoch at the same LSN hold the same records up to it: the
/// log matching property that makes the fork point computable from the two histories alone.
public struct EpochHistory: Sendable, Hashable, CustomStringConvertible {
    /// The first record of one epoch.
    public struct Start: Sendable, Hashable {
        public var epoch: UInt64
        public var firstLSN: UInt64

        public init(epoch: UInt64, firstLSN: UInt64) {
            self.epoch = epoch
            self.firstLSN = firstLSN
        }
    }

    /// Epochs strictly increasing; first LSNs strictly increasing (an epoch holds a record).
    public private(set) var starts: [Start]

    /// The history of a new region log: epoch 1 from its first record.
    public init() {
        starts = [Start(epoch: 1, firstLSN: 1)]
    }

    /// A history read from a file or a peer, checked.
    public init(validating starts: [Start]) throws(FailoverError) {
        guard let first = starts.first else { throw FailoverError("an epoch history names no epoch") }
        guard first.epoch >= 1, first.firstLSN >= 1 else {
            throw FailoverError("an epoch history starts at epoch \(first.epoch), LSN \(first.firstLSN)")
        }
        for (earlier, later) in zip(starts, starts.dropFirst()) where later.epoch <= earlier.epoch || later.firstLSN <= earlier.firstLSN {
            throw FailoverError("epoch \(later.epoch) at LSN \(later.firstLSN) does not follow epoch \(earlier.epoch) at LSN \(earlier.firstLSN)")
        }
        self.starts = starts
    }

    /// The newest epoch.
    public var current: UInt64 { starts[starts.count - 1].epoch }

    /// The epoch of the record at `lsn` (nil before the first record: LSN 0, or before the
    /// first epoch of a history that starts after a compaction).
    public func epoch(at lsn: UInt64) -> UInt64? {
        guard let index = starts.lastIndex(where: { $0.firstLSN <= lsn }) else { return nil }
        return starts[index].epoch
    }

    /// The last LSN of `epoch` in a log ending at `end` (nil: the history has no such epoch).
    public func lastLSN(of epoch: UInt64, end: UInt64) -> UInt64? {
        guard let index = starts.firstIndex(where: { $0.epoch == epoch }) else { return nil }
        return index + 1 < starts.count ? starts[index + 1].firstLSN - 1 : end
    }

    /// Records that `epoch` begins with the record at `firstLSN` (a promotion record, or the
    /// first record of that epoch a follower appends). Returns false, changing nothing, when it
    /// would not follow the history: an epoch not above the current one, or an LSN before the
    /// current epoch's first. At the current epoch's first LSN it replaces that epoch, which
    /// then held no record of this log (an empty log's epoch 1, a log truncated back to it).
    @discardableResult
    public mutating func begin(epoch: UInt64, at firstLSN: UInt64) -> Bool {
        let last = starts[starts.count - 1]
        guard epoch > last.epoch, firstLSN >= last.firstLSN else { return false }
        if firstLSN == last.firstLSN {
            starts[starts.count - 1] = Start(epoch: epoch, firstLSN: firstLSN)
        } else {
            starts.append(Start(epoch: epoch, firstLSN: firstLSN))
        }
        return true
    }

    /// Where a log of this history ending at `end` and another log part: the last LSN up to
    /// which both hold the same records (0: nothing in common). Records after it in either log
    /// are that log's own; a follower keeps only up to it before appending the other's.
    public func commonPrefix(end: UInt64, with other: EpochHistory, end otherEnd: UInt64) -> UInt64 {
        let limit = min(end, otherEnd)
        guard limit > 0 else { return 0 }
        // Every LSN where either history changes epoch, up to the limit: between two of them
        // both epochs are constant.
        var boundaries = Set(starts.map(\.firstLSN) + other.starts.map(\.firstLSN)).filter { $0 <= limit }
        boundaries.insert(1)
        for from in boundaries.sorted() {
            let mine = epoch(at: from), theirs = other.epoch(at: from)
            if mine == nil || mine != theirs { return from - 1 }
        }
        return limit
    }

    /// The history of the same log after the records beyond `lsn` are removed.
    public func truncated(after lsn: UInt64) -> EpochHistory {
        let kept = starts.filter { $0.firstLSN <= lsn }
        guard !kept.isEmpty else { return EpochHistory() }  // an empty log: the next record begins its epoch
        var copy = self
        copy.starts = kept
        return copy
    }

    /// "1@1 2@57 3@90": each epoch at its first LSN.
    public var description: String { starts.map { "\($0.epoch)@\($0.firstLSN)" }.joined(separator: " ") }

    // MARK: Coding

    /// Count (UInt32), then per epoch: epoch (UInt64), first LSN (UInt64); big-endian.
    public func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + starts.count * 16)
        append(UInt64(starts.count), bytes: 4, to: &bytes)
        for start in starts {
            append(start.epoch, bytes: 8, to: &bytes)
            append(start.firstLSN, bytes: 8, to: &bytes)
        }
        return bytes
    }

    /// At most this many epochs are read from bytes (a region promoted once a minute for years).
    public static let maxEpochs = 1 << 20

    public static func decode(_ bytes: some Collection<UInt8>) -> Result<EpochHistory, FailoverError> {
        let bytes = Array(bytes)
        guard bytes.count >= 4 else { return .failure(FailoverError("an epoch history of \(bytes.count) bytes is too short")) }
        let count = Int(read(bytes, at: 0, bytes: 4))
        guard count >= 1, count <= maxEpochs, bytes.count == 4 + count * 16 else {
            return .failure(FailoverError("an epoch history of \(bytes.count) bytes does not hold \(count) epochs"))
        }
        var starts: [Start] = []
        starts.reserveCapacity(count)
        for index in 0..<count {
            let offset = 4 + index * 16
            starts.append(Start(epoch: read(bytes, at: offset, bytes: 8), firstLSN: read(bytes, at: offset + 8, bytes: 8)))
        }
        do {
            return .success(try EpochHistory(validating: starts))
        } catch {
            return .failure(error)
        }
    }

    private func append(_ value: UInt64, bytes count: Int, to bytes: inout [UInt8]) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func read(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + count) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}

/// A failover decision's or a history's error: what is wrong, in words an operator reads.
public struct FailoverError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
