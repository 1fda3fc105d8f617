package import Audit
package import JSON
import SecretsAPI
import Synchronization
package import Logging

/// The node's audit trail as the service's `AuditSink`: a request is executed only once the
/// trail has reserved room for its record, and answered only once the record is written.
/// Failures are logged when they start and when they end, not once per refused request.
package final class AuditTrailSink: AuditSink {
    package let trail: AuditTrail
    private let log: Logger
    private let failing = Atomic<Bool>(false)

    package init(trail: AuditTrail, log: Logger) {
        self.trail = trail
        self.log = log
    }

    package func reserve() throws {
        do {
            try trail.reserve()
        } catch {
            failed(error)
            throw error
        }
        recovered()
    }

    package func record(_ event: JSONValue) throws {
        do {
            try trail.append(event)
        } catch {
            failed(error)
            throw error
        }
    }

    package func record(contentsOf events: [JSONValue]) -> Int {
        let (appended, error) = trail.append(contentsOf: events)
        if let error { failed(error) }
        return appended
    }

    private func failed(_ error: AuditError) {
        if !failing.exchange(true, ordering: .acquiringAndReleasing) {
            log.error("audit trail cannot take records, refusing requests until it can: \(error)")
        }
    }

    private func recovered() {
        if failing.load(ordering: .relaxed), failing.exchange(false, ordering: .acquiringAndReleasing) {
            log.info("audit trail takes records again; serving requests")
        }
    }
}
