import FuzzDriver
import Replication

// Each input, a replication stream, goes to `ReplicationFuzz.run`, which traps on a finding.
FuzzDriver.run(ReplicationFuzz.run)
