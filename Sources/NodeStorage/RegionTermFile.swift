package import Failover
import JSON
import Platform
import Synchronization

/// The node's durable place in its region, `DATA/region-term.json`: the highest epoch it has
/// heard of (a promise never to take a record of a lower epoch's primary again, like a Raft
/// vote), its log's epoch history, and a quarantine it must carry out before it serves (the
/// records after the fork point with the primary it follows).
///
/// Written atomically (temporary file, fsync, rename, directory fsync) before anything that
/// depends on it is said to another node: a fence is answered only once its epoch is durable.
/// The log is the authority on its own records: at start the history is cut back to the log's
/// end and extended with the epochs its newest records begin (``reconciled(logEnd:records:)``).
package struct RegionTermFile: Sendable, Equatable {
    package var highestSeen: UInt64
    package var history: EpochHistory
    /// Set aside the records after this LSN at the next start, then follow the primary from it.
    package var quarantineAfter: UInt64?

    package init(highestSeen: UInt64 = 1, history: EpochHistory = EpochHistory(), quarantineAfter: UInt64? = nil) {
        self.highestSeen = max(highestSeen, history.current)
        self.history = history
        self.quarantineAfter = quarantineAfter
    }

    package static func path(dataDirectory: String) -> String { dataDirectory + "/region-term.json" }

    /// The file in `dataDirectory`; nil when there is none (a node that never heard of an epoch
    /// above 1).
    package static func load(dataDirectory: String) throws(FailoverError) -> RegionTermFile? {
        let path = path(dataDirectory: dataDirectory)
        guard Files.exists(path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try Files.readContents(of: path, limit: 1 << 24)
        } catch {
            throw FailoverError("\(path): cannot read: \(error.message)")
        }
        return try decode(bytes, path: path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(FailoverError) -> RegionTermFile {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw FailoverError("\(path): not JSON: \(error)")
        }
        guard let highest = json["highestSeenEpoch"]?.exactIntegerValue, highest >= 1,
              case .array(let rawHistory)? = json["history"] else {
            throw FailoverError("\(path): needs highestSeenEpoch (≥ 1) and history")
        }
        var starts: [EpochHistory.Start] = []
        for entry in rawHistory {
            guard let epoch = entry["epoch"]?.exactIntegerValue, let first = entry["firstLSN"]?.exactIntegerValue, epoch >= 1, first >= 1 else {
                throw FailoverError("\(path): a history entry needs epoch and firstLSN (≥ 1)")
            }
            starts.append(EpochHistory.Start(epoch: UInt64(epoch), firstLSN: UInt64(first)))
        }
        let history: EpochHistory
        do {
            history = try EpochHistory(validating: starts)
        } catch {
            throw FailoverError("\(path): \(error.message)")
        }
        var quarantine: UInt64?
        if let raw = json["quarantineAfter"], raw != .null {
            guard let value = raw.exactIntegerValue, value >= 0 else { throw FailoverError("\(path): quarantineAfter is not an LSN") }
            quarantine = UInt64(value)
        }
        return RegionTermFile(highestSeen: UInt64(highest), history: history, quarantineAfter: quarantine)
    }

    package func encoded() -> [UInt8] {
        let starts = history.starts.map { start in
            JSONValue.object([(key: "epoch", value: .number(String(start.epoch))), (key: "firstLSN", value: .number(String(start.firstLSN)))])
        }
        return JSONValue.object([
            (key: "highestSeenEpoch", value: .number(String(highestSeen))),
            (key: "history", value: .array(starts)),
            (key: "quarantineAfter", value: quarantineAfter.map { .number(String($0)) } ?? .null),
        ]).serializedBytes()
    }

    package func save(dataDirectory: String) throws(FailoverError) {
        let path = Self.path(dataDirectory: dataDirectory)
        do {
            try Files.writeAtomically(encoded(), to: path)
        } catch {
            throw FailoverError("\(path): cannot write: \(error.message)")
        }
    }

    /// The file made consistent with the log as it is: epochs beginning after its end are gone
    /// (their first record never became durable), and epochs its records begin are added.
    /// `records` are the (epoch, LSN) of the records recovered after the snapshot, in order.
    package func reconciled(logEnd: UInt64, records: [(epoch: UInt64, lsn: UInt64)]) -> RegionTermFile {
        var history = history.truncated(after: logEnd)
        for record in records where record.epoch > history.current {
            history.begin(epoch: record.epoch, at: record.lsn)
        }
        return RegionTermFile(highestSeen: max(highestSeen, history.current), history: history, quarantineAfter: quarantineAfter)
    }
}

/// The running node's term: the file's contents under a lock, saved on every change, and
/// whether this node still accepts writes.
package final class RegionTermKeeper: Sendable {
    package let dataDirectory: String
    private let state: Mutex<RegionTermFile>

    package init(dataDirectory: String, file: RegionTermFile) {
        self.dataDirectory = dataDirectory
        state = Mutex(file)
    }

    package var highestSeen: UInt64 { state.withLock { $0.highestSeen } }
    package var history: EpochHistory { state.withLock { $0.history } }

    /// Raises the highest epoch heard of to `epoch` durably. Returns the value before, or nil
    /// when `epoch` was not above it (nothing changed).
    package func raise(to epoch: UInt64) throws(FailoverError) -> UInt64? {
        try update { file in
            guard epoch > file.highestSeen else { return nil }
            let before = file.highestSeen
            file.highestSeen = epoch
            return before
        }
    }

    /// Records that `epoch` begins at `lsn` in this node's log (before that record is appended).
    package func begin(epoch: UInt64, at lsn: UInt64) throws(FailoverError) {
        try update { file in
            file.history.begin(epoch: epoch, at: lsn)
            file.highestSeen = max(file.highestSeen, epoch)
        }
    }

    /// Asks the next start to set aside the records after `lsn`.
    package func quarantine(after lsn: UInt64) throws(FailoverError) {
        try update { file in file.quarantineAfter = lsn }
    }

    private func update<T>(_ change: (inout RegionTermFile) -> T) throws(FailoverError) -> T {
        let result = state.withLock { file -> Result<T, FailoverError> in
            var copy = file
            let value = change(&copy)
            guard copy != file else { return .success(value) }
            do throws(FailoverError) {
                try copy.save(dataDirectory: dataDirectory)
            } catch {
                return .failure(error)
            }
            file = copy
            return .success(value)
        }
        return try result.get()
    }
}
