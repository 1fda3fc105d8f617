import FuzzDriver
import Audit

// Each input, an audit trail file or seal, goes to `AuditFuzz.run`, which traps on a finding.
FuzzDriver.run(AuditFuzz.run)
