import FuzzDriver
import Policy

// Each input, an IAM policy document, goes to `PolicyFuzz.run`, which traps on a finding.
FuzzDriver.run(PolicyFuzz.run)
