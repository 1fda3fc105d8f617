package import Foundation
import JSON
package import Platform
import SecretStore
package import SecretsAPI
import Synchronization
package import Logging
import AWSProtocol

/// Purges secrets whose recovery window has passed: once at start, then every
/// `intervalSeconds`. The purge is a write like any other (a `secretPurged` fact in the region
/// log), so every node that applies the log agrees on when a secret went.
package final class Purger: Sendable {
    package static let intervalSeconds = 60.0

    private let storage: any SecretStorage
    private let region: String
    private let log: Logger
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<OSThread?>(nil)
    /// Other once-a-minute upkeep of the node (the audit trail's fdatasync).
    private let everyCycle: @Sendable () -> Void

    /// False on a standby: its primary logs the purges, which it receives with the rest.
    private let purges: Bool

    package init(storage: any SecretStorage, region: String, log: Logger, purges: Bool = true, everyCycle: @escaping @Sendable () -> Void = {}) {
        self.storage = storage
        self.region = region
        self.log = log
        self.purges = purges
        self.everyCycle = everyCycle
    }

    package func start() throws(Errno) {
        let started = try OSThread.start(name: "purger") { [self] in run() }
        thread.withLock { $0 = started }
    }

    package func stop() {
        stopping.store(true, ordering: .releasing)
        let running = thread.withLock { current -> OSThread? in
            defer { current = nil }
            return current
        }
        running?.join()
    }

    private func run() {
        var next = 0.0
        while !stopping.load(ordering: .acquiring) {
            let now = MonotonicClock.seconds()
            if now >= next {
                if purges { purgeOnce(now: Date()) }
                everyCycle()
                next = now + Self.intervalSeconds
            }
            OSThread.sleep(seconds: 0.2)
        }
    }

    /// Logs the purge of every secret whose deletion date is at or before `now`.
    package func purgeOnce(now: Date) {
        let context = DecisionContext(now: Int64((now.timeIntervalSince1970 * 1000).rounded(.down)), region: region,
                                      accountId: "", arnSuffix: "AAAAAA", versionId: "")
        let log = self.log
        storage.write(.purgeExpired, context: context, completion: { result in
            switch result {
            case .success(.number(let count)) where count != "0": log.info("purged \(count) secrets whose recovery window ended")
            case .success: break
            case .failure(let error): log.error("purge not stored, retrying later: \(error)")
            }
        })
    }
}
