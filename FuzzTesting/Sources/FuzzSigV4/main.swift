import FuzzDriver
import SigV4

// Each input, a request to verify, and to sign and verify, goes to `SigV4Fuzz.run`, which traps on a finding.
FuzzDriver.run(SigV4Fuzz.run)
