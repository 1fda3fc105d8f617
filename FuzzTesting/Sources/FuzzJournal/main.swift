import FuzzDriver
import Journal

// Each input, journal frames, a segment header or a snapshot, goes to `JournalFuzz.run`, which traps on a finding.
FuzzDriver.run(JournalFuzz.run)
