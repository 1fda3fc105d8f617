import Configuration
import Failover
import Foundation
import Journal
import Logging
import NodeStorage
import Platform

/// The node's place in its region at start: the durable term (`region-term.json`), a
/// quarantine left to carry out, and the role they give.
extension Node {
    /// The journal, recovered, and the term reconciled with it, after any quarantine asked for
    /// by the last run (the records after the fork point with the primary moved to
    /// `DATA/quarantine/` and cut from the log).
    static func openJournal(_ configuration: NodeConfiguration, log: Logger) throws(StartupError) -> (Journal, Recovered, RegionTermFile) {
        let directory = configuration.dataDirectory
        let open = { () throws(StartupError) -> (Journal, Recovered) in
            do {
                return try Journal.open(directory: directory + "/journal", options: configuration.journal) { log.info($0) }
            } catch {
                throw StartupError("journal: \(error)")
            }
        }
        var (journal, recovered) = try open()
        let loaded: RegionTermFile?
        do {
            loaded = try RegionTermFile.load(dataDirectory: directory)
        } catch {
            journal.close()
            throw StartupError("\(error)")
        }
        var term = loaded ?? RegionTermFile()
        if let after = term.quarantineAfter {
            do {
                try setAside(journal: journal, after: after, directory: directory + "/quarantine", log: log)
            } catch {
                journal.close()
                throw error
            }
            journal.close()
            (journal, recovered) = try open()
            term.quarantineAfter = nil
        }
        let reconciled = term.reconciled(logEnd: journal.lastDurableLSN, records: recovered.records.map { ($0.epoch, $0.lsn) })
        if reconciled != loaded && (loaded != nil || reconciled != RegionTermFile()) {
            do {
                try reconciled.save(dataDirectory: directory)
            } catch {
                journal.close()
                throw StartupError("\(error)")
            }
        }
        return (journal, recovered, reconciled)
    }

    /// Moves the records after `lsn` into a quarantine file (the journal's own record frames,
    /// which `strongroom journal dump --quarantine` reads) and cuts them from the log. The file
    /// is durable before the log is cut; a crash between the two repeats the quarantine into a
    /// second file at the next start.
    static func setAside(journal: Journal, after lsn: UInt64, directory: String, log: Logger) throws(StartupError) {
        let end = journal.lastDurableLSN
        guard end > lsn else { return }
        var bytes: [UInt8] = []
        var next = lsn + 1
        var epochs = Set<UInt64>()
        do {
            while next <= end {
                let records = try journal.read(from: next, maxRecords: 1000)
                guard let last = records.last else { break }
                for record in records {
                    bytes += RecordFrame.encode(record)
                    epochs.insert(record.epoch)
                }
                next = last.lsn + 1
            }
        } catch {
            throw StartupError("quarantine: cannot read records \(lsn + 1)…\(end): \(error)")
        }
        let name = "\(directory)/after-\(lsn)-to-\(end)-epoch-\(epochs.sorted().map(String.init).joined(separator: "-"))-"
            + "\(Int(Date().timeIntervalSince1970)).records"
        do {
            try Files.makeDirectory(directory)
            try Files.writeAtomically(bytes, to: name)
        } catch {
            throw StartupError("quarantine: cannot write \(name): \(error.message)")
        }
        do {
            try journal.truncate(after: lsn)
        } catch {
            throw StartupError("quarantine: records \(lsn + 1)…\(end) are in \(name) but cannot be cut from the log: \(error)")
        }
        log.info("failover: set aside records \(lsn + 1)…\(end) (\(bytes.count) bytes, not the primary's) in \(name); "
            + "`strongroom journal dump --dir DATA --quarantine` shows them; they are never served")
    }

    /// The role the term gives this node: primary when it owns the highest epoch heard of and
    /// its log is at it; otherwise a standby following the owner of that epoch (nil: the
    /// owner is this node, whose promotion did not finish, or an ordinal not configured).
    static func role(_ configuration: NodeConfiguration, term: RegionTermFile) -> (standbyOf: String?, following: ReplicationSettings.RegionNode?) {
        guard let settings = configuration.replication, settings.regionNodes.count > 1,
              let me = settings.ordinal(of: configuration.nodeId) else {
            return (nil, nil)
        }
        let owner = Promotion.owner(of: term.highestSeen)
        if owner == me && term.history.current == term.highestSeen { return (nil, nil) }
        guard owner != me, let primary = settings.regionNodes.first(where: { $0.ordinal == owner }) else {
            return ("no node yet (epoch \(term.highestSeen) has no primary: promote one with strongroom promote)", nil)
        }
        return (primary.nodeId, primary)
    }
}
